package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/lanewatch/lanewatch/coverage"
)

// Coverage is the mechanization and coverage service (coverage.Tracker satisfies it).
type Coverage interface {
	Mechanization(ctx context.Context, date, groupBy, basis string) (*coverage.Mechanization, error)
	Coverage(ctx context.Context, date, district string) (*coverage.FeatureCollection, error)
}

var _ Coverage = (*coverage.Tracker)(nil)

// mechanizationView is the mechanization answer with each group's display name: district_name
// when grouped by district (the default), contractor_name by contractor.
type mechanizationView struct {
	*coverage.Mechanization
	Groups []mechanizationGroup `json:"groups"`
}

type mechanizationGroup struct {
	coverage.Group
	DistrictName   *string `json:"district_name,omitempty"`
	ContractorName *string `json:"contractor_name,omitempty"`
}

func (s *Server) namedMechanization(m *coverage.Mechanization, groupBy string) mechanizationView {
	v := mechanizationView{Mechanization: m, Groups: make([]mechanizationGroup, len(m.Groups))}
	n := s.names()
	for i, g := range m.Groups {
		v.Groups[i].Group = g
		switch groupBy {
		case "", coverage.ByDistrict:
			name := n.DistrictName(g.Key)
			v.Groups[i].DistrictName = &name
		case coverage.ByContractor:
			name := n.PartyName(g.Key)
			v.Groups[i].ContractorName = &name
		}
	}
	return v
}

// mountCoverage registers GET /api/v1/mechanization and GET /api/v1/coverage when a Coverage
// service is configured.
func (s *Server) mountCoverage(v1 *gin.RouterGroup) {
	if s.o.Coverage == nil {
		return
	}
	read := s.require("admin", "operator", "department", "contractor", "viewer")
	v1.GET("/mechanization", read, func(c *gin.Context) {
		m, err := s.o.Coverage.Mechanization(c.Request.Context(), c.Query("date"), c.Query("group_by"), c.Query("basis"))
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, s.namedMechanization(m, c.Query("group_by")))
	})
	v1.GET("/coverage", read, func(c *gin.Context) {
		fc, err := s.o.Coverage.Coverage(c.Request.Context(), c.Query("date"), c.Query("district"))
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, fc)
	})
}
