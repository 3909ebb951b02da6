package dispatch

import (
	"fmt"
	"net/url"

	"github.com/lanewatch/lanewatch/internal/yamlx"
)

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
	// PublicURL is the server's address as citizens reach it (e.g. "https://lanewatch.city.gov.cn"),
	// put in front of the signed links in reporter notifications (rating page) and Open311
	// media_url; "" leaves the links relative.
	PublicURL string `yaml:"public_url"`
	// RatingLinkTTL is how long a rating link in a result notification works; default 30 days.
	RatingLinkTTL yamlx.Duration `yaml:"rating_link_ttl"`
}

// Validate checks the section: public_url must be an absolute http(s) URL. The files are read
// at start-up and a limit of zero or less means the default.
func (c *Config) Validate() error {
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("public_url: %q is not an absolute http(s) URL without query", c.PublicURL)
		}
	}
	if c.RatingLinkTTL < 0 {
		return fmt.Errorf("rating_link_ttl: must not be negative")
	}
	return nil
}
