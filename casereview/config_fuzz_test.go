package casereview

import (
	"os"
	"testing"

	"github.com/lanewatch/lanewatch/internal/yamlx"
)

func FuzzConfig(f *testing.F) {
	b, err := os.ReadFile("testdata/review.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("review: {checklist: [{id: a, weight: 1e309}]}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var doc struct {
			Review Config `yaml:"review"`
		}
		if yamlx.Decode("r.yaml", data, &doc) != nil {
			return
		}
		doc.Review.SetDefaults()
		if doc.Review.Validate() == nil {
			for _, it := range doc.Review.Checklist {
				if it.Weight <= 0 || it.Weight > 100 {
					t.Fatalf("valid config with item weight %v", it.Weight)
				}
			}
		}
	})
}
