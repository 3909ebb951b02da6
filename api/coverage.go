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
		c.JSON(http.StatusOK, m)
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
