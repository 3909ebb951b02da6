package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

func asMaxBytes(err error, target **http.MaxBytesError) bool { return errors.As(err, target) }

var caseStatuses = map[string]bool{
	"reported": true, "registered": true, "rejected": true, "dispatched": true, "signed": true,
	"in_progress": true, "resolved": true, "closed": true,
}

// scopeCases restricts a filter to what the principal may see.
func scopeCases(p Principal, f *store.CaseFilter) {
	switch p.Role {
	case "department":
		f.Department = p.ID
	case "contractor":
		f.Contractor = p.ID
	}
}

// maySeeCase reports whether p may see c.
func maySeeCase(p Principal, c *lanewatch.Case) bool {
	switch p.Role {
	case "department":
		return c.Department == p.ID
	case "contractor":
		return c.Contractor == p.ID
	}
	return true
}

func (s *Server) listCases(c *gin.Context) {
	f, err := caseFilter(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := s.o.Cases.List(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.writeCaseList(c, f, items, next)
}

func (s *Server) getCase(c *gin.Context) {
	cs, err := s.o.Cases.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	if !maySeeCase(principal(c), cs) {
		s.fail(c, lanewatch.Errorf(lanewatch.ENotFound, "case %q not found", c.Param("id")))
		return
	}
	if cs.Timeline == nil {
		cs.Timeline = []lanewatch.TimelineEntry{}
	}
	if cs.Attachments == nil {
		cs.Attachments = []lanewatch.Attachment{}
	}
	c.JSON(http.StatusOK, s.localized(c, cs))
}

// deviceBody is the POST/PUT body of a device.
type deviceBody struct {
	ID         string            `json:"id"`
	Type       string            `json:"type"`
	Password   string            `json:"password"`
	District   string            `json:"district"`
	Contractor string            `json:"contractor"`
	Plate      string            `json:"plate"`
	Tags       map[string]string `json:"tags"`
}

func (b *deviceBody) device() *lanewatch.Device {
	return &lanewatch.Device{ID: b.ID, Type: lanewatch.DeviceType(b.Type), District: b.District,
		Contractor: b.Contractor, Plate: b.Plate, Tags: b.Tags}
}

// deviceItem is a device as the API shows it, with the display names of its district and
// contractor ("" when the districts or routing file does not list them).
type deviceItem struct {
	*lanewatch.Device
	DistrictName   string `json:"district_name"`
	ContractorName string `json:"contractor_name"`
}

func (s *Server) deviceItem(d *lanewatch.Device) deviceItem {
	n := s.names()
	return deviceItem{Device: d, DistrictName: n.DistrictName(d.District), ContractorName: n.PartyName(d.Contractor)}
}

func (s *Server) listDevices(c *gin.Context) {
	var f store.DeviceFilter
	var err error
	if f.Limit, err = queryLimit(c); err != nil {
		s.fail(c, err)
		return
	}
	f.Cursor = c.Query("cursor")
	f.Type, f.District, f.Contractor = lanewatch.DeviceType(c.Query("type")), c.Query("district"), c.Query("contractor")
	if f.Type != "" && !f.Type.Valid() {
		s.fail(c, invalid("type: %q is not a device type", f.Type))
		return
	}
	if p := principal(c); p.Role == "contractor" {
		f.Contractor = p.ID
	}
	list, next, err := s.o.Devices.List(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	items := make([]deviceItem, len(list))
	for i, d := range list {
		items[i] = s.deviceItem(d)
	}
	page(c, items, next)
}

func (s *Server) getDevice(c *gin.Context) {
	d, err := s.o.Devices.Get(c.Request.Context(), c.Param("id"))
	if err == nil && principal(c).Role == "contractor" && d.Contractor != principal(c).ID {
		err = lanewatch.Errorf(lanewatch.ENotFound, "device %q not found", c.Param("id"))
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, s.deviceItem(d))
}

func (s *Server) createDevice(c *gin.Context) {
	var b deviceBody
	if err := s.BindJSON(c, &b); err != nil {
		s.fail(c, err)
		return
	}
	d := b.device()
	if err := s.o.Devices.Create(c.Request.Context(), d, b.Password); err != nil {
		s.fail(c, err)
		return
	}
	s.logger.Info("device created", "device", d.ID, "by", principal(c).Actor())
	s.respondDevice(c, http.StatusCreated, d.ID)
}

func (s *Server) updateDevice(c *gin.Context) {
	var b deviceBody
	if err := s.BindJSON(c, &b); err != nil {
		s.fail(c, err)
		return
	}
	if b.ID != "" && b.ID != c.Param("id") {
		s.fail(c, invalid("id: %q does not match the path id %q", b.ID, c.Param("id")))
		return
	}
	b.ID = c.Param("id")
	if err := s.o.Devices.Update(c.Request.Context(), b.device(), b.Password); err != nil {
		s.fail(c, err)
		return
	}
	s.respondDevice(c, http.StatusOK, b.ID)
}

func (s *Server) respondDevice(c *gin.Context, status int, id string) {
	d, err := s.o.Devices.Get(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(status, s.deviceItem(d))
}

func (s *Server) deleteDevice(c *gin.Context) {
	if err := s.o.Devices.Delete(c.Request.Context(), c.Param("id")); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) rotateCredentials(c *gin.Context) {
	var b struct {
		Password string `json:"password"`
	}
	if err := s.BindJSON(c, &b); err != nil {
		s.fail(c, err)
		return
	}
	if err := s.o.Devices.SetPassword(c.Request.Context(), c.Param("id"), b.Password); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"id": c.Param("id"), "rotated": true})
}

// visibleDevice returns device id if the caller may see it: a contractor sees only its own
// (another's is ENotFound, as if absent).
func (s *Server) visibleDevice(c *gin.Context, id string) (*lanewatch.Device, error) {
	d, err := s.o.Devices.Get(c.Request.Context(), id)
	if err == nil && principal(c).Role == "contractor" && d.Contractor != principal(c).ID {
		err = lanewatch.Errorf(lanewatch.ENotFound, "device %q not found", id)
	}
	return d, err
}

// queryRange parses the optional from and to parameters (zero when absent).
func queryRange(c *gin.Context) (from, to time.Time, err error) {
	if from, err = queryTime(c, "from"); err != nil {
		return from, to, err
	}
	to, err = queryTime(c, "to")
	return from, to, err
}

func (s *Server) deviceTelemetry(c *gin.Context) {
	if s.o.Telemetry == nil {
		s.fail(c, lanewatch.Errorf(lanewatch.EUnavailable, "no time-series store configured"))
		return
	}
	id := c.Param("id")
	if _, err := s.visibleDevice(c, id); err != nil {
		s.fail(c, err)
		return
	}
	now := s.o.Now()
	from, to, err := queryRange(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	if to.IsZero() {
		to = now
	}
	if from.IsZero() {
		from = to.Add(-time.Hour)
	}
	if !from.Before(to) {
		s.fail(c, invalid("from: must be before to"))
		return
	}
	limit, err := queryLimit(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	if limit == 0 {
		limit = store.MaxLimit
	}
	rows, err := s.o.Telemetry.QueryTelemetry(c.Request.Context(), id, from, to, limit)
	if err != nil {
		s.fail(c, lanewatch.Errorf(lanewatch.EUnavailable, "query telemetry: %v", err))
		return
	}
	if rows == nil {
		rows = []map[string]any{}
	}
	c.JSON(http.StatusOK, gin.H{"device": id, "from": from, "to": to, "items": rows})
}

func (s *Server) listDeadLetters(c *gin.Context) {
	limit, err := queryLimit(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := s.o.DeadLetters.ListDeadLetters(c.Request.Context(), limit, c.Query("cursor"))
	if err != nil {
		s.fail(c, err)
		return
	}
	page(c, items, next)
}
