package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/rules"
)

// Rules is the rules engine's management surface (rules.Manager satisfies it).
type Rules interface {
	Status() []rules.RuleStatus
	Shadow() []rules.Firing
	Evaluate(in rules.EvalInput) []rules.EvalResult
	Reload(ctx context.Context, actor string) (rules.ReloadResult, error)
	LastError() (error, time.Time)
	Current() rules.Version
	Versions(ctx context.Context) ([]rules.Version, error)
	Version(ctx context.Context, id string) (rules.Version, error)
	Diff(ctx context.Context, from, to string) (string, error)
}

var _ Rules = (*rules.Manager)(nil)

// mountRules registers the /api/v1/rules routes when a Rules service is configured.
func (s *Server) mountRules(v1 *gin.RouterGroup) {
	if s.o.Rules == nil {
		return
	}
	read := s.require("admin", "operator", "viewer")
	write := s.require("admin", "operator")
	v1.GET("/rules", read, s.listRules)
	v1.POST("/rules/reload", write, s.reloadRules)
	v1.POST("/rules/evaluate", write, s.evaluateRules)
	v1.GET("/rules/shadow", read, s.listShadow)
	v1.GET("/rules/versions", read, s.listRuleVersions)
	v1.GET("/rules/versions/:id", read, s.getRuleVersion)
	v1.GET("/rules/versions/:id/diff", read, s.diffRuleVersion)
}

func (s *Server) listRules(c *gin.Context) {
	items := s.o.Rules.Status()
	if items == nil {
		items = []rules.RuleStatus{}
	}
	body := gin.H{"items": items, "next_cursor": "", "version": s.o.Rules.Current()}
	if err, at := s.o.Rules.LastError(); err != nil {
		body["last_reload_error"] = gin.H{"message": err.Error(), "at": at}
	}
	c.JSON(http.StatusOK, body)
}

func (s *Server) reloadRules(c *gin.Context) {
	res, err := s.o.Rules.Reload(c.Request.Context(), s.Principal(c).Name)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, res)
}

// evaluateRequest is the body of POST /api/v1/rules/evaluate.
type evaluateRequest struct {
	Kind     string           `json:"kind"`
	DeviceID string           `json:"device_id"`
	Device   *rules.DeviceEnv `json:"device"`
	Msg      json.RawMessage  `json:"msg"`
	Road     *rules.RoadEnv   `json:"road"`
}

func (s *Server) evaluateRules(c *gin.Context) {
	var req evaluateRequest
	if err := s.BindJSON(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	kind := lanewatch.Kind(req.Kind)
	if req.Kind == "" {
		kind = lanewatch.KindTelemetry
	}
	if !kind.Valid() && kind != rules.KindCoverage {
		s.fail(c, invalid("kind: %q is not one of telemetry, camera, plaque, status, coverage", req.Kind))
		return
	}
	in := rules.EvalInput{Kind: kind, Road: req.Road}
	switch {
	case req.Device != nil && req.DeviceID != "":
		s.fail(c, invalid("give device or device_id, not both"))
		return
	case req.Device != nil:
		in.Device = *req.Device
	case kind == rules.KindCoverage:
		// A coverage event has no device: the segment's district and contractor are in msg.
	case req.DeviceID != "":
		d, err := s.o.Devices.Get(c.Request.Context(), req.DeviceID)
		if err != nil {
			s.fail(c, err)
			return
		}
		in.Device = rules.DeviceEnv{ID: d.ID, Type: string(d.Type), District: d.District, Contractor: d.Contractor, Plate: d.Plate, Tags: d.Tags}
	default:
		s.fail(c, invalid("device or device_id is required"))
		return
	}
	if len(req.Msg) > 0 {
		m, err := rules.DecodeMsg(req.Msg)
		if err != nil {
			s.fail(c, invalid("%v", err))
			return
		}
		in.Msg = m
	}
	c.JSON(http.StatusOK, gin.H{"items": s.o.Rules.Evaluate(in), "next_cursor": ""})
}

func (s *Server) listShadow(c *gin.Context) {
	page(c, s.o.Rules.Shadow(), "")
}

func (s *Server) listRuleVersions(c *gin.Context) {
	vs, err := s.o.Rules.Versions(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	page(c, vs, "")
}

func (s *Server) getRuleVersion(c *gin.Context) {
	v, err := s.o.Rules.Version(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, v)
}

// diffRuleVersion returns the diff from ?from= (default the previous version) to :id.
func (s *Server) diffRuleVersion(c *gin.Context) {
	d, err := s.o.Rules.Diff(c.Request.Context(), c.Query("from"), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"from": c.Query("from"), "to": c.Param("id"), "diff": d})
}
