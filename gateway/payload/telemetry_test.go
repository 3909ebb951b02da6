package payload

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/lanewatch/lanewatch"
)

var now = time.Date(2024, 6, 10, 8, 0, 0, 0, time.UTC)

const nowMs = 1718006400000 // now in unix milliseconds

// obj builds a telemetry object with the required fields and the given extra JSON members.
func obj(members ...string) string {
	return `{"ts":"2024-06-10T07:59:00Z","lat":31.23,"lon":121.47` + joinMembers(members) + `}`
}

func joinMembers(members []string) string {
	if len(members) == 0 {
		return ""
	}
	return "," + strings.Join(members, ",")
}

// wantErr checks that err is an *Error with reason and that its text contains each of sub.
func wantErr(t *testing.T, err error, reason string, sub ...string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want *Error with reason %s", err, err, reason)
	}
	if e.Reason != reason {
		t.Fatalf("reason = %q, want %q (err: %v)", e.Reason, reason, err)
	}
	for _, s := range sub {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
}

func TestTelemetryValid(t *testing.T) {
	base := lanewatch.Telemetry{TS: time.Date(2024, 6, 10, 7, 59, 0, 0, time.UTC), Lat: 31.23, Lon: 121.47}
	with := func(f func(*lanewatch.Telemetry)) lanewatch.Telemetry {
		t := base
		f(&t)
		return t
	}
	tests := []struct {
		name string
		in   string
		want lanewatch.Telemetry
	}{
		{"required only", obj(), base},
		{"speed", obj(`"speed_kmh":12.5`), with(func(t *lanewatch.Telemetry) { t.SpeedKmh = 12.5; t.Has = lanewatch.FieldSpeed })},
		{"speed bounds", obj(`"speed_kmh":200`), with(func(t *lanewatch.Telemetry) { t.SpeedKmh = 200; t.Has = lanewatch.FieldSpeed })},
		{"speed zero", obj(`"speed_kmh":0`), with(func(t *lanewatch.Telemetry) { t.Has = lanewatch.FieldSpeed })},
		{"heading", obj(`"heading":360`), with(func(t *lanewatch.Telemetry) { t.Heading = 360; t.Has = lanewatch.FieldHeading })},
		{"brush", obj(`"brush_on":true`), with(func(t *lanewatch.Telemetry) { t.BrushOn = true; t.Has = lanewatch.FieldBrush })},
		{"water off", obj(`"water_on":false`), with(func(t *lanewatch.Telemetry) { t.Has = lanewatch.FieldWater })},
		{"water level", obj(`"water_level_pct":55`), with(func(t *lanewatch.Telemetry) { t.WaterLevelPct = 55; t.Has = lanewatch.FieldWaterLevel })},
		{"fuel", obj(`"fuel_pct":100`), with(func(t *lanewatch.Telemetry) { t.FuelPct = 100; t.Has = lanewatch.FieldFuel })},
		{"odometer", obj(`"odometer_km":123456.7`), with(func(t *lanewatch.Telemetry) { t.OdometerKm = 123456.7; t.Has = lanewatch.FieldOdometer })},
		{"null optional is absent", obj(`"fuel_pct":null`, `"brush_on":null`), base},
		{"all standard", obj(`"speed_kmh":8`, `"heading":90`, `"brush_on":true`, `"water_on":true`, `"water_level_pct":40`, `"fuel_pct":60`, `"odometer_km":1`),
			with(func(t *lanewatch.Telemetry) {
				t.SpeedKmh, t.Heading, t.BrushOn, t.WaterOn, t.WaterLevelPct, t.FuelPct, t.OdometerKm = 8, 90, true, true, 40, 60, 1
				t.Has = lanewatch.FieldSpeed | lanewatch.FieldHeading | lanewatch.FieldBrush | lanewatch.FieldWater |
					lanewatch.FieldWaterLevel | lanewatch.FieldFuel | lanewatch.FieldOdometer
			})},
		{"extras kept in order", obj(`"rpm":1500`, `"vendor":"acme"`, `"door_open":true`, `"cfg":{"a":1}`, `"arr":[1]`, `"nil":null`, `"hatch":false`),
			with(func(t *lanewatch.Telemetry) {
				t.Extra = []lanewatch.ExtraField{{Name: "rpm", Num: 1500}, {Name: "door_open", Bool: true, IsBool: true}, {Name: "hatch", IsBool: true}}
			})},
		{"repeated extra keeps first position, last value", obj(`"rpm":1`, `"x":2`, `"rpm":3`),
			with(func(t *lanewatch.Telemetry) {
				t.Extra = []lanewatch.ExtraField{{Name: "rpm", Num: 3}, {Name: "x", Num: 2}}
			})},
		{"repeated standard field last wins", obj(`"speed_kmh":1`, `"speed_kmh":2`), with(func(t *lanewatch.Telemetry) { t.SpeedKmh = 2; t.Has = lanewatch.FieldSpeed })},
		{"too long extra name ignored", obj(`"` + strings.Repeat("a", 65) + `":1`), base},
		{"escaped extra name", obj(`"r\u00e9gime":2`), with(func(t *lanewatch.Telemetry) { t.Extra = []lanewatch.ExtraField{{Name: "régime", Num: 2}} })},
		{"unix ms", `{"ts":1718006340000,"lat":31.23,"lon":121.47}`, base},
		{"unix ms fractional", `{"ts":1718006340000.5,"lat":31.23,"lon":121.47}`, with(func(t *lanewatch.Telemetry) { t.TS = t.TS.Add(500 * time.Microsecond) })},
		{"unix ms exponent", `{"ts":1.71800634e12,"lat":31.23,"lon":121.47}`, base},
		{"rfc3339 nano", `{"ts":"2024-06-10T07:59:00.123456789Z","lat":31.23,"lon":121.47}`, with(func(t *lanewatch.Telemetry) { t.TS = t.TS.Add(123456789) })},
		{"rfc3339 millis offset", `{"ts":"2024-06-10T15:59:00.5+08:00","lat":31.23,"lon":121.47}`, with(func(t *lanewatch.Telemetry) { t.TS = t.TS.Add(500 * time.Millisecond) })},
		{"rfc3339 negative offset", `{"ts":"2024-06-10T02:59:00-05:00","lat":31.23,"lon":121.47}`, base},
		{"just within future skew", `{"ts":"2024-06-10T08:10:00Z","lat":31.23,"lon":121.47}`, with(func(t *lanewatch.Telemetry) { t.TS = now.Add(10 * time.Minute) })},
		{"just within past", `{"ts":"2024-05-11T08:00:00Z","lat":31.23,"lon":121.47}`, with(func(t *lanewatch.Telemetry) { t.TS = now.Add(-30 * 24 * time.Hour) })},
		{"bounds of the earth", `{"ts":1718006340000,"lat":-90,"lon":180}`, with(func(t *lanewatch.Telemetry) { t.Lat, t.Lon = -90, 180 })},
		{"equator", `{"ts":1718006340000,"lat":0,"lon":10}`, with(func(t *lanewatch.Telemetry) { t.Lat, t.Lon = 0, 10 })},
		{"whitespace", " \n" + obj() + "\n ", base},
		{"negative zero speed", obj(`"speed_kmh":-0`), with(func(t *lanewatch.Telemetry) { t.Has = lanewatch.FieldSpeed })},
	}
	var d Decoder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.Telemetry([]byte(tt.in), now, nil)
			if err != nil {
				t.Fatalf("Telemetry(%s): %v", tt.in, err)
			}
			if len(got) != 1 {
				t.Fatalf("got %d points, want 1", len(got))
			}
			if !equalTelemetry(got[0], tt.want) {
				t.Errorf("got  %+v\nwant %+v", got[0], tt.want)
			}
			if got[0].TS.Location() != time.UTC {
				t.Errorf("TS location = %v, want UTC", got[0].TS.Location())
			}
		})
	}
}

func equalTelemetry(a, b lanewatch.Telemetry) bool {
	return a.TS.Equal(b.TS) && a.Lat == b.Lat && a.Lon == b.Lon && a.SpeedKmh == b.SpeedKmh &&
		a.Heading == b.Heading && a.BrushOn == b.BrushOn && a.WaterOn == b.WaterOn &&
		a.WaterLevelPct == b.WaterLevelPct && a.FuelPct == b.FuelPct && a.OdometerKm == b.OdometerKm &&
		a.Has == b.Has && slices.Equal(a.Extra, b.Extra)
}

func TestTelemetryInvalid(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		reason string
		sub    []string
	}{
		{"not json", `{"ts":`, ReasonBadJSON, []string{"telemetry"}},
		{"empty", ``, ReasonBadJSON, nil},
		{"garbage", `hello`, ReasonBadJSON, nil},
		{"trailing", obj() + `x`, ReasonBadJSON, nil},
		{"string top level", `"x"`, ReasonBadJSON, nil},
		{"number top level", `12`, ReasonBadJSON, nil},
		{"NaN lat", `{"ts":1718006340000,"lat":NaN,"lon":1}`, ReasonBadJSON, []string{"telemetry.lat"}},
		{"Inf speed", obj(`"speed_kmh":Inf`), ReasonBadJSON, []string{"speed_kmh"}},
		{"-inf extra", obj(`"rpm":-inf`), ReasonBadJSON, []string{"rpm"}},
		{"bad number", obj(`"speed_kmh":1-2`), ReasonBadJSON, []string{"speed_kmh"}},
		{"missing ts", `{"lat":1,"lon":2}`, ReasonMissingField, []string{"telemetry.ts: required"}},
		{"null ts", `{"ts":null,"lat":1,"lon":2}`, ReasonMissingField, []string{"telemetry.ts"}},
		{"missing lat", `{"ts":1718006340000,"lon":2}`, ReasonMissingField, []string{"telemetry.lat"}},
		{"missing lon", `{"ts":1718006340000,"lat":2}`, ReasonMissingField, []string{"telemetry.lon"}},
		{"empty object", `{}`, ReasonMissingField, nil},
		{"empty batch", `[]`, ReasonMissingField, []string{"empty batch"}},
		{"lat string", `{"ts":1718006340000,"lat":"31.2","lon":2}`, ReasonBadType, []string{"telemetry.lat", "want a number"}},
		{"lon bool", `{"ts":1718006340000,"lat":31.2,"lon":true}`, ReasonBadType, []string{"telemetry.lon"}},
		{"ts bool", `{"ts":true,"lat":31.2,"lon":2}`, ReasonBadType, []string{"telemetry.ts"}},
		{"ts not rfc3339", `{"ts":"2024-06-10 07:59:00","lat":31.2,"lon":2}`, ReasonBadType, []string{"RFC 3339"}},
		{"ts bad month", `{"ts":"2024-13-10T07:59:00Z","lat":31.2,"lon":2}`, ReasonBadType, nil},
		{"ts feb 30", `{"ts":"2024-02-30T07:59:00Z","lat":31.2,"lon":2}`, ReasonBadType, nil},
		{"ts leap second", `{"ts":"2024-06-10T07:59:60Z","lat":31.2,"lon":2}`, ReasonBadType, nil},
		{"ts no zone", `{"ts":"2024-06-10T07:59:00","lat":31.2,"lon":2}`, ReasonBadType, nil},
		{"speed string", obj(`"speed_kmh":"12"`), ReasonBadType, []string{"telemetry.speed_kmh"}},
		{"heading bool", obj(`"heading":false`), ReasonBadType, []string{"heading"}},
		{"brush number", obj(`"brush_on":1`), ReasonBadType, []string{"telemetry.brush_on", "want a boolean"}},
		{"water string", obj(`"water_on":"true"`), ReasonBadType, []string{"water_on"}},
		{"fuel object", obj(`"fuel_pct":{}`), ReasonBadType, []string{"fuel_pct"}},
		{"odometer array", obj(`"odometer_km":[1]`), ReasonBadType, []string{"odometer_km"}},
		{"level string", obj(`"water_level_pct":"5"`), ReasonBadType, []string{"water_level_pct"}},
		{"lat high", `{"ts":1718006340000,"lat":95.2,"lon":2}`, ReasonOutOfRange, []string{"telemetry.lat: 95.2 out of range -90..90"}},
		{"lat low", `{"ts":1718006340000,"lat":-90.0001,"lon":2}`, ReasonOutOfRange, []string{"telemetry.lat"}},
		{"lon high", `{"ts":1718006340000,"lat":1,"lon":180.5}`, ReasonOutOfRange, []string{"telemetry.lon"}},
		{"lon low", `{"ts":1718006340000,"lat":1,"lon":-181}`, ReasonOutOfRange, []string{"telemetry.lon"}},
		{"null island", `{"ts":1718006340000,"lat":0,"lon":0.0}`, ReasonOutOfRange, []string{"null island"}},
		{"speed negative", obj(`"speed_kmh":-1`), ReasonOutOfRange, []string{"telemetry.speed_kmh: -1 out of range 0..200"}},
		{"speed high", obj(`"speed_kmh":200.1`), ReasonOutOfRange, nil},
		{"heading high", obj(`"heading":361`), ReasonOutOfRange, []string{"heading"}},
		{"heading negative", obj(`"heading":-5`), ReasonOutOfRange, nil},
		{"level high", obj(`"water_level_pct":101`), ReasonOutOfRange, []string{"water_level_pct"}},
		{"fuel negative", obj(`"fuel_pct":-0.1`), ReasonOutOfRange, []string{"fuel_pct"}},
		{"odometer negative", obj(`"odometer_km":-3`), ReasonOutOfRange, []string{"odometer_km"}},
		{"future rfc3339", `{"ts":"2024-06-10T08:10:00.001Z","lat":31.2,"lon":2}`, ReasonFutureTimestamp, []string{"telemetry.ts"}},
		{"future ms", fmt.Sprintf(`{"ts":%d,"lat":31.2,"lon":2}`, nowMs+11*60*1000), ReasonFutureTimestamp, nil},
		{"huge ms", `{"ts":1e300,"lat":31.2,"lon":2}`, ReasonFutureTimestamp, nil},
		{"far future year", `{"ts":"9999-12-31T23:59:59Z","lat":31.2,"lon":2}`, ReasonFutureTimestamp, nil},
		{"stale rfc3339", `{"ts":"2024-05-11T07:59:59Z","lat":31.2,"lon":2}`, ReasonStaleTimestamp, nil},
		{"stale ms", `{"ts":1000,"lat":31.2,"lon":2}`, ReasonStaleTimestamp, nil},
		{"unix seconds by mistake", `{"ts":1718006340,"lat":31.2,"lon":2}`, ReasonStaleTimestamp, nil},
		{"negative ms", `{"ts":-1e300,"lat":31.2,"lon":2}`, ReasonStaleTimestamp, nil},
		{"year zero", `{"ts":"0000-01-01T00:00:00Z","lat":31.2,"lon":2}`, ReasonStaleTimestamp, nil},
		{"batch element bad", `[` + obj() + `,` + obj() + `,` + obj() + `,{"ts":1718006340000,"lat":95.2,"lon":2}]`, ReasonOutOfRange,
			[]string{"telemetry[3].lat: 95.2 out of range -90..90"}},
		{"batch element not object", `[` + obj() + `,3]`, ReasonBadType, []string{"telemetry[1]"}},
		{"batch element missing", `[` + obj() + `,{"lat":1,"lon":1}]`, ReasonMissingField, []string{"telemetry[1].ts"}},
		{"batch nested array", `[[` + obj() + `]]`, ReasonBadType, []string{"telemetry[0]"}},
	}
	var d Decoder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := make([]lanewatch.Telemetry, 1, 8)
			got, err := d.Telemetry([]byte(tt.in), now, dst)
			wantErr(t, err, tt.reason, tt.sub...)
			if len(got) != 1 {
				t.Errorf("len(dst) = %d after error, want the original 1", len(got))
			}
		})
	}
}

func TestTelemetryBatch(t *testing.T) {
	var b strings.Builder
	b.WriteString("[")
	for i := range 100 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"ts":%d,"lat":31.%d,"lon":121.47,"speed_kmh":%d,"rpm":%d}`, nowMs-int64(100-i)*1000, i, i%50, i)
	}
	b.WriteString("]")
	var d Decoder
	prev := []lanewatch.Telemetry{{Lat: 1}}
	got, err := d.Telemetry([]byte(b.String()), now, prev)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 101 || got[0].Lat != 1 {
		t.Fatalf("got %d points (first %+v), want the 1 given plus 100", len(got), got[0])
	}
	for i, p := range got[1:] {
		if want := time.UnixMilli(nowMs - int64(100-i)*1000); !p.TS.Equal(want) {
			t.Errorf("point %d: ts %v, want %v", i, p.TS, want)
		}
		if len(p.Extra) != 1 || p.Extra[0].Name != "rpm" || p.Extra[0].Num != float64(i) {
			t.Errorf("point %d: extra %+v", i, p.Extra)
		}
		if p.SpeedKmh != float64(i%50) || p.Has != lanewatch.FieldSpeed {
			t.Errorf("point %d: speed %v has %b", i, p.SpeedKmh, p.Has)
		}
	}
	// Extra names are shared within a payload, not allocated per point.
	if unsafe.StringData(got[1].Extra[0].Name) != unsafe.StringData(got[100].Extra[0].Name) {
		t.Errorf("extra names not interned within a batch")
	}
}

func TestTelemetryLimits(t *testing.T) {
	d := Decoder{MaxBatch: 3, MaxPayload: 1000, MaxExtra: 2, MaxFuture: time.Hour, MaxPast: time.Hour}
	_, err := d.Telemetry([]byte("["+strings.Repeat(obj()+",", 3)+obj()+"]"), now, nil)
	wantErr(t, err, ReasonTooLarge, "batch of 4 points is over the limit of 3")
	if _, err := d.Telemetry([]byte("["+strings.Repeat(obj()+",", 2)+obj()+"]"), now, nil); err != nil {
		t.Errorf("batch at the limit: %v", err)
	}
	_, err = d.Telemetry([]byte(obj(`"pad":"`+strings.Repeat("x", 1000)+`"`)), now, nil)
	wantErr(t, err, ReasonTooLarge, "over the limit of 1000")
	_, err = d.Telemetry([]byte(obj(`"a":1`, `"b":2`, `"c":3`)), now, nil)
	wantErr(t, err, ReasonTooLarge, "more than 2 extra fields")
	if _, err := d.Telemetry([]byte(obj(`"a":1`, `"b":2`, `"a":3`)), now, nil); err != nil {
		t.Errorf("repeated extra counted twice: %v", err)
	}
	_, err = d.Telemetry([]byte(`{"ts":"2024-06-10T09:00:01Z","lat":1,"lon":1}`), now, nil)
	wantErr(t, err, ReasonFutureTimestamp, "1h0m0s")
	_, err = d.Telemetry([]byte(`{"ts":"2024-06-10T06:59:59Z","lat":1,"lon":1}`), now, nil)
	wantErr(t, err, ReasonStaleTimestamp)

	// Defaults: a 1000-point batch is fine, 1001 is not; 256 KiB payloads.
	var def Decoder
	one := `{"ts":1718006340000,"lat":31.2,"lon":121.4}`
	big := "[" + strings.Repeat(one+",", 999) + one + "]"
	got, err := def.Telemetry([]byte(big), now, nil)
	if err != nil || len(got) != 1000 {
		t.Fatalf("1000-point batch: %d points, %v", len(got), err)
	}
	_, err = def.Telemetry([]byte("["+strings.Repeat(one+",", 1000)+one+"]"), now, nil)
	wantErr(t, err, ReasonTooLarge)
	_, err = def.Telemetry([]byte(obj(`"pad":"`+strings.Repeat("x", 256<<10)+`"`)), now, nil)
	wantErr(t, err, ReasonTooLarge)
}

func TestTelemetryReusesDst(t *testing.T) {
	var d Decoder
	dst := make([]lanewatch.Telemetry, 0, 4)
	got, err := d.Telemetry([]byte(obj()), now, dst)
	if err != nil {
		t.Fatal(err)
	}
	if &got[0] != &dst[:1][0] {
		t.Error("dst with capacity was not reused")
	}
	// A stale Extra in the reused element must not leak into the new point.
	got[0].Extra = []lanewatch.ExtraField{{Name: "old"}}
	got[0].Has = 0xff
	got, err = d.Telemetry([]byte(obj()), now, got[:0])
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Extra != nil || got[0].Has != 0 {
		t.Errorf("reused element kept old state: %+v", got[0])
	}
}

func TestTelemetryAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops parsers at random under -race")
	}
	var d Decoder
	p := []byte(`{"ts":"2024-06-10T07:59:00.250Z","lat":31.2304,"lon":121.4737,"speed_kmh":12.5,"heading":270,"brush_on":true,"water_on":false,"water_level_pct":64,"fuel_pct":80,"odometer_km":10234.5}`)
	dst := make([]lanewatch.Telemetry, 0, 1)
	allocs := testing.AllocsPerRun(1000, func() {
		var err error
		if dst, err = d.Telemetry(p, now, dst[:0]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("single point decode: %v allocs, want 0", allocs)
	}
}

func TestParseRFC3339MatchesTimeParse(t *testing.T) {
	for _, s := range []string{
		"2024-06-10T07:59:00Z", "2024-06-10T07:59:00.1Z", "2024-06-10T07:59:00.123456789Z",
		"2024-06-10T07:59:00.1234567891Z", "2024-06-10T07:59:00+08:00", "2024-06-10T07:59:00-23:59",
		"2024-06-10T07:59:00+24:00", "2024-06-10T07:59:00+08:60", "2024-06-10t07:59:00Z", "2024-06-10T07:59:00z",
		"2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2000-02-29T00:00:00Z",
		"2024-06-10T24:00:00Z", "2024-06-10T07:59:00.Z", "2024-06-10T07:59:00+0800", "2024-06-10T07:59:00",
		"2024-00-10T07:59:00Z", "2024-06-00T07:59:00Z", "2024-06-31T07:59:00Z", "0000-01-01T00:00:00Z",
		"2024-06-10T07:59:00.5-00:00", "+024-06-10T07:59:00Z", "2024-06-10T07:59:00ZZ",
	} {
		fast, ok := parseRFC3339([]byte(s))
		slow, err := time.Parse(time.RFC3339Nano, s)
		if ok && (err != nil || !fast.Equal(slow)) {
			t.Errorf("%s: fast path %v, time.Parse %v %v", s, fast, slow, err)
		}
	}
}

func TestConcurrentDecoders(t *testing.T) {
	// Pooled parsers must never leak one payload's data into another's result.
	var d Decoder
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			lat := 10 + float64(g)
			p := []byte(fmt.Sprintf(`[{"ts":1718006340000,"lat":%g,"lon":121.4,"g%d":%d},{"ts":1718006340000,"lat":%g,"lon":121.4}]`, lat, g, g, lat))
			s := []byte(fmt.Sprintf(`{"online":true,"g":"%d"}`, g))
			for range 500 {
				pts, err := d.Telemetry(p, now, nil)
				if err != nil || len(pts) != 2 || pts[0].Lat != lat || pts[1].Lat != lat ||
					len(pts[0].Extra) != 1 || pts[0].Extra[0].Name != fmt.Sprintf("g%d", g) || pts[0].Extra[0].Num != float64(g) {
					t.Errorf("goroutine %d: %+v, %v", g, pts, err)
					return
				}
				st, err := d.Status(s, now)
				if err != nil || st.Fields["g"] != fmt.Sprint(g) {
					t.Errorf("goroutine %d: status %+v, %v", g, st, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
