package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// Vehicles on the map: where each vehicle was last seen and whether it was working, and one
// vehicle's track of a day, both from the time-series store.
const (
	// liveWindow is how far back GET /api/v1/vehicles/live looks for a vehicle's last position.
	liveWindow = 15 * time.Minute
	// maxTrackPoints bounds a track; longer ones are thinned evenly (first and last kept).
	maxTrackPoints = 2000
	maxTrackSpan   = 25 * time.Hour
)

func (s *Server) routeVehicles(v1 *gin.RouterGroup) {
	if s.o.Telemetry == nil {
		return
	}
	read := s.require("admin", "operator", "viewer", "contractor")
	v1.GET("/vehicles/live", read, s.vehiclesLive)
	v1.GET("/vehicles/:id/track", read, s.vehicleTrack)
}

// vehiclePosition is one vehicle of GET /api/v1/vehicles/live; At, Lat and Lon are absent
// when it sent nothing in the last liveWindow.
type vehiclePosition struct {
	ID         string               `json:"id"`
	Type       lanewatch.DeviceType `json:"type"`
	Plate      string               `json:"plate"`
	District   string               `json:"district"`
	Contractor string               `json:"contractor"`
	Online     bool                 `json:"online"`
	LastSeen   *time.Time           `json:"last_seen"`
	At         *time.Time           `json:"at,omitempty"`
	Lat        *float64             `json:"lat,omitempty"`
	Lon        *float64             `json:"lon,omitempty"`
	SpeedKmh   *float64             `json:"speed_kmh,omitempty"`
	Working    bool                 `json:"working"` // brush or water on at the last position
}

func num(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case interface{ Float64() (float64, error) }:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

func (s *Server) vehiclesLive(c *gin.Context) {
	ctx := c.Request.Context()
	f := store.DeviceFilter{District: c.Query("district"), Limit: store.MaxLimit}
	if p := principal(c); p.Role == "contractor" {
		f.Contractor = p.ID
	}
	devs, _, err := s.o.Devices.List(ctx, f)
	if err != nil {
		s.fail(c, err)
		return
	}
	now := s.o.Now()
	out := []vehiclePosition{}
	for _, d := range devs {
		if (f.Contractor != "" && d.Contractor != f.Contractor) || (f.District != "" && d.District != f.District) {
			continue // the registry filters too; this keeps a contractor to its own whatever it does
		}
		switch d.Type {
		case lanewatch.DeviceSweeper, lanewatch.DeviceWasher, lanewatch.DeviceSprinkler:
		default:
			continue
		}
		v := vehiclePosition{ID: d.ID, Type: d.Type, Plate: d.Plate, District: d.District, Contractor: d.Contractor,
			Online: d.Online, LastSeen: d.LastSeen}
		rows, err := s.o.Telemetry.QueryTelemetry(ctx, d.ID, now.Add(-liveWindow), now.Add(time.Minute), 10000)
		if err != nil {
			s.fail(c, lanewatch.Errorf(lanewatch.EUnavailable, "query telemetry of %s: %v", d.ID, err))
			return
		}
		if n := len(rows); n > 0 {
			last := rows[n-1]
			lat, ok1 := num(last["lat"])
			lon, ok2 := num(last["lon"])
			if ok1 && ok2 {
				v.Lat, v.Lon = &lat, &lon
			}
			if sp, ok := num(last["speed_kmh"]); ok {
				v.SpeedKmh = &sp
			}
			if at, ok := last["time"].(time.Time); ok {
				v.At = &at
			}
			v.Working = last["brush_on"] == true || last["water_on"] == true
		}
		out = append(out, v)
	}
	c.JSON(http.StatusOK, gin.H{"items": out, "at": now})
}

func (s *Server) vehicleTrack(c *gin.Context) {
	id := c.Param("id")
	if _, err := s.visibleDevice(c, id); err != nil {
		s.fail(c, err)
		return
	}
	from, to, err := queryRange(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	if from.IsZero() || to.IsZero() || !from.Before(to) || to.Sub(from) > maxTrackSpan {
		s.fail(c, invalid("from, to: required, from before to, at most %s apart", maxTrackSpan))
		return
	}
	rows, err := s.o.Telemetry.QueryTelemetry(c.Request.Context(), id, from, to, 100000)
	if err != nil {
		s.fail(c, lanewatch.Errorf(lanewatch.EUnavailable, "query telemetry: %v", err))
		return
	}
	// [lon, lat, working 0|1] per point, thinned evenly to maxTrackPoints.
	pts := make([][3]float64, 0, len(rows))
	for _, r := range rows {
		lat, ok1 := num(r["lat"])
		lon, ok2 := num(r["lon"])
		if !ok1 || !ok2 {
			continue
		}
		w := 0.0
		if r["brush_on"] == true || r["water_on"] == true {
			w = 1
		}
		pts = append(pts, [3]float64{lon, lat, w})
	}
	if n := len(pts); n > maxTrackPoints {
		thin := make([][3]float64, 0, maxTrackPoints)
		for i := range maxTrackPoints {
			thin = append(thin, pts[i*(n-1)/(maxTrackPoints-1)])
		}
		pts = thin
	}
	c.JSON(http.StatusOK, gin.H{"device": id, "from": from, "to": to, "points": pts, "recorded": len(rows)})
}
