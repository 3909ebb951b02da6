package dispatch

import (
	"fmt"

	"github.com/lanewatch/lanewatch/internal/yamlx"
)

// ParseRouting is LoadRouting on bytes already read: data is decoded strictly and validated;
// file names it in errors.
func ParseRouting(file string, data []byte) (*RoutingFile, error) {
	var f RoutingFile
	if err := yamlx.Decode(file, data, &f); err != nil {
		return nil, err
	}
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &f, nil
}

// ParseCatalog is LoadCatalog on bytes already read: data is decoded strictly and validated;
// file names it in errors.
func ParseCatalog(file string, data []byte) (*Catalog, error) {
	var f CategoryFile
	if err := yamlx.Decode(file, data, &f); err != nil {
		return nil, err
	}
	return NewCatalog(file, f.Categories)
}
