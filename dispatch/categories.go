package dispatch

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/lanewatch/lanewatch/internal/yamlx"
)

// CategoryFile is the format of configs/categories.yaml.
type CategoryFile struct {
	Categories []Category `yaml:"categories"`
}

// Category is one entry of the case category catalog (DOMAIN.md section 3).
type Category struct {
	Code   string `yaml:"code" json:"code"`
	NameZH string `yaml:"name_zh" json:"name_zh"`
	NameEN string `yaml:"name_en" json:"name_en"`
	// Sources allowed for this category, e.g. [camera, citizen, plaque].
	Sources []string `yaml:"sources" json:"sources"`
	// CameraTypes are the camera event types that map to this category.
	CameraTypes []string `yaml:"camera_types" json:"camera_types"`
	// HandleLimit is the handling time limit, e.g. "4h" (working hours) or "2d" (working days).
	HandleLimit string `yaml:"handle_limit" json:"handle_limit"`
}

// Catalog is the loaded category catalog.
type Catalog struct {
	list   []Category
	byCode map[string]*Category
}

var codeRE = regexp.MustCompile(`^\d{4}$`)
var limitRE = regexp.MustCompile(`^\d+(h|d|m)$`)

// LoadCatalog reads and validates a categories file; every error is reported, each naming the
// file, line, column and key (yamlx.Check).
func LoadCatalog(path string) (*Catalog, error) {
	var f CategoryFile
	if err := yamlx.ReadCheck(path, &f, f.Validate); err != nil {
		return nil, err
	}
	return newCatalog(f.Categories), nil
}

// NewCatalog validates categories (file names them in errors).
func NewCatalog(file string, cats []Category) (*Catalog, error) {
	f := CategoryFile{Categories: cats}
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return newCatalog(cats), nil
}

// Validate checks every category, collecting every error (each starting with the key path it
// concerns).
func (f *CategoryFile) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	seen := map[string]bool{}
	for i := range f.Categories {
		cat := &f.Categories[i]
		switch {
		case !codeRE.MatchString(cat.Code):
			bad("categories[%d].code: %q is not 4 digits", i, cat.Code)
		case seen[cat.Code]:
			bad("categories[%d].code: %s defined twice", i, cat.Code)
		}
		seen[cat.Code] = true
		if cat.NameZH == "" {
			bad("categories[%d] (%s).name_zh: required", i, cat.Code)
		}
		if cat.NameEN == "" {
			bad("categories[%d] (%s).name_en: required", i, cat.Code)
		}
		if !limitRE.MatchString(cat.HandleLimit) {
			bad("categories[%d] (%s).handle_limit: %q: want e.g. 4h, 2d or 90m", i, cat.Code, cat.HandleLimit)
		}
	}
	return errors.Join(errs...)
}

func newCatalog(cats []Category) *Catalog {
	c := &Catalog{list: cats, byCode: map[string]*Category{}}
	for i := range cats {
		if c.byCode[cats[i].Code] == nil {
			c.byCode[cats[i].Code] = &cats[i]
		}
	}
	return c
}

// Has reports whether code is in the catalog.
func (c *Catalog) Has(code string) bool { return c.byCode[code] != nil }

// Get returns a category by code.
func (c *Catalog) Get(code string) (Category, bool) {
	if p := c.byCode[code]; p != nil {
		return *p, true
	}
	return Category{}, false
}

// All returns the catalog in file order.
func (c *Catalog) All() []Category { return append([]Category(nil), c.list...) }
