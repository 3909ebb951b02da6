package app

import (
	"context"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/api"
	"github.com/lanewatch/lanewatch/coverage"
	"github.com/lanewatch/lanewatch/dispatch"
)

// lookupsView adapts the routing file's departments, the districts of the road network and
// the dispatch router to api.Lookups.
type lookupsView struct {
	departments []api.Named
	districts   []api.DistrictShape
	cases       *dispatch.Service
}

var _ api.Lookups = (*lookupsView)(nil)

func newLookups(deps []dispatch.Department, net *coverage.Network, cases *dispatch.Service) *lookupsView {
	v := &lookupsView{cases: cases}
	for _, d := range deps {
		v.departments = append(v.departments, api.Named{ID: d.ID, Name: d.Name})
	}
	if net != nil {
		for _, a := range net.DistrictAreas().List() {
			shape := api.DistrictShape{Named: api.Named{ID: a.ID, Name: a.NameZH, NameEN: a.NameEN}}
			for _, poly := range a.Polygons {
				var rings [][][2]float64
				for _, ring := range poly {
					pts := make([][2]float64, len(ring))
					for i, p := range ring {
						pts[i] = [2]float64{p[0], p[1]}
					}
					rings = append(rings, pts)
				}
				shape.Polygons = append(shape.Polygons, rings)
			}
			v.districts = append(v.districts, shape)
		}
	}
	return v
}

func (v *lookupsView) Departments() []api.Named       { return v.departments }
func (v *lookupsView) Districts() []api.DistrictShape { return v.districts }
func (v *lookupsView) Propose(_ context.Context, c *lanewatch.Case) string {
	if v.cases == nil {
		return ""
	}
	return v.cases.Propose(c)
}

// TimeZone is the working calendar's zone (IANA name), "" without dispatch.
func (v *lookupsView) TimeZone() string {
	if v.cases == nil || v.cases.Calendar() == nil {
		return ""
	}
	return v.cases.Calendar().Location().String()
}
