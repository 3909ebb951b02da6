package dispatch

// Config is the case part of the `dispatch` section of lanewatch.yaml (see docs/DISPATCH.md);
// the Open311 and notification subsections belong to api and dispatch/notify.
type Config struct {
	// RoutingFile holds departments, routes, auto rules, limits, the working calendar and
	// assessment weights (configs/routing.yaml); optional.
	RoutingFile string `yaml:"routing_file"`
	// DistrictsFile is the district polygons (configs/districts.geojson); a missing file is
	// logged and cases keep the district they were given.
	DistrictsFile string `yaml:"districts_file"`
	// MaxAttachmentBytes bounds one photo upload; default 10 MiB (Service).
	MaxAttachmentBytes int64 `yaml:"max_attachment_bytes"`
}

// Validate checks the section. Every value is accepted: the files are read at start-up and
// a limit of zero or less means the default.
func (c *Config) Validate() error { return nil }
