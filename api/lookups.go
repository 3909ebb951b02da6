package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// Named is an id with its display names (Chinese, and English where the config has one).
type Named struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	NameEN string `json:"name_en,omitempty"`
}

// DistrictShape is a district with its outline: polygons of rings of [lon, lat].
type DistrictShape struct {
	Named
	Polygons [][][][2]float64 `json:"-"`
}

// Lookups are the config's names for the console (GET /api/v1/lookups, /api/v1/districts) and
// the routing proposal of a case (GET /api/v1/cases/{id}/proposal). nil leaves the routes out.
type Lookups interface {
	Departments() []Named
	Districts() []DistrictShape
	// Propose returns the department routing proposes for a case ("" when none).
	Propose(ctx context.Context, c *lanewatch.Case) string
}

// routeLookups registers the lookup routes.
func (s *Server) routeLookups(v1 *gin.RouterGroup) {
	if s.o.Lookups == nil {
		return
	}
	all := s.require("admin", "operator", "department", "contractor", "viewer")
	v1.GET("/lookups", all, s.lookups)
	v1.GET("/districts", all, s.districtShapes)
	v1.GET("/cases/:id/proposal", s.require("admin", "operator"), s.proposal)
}

func (s *Server) lookups(c *gin.Context) {
	districts := []Named{}
	for _, d := range s.o.Lookups.Districts() {
		districts = append(districts, d.Named)
	}
	deps := s.o.Lookups.Departments()
	if deps == nil {
		deps = []Named{}
	}
	// Camera ids, so the console can tell camera cases (opened by camera rules) from others.
	cameras := []string{}
	if p := principal(c); p.Role != "department" {
		f := store.DeviceFilter{Type: lanewatch.DeviceCamera, Limit: store.MaxLimit}
		if p.Role == "contractor" {
			f.Contractor = p.ID
		}
		if list, _, err := s.o.Devices.List(c.Request.Context(), f); err == nil {
			for _, d := range list {
				cameras = append(cameras, d.ID)
			}
		}
	}
	body := gin.H{"departments": deps, "districts": districts, "cameras": cameras}
	// The working calendar's zone, so the console shows times as the city reads them.
	if z, ok := s.o.Lookups.(interface{ TimeZone() string }); ok && z.TimeZone() != "" {
		body["time_zone"] = z.TimeZone()
	}
	c.Header("Cache-Control", "private, max-age=300")
	c.JSON(http.StatusOK, body)
}

// districtShapes answers a GeoJSON FeatureCollection of the districts with id, name_zh, name_en.
func (s *Server) districtShapes(c *gin.Context) {
	features := []gin.H{}
	for _, d := range s.o.Lookups.Districts() {
		features = append(features, gin.H{"type": "Feature",
			"properties": gin.H{"id": d.ID, "name_zh": d.Name, "name_en": d.NameEN},
			"geometry":   gin.H{"type": "MultiPolygon", "coordinates": d.Polygons}})
	}
	c.Header("Cache-Control", "private, max-age=300")
	c.JSON(http.StatusOK, gin.H{"type": "FeatureCollection", "features": features})
}

func (s *Server) proposal(c *gin.Context) {
	cs, ok := s.visibleCase(c)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, gin.H{"department": s.o.Lookups.Propose(c.Request.Context(), cs)})
}
