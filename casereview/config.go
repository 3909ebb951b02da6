package casereview

import (
	"errors"
	"fmt"
	"regexp"
)

// Config is the review section of configs/supervision.yaml.
type Config struct {
	// Checklist is what each case file is scored against; default DefaultChecklist.
	Checklist []Item `yaml:"checklist"`
	// IndexWeight is the weight of a district's mean review score in the 综合指数, next to the
	// assessment weights (25, 35, 15, 25 by default); 0 (default) leaves the index alone.
	IndexWeight float64 `yaml:"index_weight"`
	// DefaultSize is the sample size of a review that names none; default 30.
	DefaultSize int `yaml:"default_size"`
}

// Item is one checklist item.
type Item struct {
	ID     string `yaml:"id" json:"id"`
	NameZH string `yaml:"name_zh" json:"name_zh"`
	NameEN string `yaml:"name_en" json:"name_en"`
	// Weight of the item in the score; default 1.
	Weight float64 `yaml:"weight" json:"weight"`
}

// DefaultChecklist is DOMAIN.md 10's default items.
var DefaultChecklist = []Item{
	{ID: "timeline", NameZH: "处置过程完整且顺序正确", NameEN: "Timeline complete and in order", Weight: 1},
	{ID: "photos", NameZH: "有处置前和处置后照片", NameEN: "Photo before and after", Weight: 1},
	{ID: "limits", NameZH: "各环节在时限内或经批准延期", NameEN: "Each step within its limit or an approved extension", Weight: 1},
	{ID: "handling_note", NameZH: "处置说明写明所做工作", NameEN: "The handling note states what was done", Weight: 1},
	{ID: "reporter_informed", NameZH: "已告知上报人", NameEN: "The reporter was informed", Weight: 1},
	{ID: "legal_basis", NameZH: "执法时引用法律依据", NameEN: "Legal basis cited where enforcement occurred", Weight: 1},
}

var itemIDRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,47}$`)

// SetDefaults fills the defaults.
func (c *Config) SetDefaults() {
	if len(c.Checklist) == 0 {
		c.Checklist = append([]Item(nil), DefaultChecklist...)
	}
	for i := range c.Checklist {
		if c.Checklist[i].Weight == 0 {
			c.Checklist[i].Weight = 1
		}
	}
	if c.DefaultSize == 0 {
		c.DefaultSize = 30
	}
}

// Validate checks the section; errors name the key ("review.checklist[2].id: ...").
func (c *Config) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for i, it := range c.Checklist {
		switch {
		case !itemIDRe.MatchString(it.ID):
			errs = append(errs, fmt.Errorf("review.checklist[%d].id: %q is not an identifier (a-z, 0-9, _)", i, it.ID))
		case seen[it.ID]:
			errs = append(errs, fmt.Errorf("review.checklist[%d].id: %q is used by an earlier item", i, it.ID))
		case it.NameZH == "" && it.NameEN == "":
			errs = append(errs, fmt.Errorf("review.checklist[%d] (%s): name_zh or name_en required", i, it.ID))
		case !(it.Weight >= 0 && it.Weight <= 100): // NaN too
			errs = append(errs, fmt.Errorf("review.checklist[%d] (%s).weight: %v is not in 0..100", i, it.ID, it.Weight))
		}
		seen[it.ID] = true
	}
	if !(c.IndexWeight >= 0 && c.IndexWeight <= 100) {
		errs = append(errs, fmt.Errorf("review.index_weight: %v is not in 0..100", c.IndexWeight))
	}
	if c.DefaultSize < 1 || c.DefaultSize > MaxSample {
		errs = append(errs, fmt.Errorf("review.default_size: %d is not in 1..%d", c.DefaultSize, MaxSample))
	}
	return errors.Join(errs...)
}
