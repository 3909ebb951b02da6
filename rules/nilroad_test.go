package rules

import (
	"testing"

	"github.com/expr-lang/expr"
)

// TestNilRoadComparisons: the SPEC's own example `road?.class == "main"` must be false, not an
// error, for a point that matched no road.
func TestNilRoadComparisons(t *testing.T) {
	for _, tt := range []struct {
		src           string
		nilWant, want bool
	}{
		{`msg.speed_kmh > 3 && road?.class == "main"`, false, true},
		{`road?.class != "main"`, true, false},
		{`road?.class in ["main", "secondary"]`, false, true},
		{`"central" in road?.zones`, false, true},
		{`road == nil`, true, false},
	} {
		p, err := expr.Compile(tt.src, append(exprOptions(nil), expr.AsBool())...)
		if err != nil {
			t.Fatalf("%s: %v", tt.src, err)
		}
		env := Env{}
		env.Msg.SpeedKmh = 5
		for _, c := range []struct {
			road *RoadEnv
			want bool
		}{{nil, tt.nilWant}, {&RoadEnv{Class: "main", Zones: []string{"central"}}, tt.want}} {
			env.Road = c.road
			out, err := expr.Run(p, env)
			if err != nil || out != c.want {
				t.Errorf("%s with road %v = %v, %v; want %v", tt.src, c.road, out, err, c.want)
			}
		}
	}
}
