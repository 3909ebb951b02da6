package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// Commands queues and lists commands to devices (SPEC 3.1).
type Commands interface {
	Send(ctx context.Context, deviceID, name string, params json.RawMessage, ttl time.Duration, actor string) (*store.Command, error)
	List(ctx context.Context, deviceID string, limit int, cursor string) ([]*store.Command, string, error)
}

// CommandView is a command as the API shows it.
type CommandView struct {
	ID        string               `json:"id"`
	DeviceID  string               `json:"device_id"`
	Name      string               `json:"name"`
	Params    json.RawMessage      `json:"params"`
	Status    string               `json:"status"`
	Actor     string               `json:"actor"`
	CreatedAt time.Time            `json:"created_at"`
	ExpiresAt time.Time            `json:"expires_at"`
	UpdatedAt time.Time            `json:"updated_at"`
	Attempts  int                  `json:"attempts"`
	Response  json.RawMessage      `json:"response"` // the device's {"ok", "result"}, or null
	Result    json.RawMessage      `json:"result"`   // the response's result, or null
	History   []store.CommandEvent `json:"history"`
}

func commandView(c *store.Command) CommandView {
	v := CommandView{ID: c.ID, DeviceID: c.DeviceID, Name: c.Name, Params: c.Params, Status: c.Status, Actor: c.Actor,
		CreatedAt: c.CreatedAt, ExpiresAt: c.ExpiresAt, UpdatedAt: c.UpdatedAt, Attempts: c.Attempts,
		History: c.History}
	if len(v.Params) == 0 {
		v.Params = json.RawMessage("{}")
	}
	v.Response, v.Result = json.RawMessage("null"), json.RawMessage("null")
	if c.Result != nil {
		v.Response = c.Result
		var r struct {
			Result json.RawMessage `json:"result"`
		}
		if json.Unmarshal(c.Result, &r) == nil && len(r.Result) > 0 {
			v.Result = r.Result
		}
	}
	if v.History == nil {
		v.History = []store.CommandEvent{}
	}
	return v
}

// mountCommands registers the command routes when a Commands service is configured.
func (s *Server) mountCommands(v1 *gin.RouterGroup) {
	if s.o.Commands == nil {
		return
	}
	v1.POST("/devices/:id/commands", s.require("admin", "operator", "contractor"), s.sendCommand)
	v1.GET("/devices/:id/commands", s.require("admin", "operator", "viewer", "contractor"), s.listCommands)
}

// commandDevice returns the device of the path if the caller may see it: a contractor only its
// own devices (others are 404, as in GET /devices/{id}).
func (s *Server) commandDevice(c *gin.Context) (*lanewatch.Device, error) {
	d, err := s.o.Devices.Get(c.Request.Context(), c.Param("id"))
	if err == nil && principal(c).Role == "contractor" && d.Contractor != principal(c).ID {
		err = lanewatch.Errorf(lanewatch.ENotFound, "device %q not found", c.Param("id"))
	}
	return d, err
}

func (s *Server) sendCommand(c *gin.Context) {
	var b struct {
		Name   string          `json:"name"`
		Params json.RawMessage `json:"params"`
		TTL    string          `json:"ttl"`
	}
	if err := s.BindJSON(c, &b); err != nil {
		s.fail(c, err)
		return
	}
	var ttl time.Duration
	if b.TTL != "" {
		var err error
		if ttl, err = time.ParseDuration(b.TTL); err != nil {
			s.fail(c, invalid("ttl: %q is not a duration like \"10m\"", b.TTL))
			return
		}
		if ttl <= 0 {
			s.fail(c, invalid("ttl: %q must be positive", b.TTL))
			return
		}
	}
	d, err := s.commandDevice(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	p := principal(c)
	if p.Role == "contractor" && !d.Type.IsVehicle() {
		s.fail(c, forbidden("a contractor may send commands to its vehicles only; %q is a %s", d.ID, d.Type))
		return
	}
	cmd, err := s.o.Commands.Send(c.Request.Context(), d.ID, b.Name, b.Params, ttl, p.Actor())
	if err != nil {
		s.fail(c, err)
		return
	}
	s.logger.Info("command queued", "device", d.ID, "command", cmd.ID, "name", cmd.Name, "by", p.Actor())
	c.JSON(http.StatusCreated, commandView(cmd))
}

func (s *Server) listCommands(c *gin.Context) {
	limit, err := queryLimit(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	d, err := s.commandDevice(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	cs, next, err := s.o.Commands.List(c.Request.Context(), d.ID, limit, c.Query("cursor"))
	if err != nil {
		s.fail(c, err)
		return
	}
	items := make([]CommandView, len(cs))
	for i, cmd := range cs {
		items[i] = commandView(cmd)
	}
	page(c, items, next)
}
