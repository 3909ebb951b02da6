package dispatch

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lanewatch/lanewatch/internal/yamlx"
)

// ParseRouting is LoadRouting on bytes already read: data is decoded strictly and validated;
// file names it in errors, which are all reported (yamlx.Check).
func ParseRouting(file string, data []byte) (*RoutingFile, error) {
	var f RoutingFile
	if err := yamlx.Check(file, data, &f, f.Validate); err != nil {
		return nil, err
	}
	return &f, nil
}

// ParseCatalog is LoadCatalog on bytes already read: data is decoded strictly and validated;
// file names it in errors, which are all reported (yamlx.Check).
func ParseCatalog(file string, data []byte) (*Catalog, error) {
	var f CategoryFile
	if err := yamlx.Check(file, data, &f, f.Validate); err != nil {
		return nil, err
	}
	return newCatalog(f.Categories), nil
}

// CheckRefs checks what the routing file names in other files: route and auto category
// prefixes must begin at least one category of catalog, route districts must be districts
// (nil districts skips that check). Errors start with the key path (yamlx.Locate places them).
func (f *RoutingFile) CheckRefs(catalog *Catalog, districts []string) error {
	var errs []error
	prefix := func(p string) bool {
		// Not a code prefix at all: Validate reports it.
		return catalog == nil || strings.Trim(p, "0123456789") != "" || slices.ContainsFunc(catalog.list, func(c Category) bool { return strings.HasPrefix(c.Code, p) })
	}
	for i, r := range f.Routes {
		if r.Category != "" && !prefix(r.Category) {
			errs = append(errs, fmt.Errorf("routes[%d].category: no category code starts with %q", i, r.Category))
		}
		if districts != nil && r.District != "" && !slices.Contains(districts, r.District) {
			errs = append(errs, fmt.Errorf("routes[%d].district: %q is not a district%s", i, r.District, yamlx.DidYouMean(r.District, districts)))
		}
	}
	for i, a := range f.Auto {
		if a.Category != "" && !prefix(a.Category) {
			errs = append(errs, fmt.Errorf("auto[%d].category: no category code starts with %q", i, a.Category))
		}
	}
	return errors.Join(errs...)
}
