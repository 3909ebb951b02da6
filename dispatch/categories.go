package dispatch

import (
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

// LoadCatalog reads and validates a categories file.
func LoadCatalog(path string) (*Catalog, error) {
	var f CategoryFile
	if err := yamlx.ReadFile(path, &f); err != nil {
		return nil, err
	}
	return NewCatalog(path, f.Categories)
}

// NewCatalog validates categories (file names them in errors).
func NewCatalog(file string, cats []Category) (*Catalog, error) {
	c := &Catalog{list: cats, byCode: map[string]*Category{}}
	for i := range cats {
		cat := &cats[i]
		switch {
		case !codeRE.MatchString(cat.Code):
			return nil, fmt.Errorf("%s: categories[%d]: code %q is not 4 digits", file, i, cat.Code)
		case c.byCode[cat.Code] != nil:
			return nil, fmt.Errorf("%s: categories[%d]: code %s defined twice", file, i, cat.Code)
		case cat.NameZH == "" || cat.NameEN == "":
			return nil, fmt.Errorf("%s: categories[%d] (%s): name_zh and name_en are required", file, i, cat.Code)
		case !limitRE.MatchString(cat.HandleLimit):
			return nil, fmt.Errorf("%s: categories[%d] (%s): handle_limit %q: want e.g. 4h, 2d or 90m", file, i, cat.Code, cat.HandleLimit)
		}
		c.byCode[cat.Code] = cat
	}
	return c, nil
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
