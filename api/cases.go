package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/lanewatch/lanewatch"
)

// CaseAction is the body of POST /api/v1/cases/{id}/actions.
type CaseAction struct {
	Action     string     `json:"action"`
	Note       string     `json:"note"`
	Reason     string     `json:"reason"`
	Department string     `json:"department"`
	HandleBy   *time.Time `json:"handle_by"`
	Score      int        `json:"score"`
	Comment    string     `json:"comment"`
}

// CaseWorkflow runs the case lifecycle behind the case endpoints. Implementations enforce who
// may take which action; the API only checks roles per endpoint and case visibility.
type CaseWorkflow interface {
	// Create opens a case by hand (source operator or inspection).
	Create(ctx context.Context, c *lanewatch.Case, p Principal) (*lanewatch.Case, error)
	Act(ctx context.Context, id string, a CaseAction, p Principal) (*lanewatch.Case, error)
	Attach(ctx context.Context, id, kind string, r io.Reader, p Principal) (*lanewatch.Attachment, error)
	OpenAttachment(ctx context.Context, c *lanewatch.Case, id string) (io.ReadCloser, lanewatch.Attachment, error)
	Rate(ctx context.Context, id string, score int, comment string, p Principal) (*lanewatch.Case, error)
	// MaxAttachmentBytes bounds one upload.
	MaxAttachmentBytes() int64
	// Assess returns the monthly assessment (month YYYY-MM) as a JSON-encodable value.
	Assess(ctx context.Context, month string) (any, error)
}

// routeCases registers the case lifecycle endpoints when a workflow is configured.
func (s *Server) routeCases(v1 *gin.RouterGroup) {
	if s.o.Workflow == nil {
		return
	}
	actors := s.require("admin", "operator", "department", "contractor")
	v1.POST("/cases", s.require("admin", "operator"), s.createCase)
	v1.POST("/cases/:id/actions", actors, s.caseAction)
	v1.POST("/cases/:id/attachments", actors, s.uploadAttachment)
	v1.GET("/cases/:id/attachments/:aid", s.require("admin", "operator", "department", "contractor", "viewer"), s.getAttachment)
	v1.POST("/cases/:id/rating", s.require("admin", "operator"), s.rateCase)
	v1.GET("/assessment", s.require("admin", "operator", "viewer", "department"), s.assessment)
}

// createCaseBody is the body of POST /api/v1/cases.
type createCaseBody struct {
	Category    string             `json:"category"`
	Urgency     string             `json:"urgency"`
	Source      string             `json:"source"`
	Location    lanewatch.Location `json:"location"`
	District    string             `json:"district"`
	Title       string             `json:"title"`
	Description string             `json:"description"`
	Department  string             `json:"department"`
	Contractor  string             `json:"contractor"`
	DeviceID    string             `json:"device_id"`
}

func (s *Server) createCase(c *gin.Context) {
	var b createCaseBody
	if err := s.BindJSON(c, &b); err != nil {
		s.fail(c, err)
		return
	}
	if b.Source == "" {
		b.Source = lanewatch.SourceOperator
	}
	if b.Source != lanewatch.SourceOperator && b.Source != lanewatch.SourceInspection {
		s.fail(c, invalid("source: %q: cases opened by hand are operator or inspection", b.Source))
		return
	}
	if b.Category == "" {
		s.fail(c, invalid("category: required"))
		return
	}
	cs := &lanewatch.Case{Category: b.Category, Urgency: b.Urgency, Source: b.Source, Location: b.Location,
		District: b.District, Title: b.Title, Description: b.Description, Department: b.Department,
		Contractor: b.Contractor, DeviceID: b.DeviceID}
	out, err := s.o.Workflow.Create(c.Request.Context(), cs, principal(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, normCase(s.localized(c, out)))
}

// visibleCase loads a case and answers 404 when the principal may not see it.
func (s *Server) visibleCase(c *gin.Context) (*lanewatch.Case, bool) {
	cs, err := s.o.Cases.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return nil, false
	}
	if !maySeeCase(principal(c), cs) {
		s.fail(c, lanewatch.Errorf(lanewatch.ENotFound, "case %q not found", c.Param("id")))
		return nil, false
	}
	return cs, true
}

func normCase(cs *lanewatch.Case) *lanewatch.Case {
	if cs.Timeline == nil {
		cs.Timeline = []lanewatch.TimelineEntry{}
	}
	if cs.Attachments == nil {
		cs.Attachments = []lanewatch.Attachment{}
	}
	return cs
}

func (s *Server) caseAction(c *gin.Context) {
	var b CaseAction
	if err := s.BindJSON(c, &b); err != nil {
		s.fail(c, err)
		return
	}
	if b.Action == "" {
		s.fail(c, invalid("action: required"))
		return
	}
	if _, ok := s.visibleCase(c); !ok {
		return
	}
	out, err := s.o.Workflow.Act(c.Request.Context(), c.Param("id"), b, principal(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, normCase(s.localized(c, out)))
}

// rateBody is the body of POST /api/v1/cases/{id}/rating.
type rateBody struct {
	Score   int    `json:"score"`
	Comment string `json:"comment"`
}

func (s *Server) rateCase(c *gin.Context) {
	var b rateBody
	if err := s.BindJSON(c, &b); err != nil {
		s.fail(c, err)
		return
	}
	if b.Score < 1 || b.Score > 5 {
		s.fail(c, invalid("score: %d is not in 1..5", b.Score))
		return
	}
	if _, ok := s.visibleCase(c); !ok {
		return
	}
	out, err := s.o.Workflow.Rate(c.Request.Context(), c.Param("id"), b.Score, b.Comment, principal(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, normCase(s.localized(c, out)))
}

// uploadAttachment reads a multipart body with the fields kind and file (in any order); the
// file is held in memory up to the limit and handed to the workflow, which sniffs and stores it.
func (s *Server) uploadAttachment(c *gin.Context) {
	if _, ok := s.visibleCase(c); !ok {
		return
	}
	limit := s.o.Workflow.MaxAttachmentBytes()
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit+1<<20)
	mr, err := c.Request.MultipartReader()
	if err != nil {
		s.fail(c, invalid("body: multipart/form-data with fields kind and file expected: %v", err))
		return
	}
	var (
		kind    string
		file    []byte
		hasFile bool
	)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.failUpload(c, err)
			return
		}
		switch part.FormName() {
		case "kind":
			v, err := io.ReadAll(io.LimitReader(part, 64))
			if err != nil {
				s.failUpload(c, err)
				return
			}
			kind = string(v)
		case "file":
			file, err = io.ReadAll(io.LimitReader(part, limit+1))
			if err != nil {
				s.failUpload(c, err)
				return
			}
			if int64(len(file)) > limit {
				s.fail(c, lanewatch.Errorf(lanewatch.ETooLarge, "file: larger than %d bytes", limit))
				return
			}
			hasFile = true
		}
		part.Close()
	}
	if !hasFile {
		s.fail(c, invalid("file: required (multipart field file)"))
		return
	}
	if kind == "" {
		s.fail(c, invalid("kind: required (before, after or evidence)"))
		return
	}
	a, err := s.o.Workflow.Attach(c.Request.Context(), c.Param("id"), kind, bytes.NewReader(file), principal(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, a)
}

func (s *Server) failUpload(c *gin.Context, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		s.fail(c, err)
		return
	}
	if errors.Is(err, multipart.ErrMessageTooLarge) {
		s.fail(c, lanewatch.Errorf(lanewatch.ETooLarge, "upload too large"))
		return
	}
	s.fail(c, invalid("body: bad multipart data: %v", err))
}

func (s *Server) getAttachment(c *gin.Context) {
	cs, ok := s.visibleCase(c)
	if !ok {
		return
	}
	rc, a, err := s.o.Workflow.OpenAttachment(c.Request.Context(), cs, c.Param("aid"))
	if err != nil {
		s.fail(c, err)
		return
	}
	defer rc.Close()
	c.Header("Content-Type", a.ContentType)
	c.Header("Content-Length", strconv.FormatInt(a.Size, 10))
	c.Header("Cache-Control", "private, max-age=86400, immutable")
	c.Status(http.StatusOK)
	_, _ = io.Copy(c.Writer, rc)
}
