package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/lanewatch/lanewatch/inspections"
)

// Inspections is the supervision-inspection service (inspections.Service satisfies it).
type Inspections interface {
	Places() *inspections.Places
	Campaigns() *inspections.Campaigns
	Record(ctx context.Context, r inspections.VisitRequest, actor string) (*inspections.Visit, bool, error)
	Get(ctx context.Context, id string) (*inspections.Visit, error)
	Visits(ctx context.Context, campaign string) ([]*inspections.Visit, error)
	Report(ctx context.Context, campaign string) (*inspections.Report, error)
	Photo(name string) ([]byte, string, error)
	MaxUploadBytes() int64
}

// mountInspections adds the /api/v1/inspections routes (DOMAIN.md 9).
func (s *Server) mountInspections(v1 *gin.RouterGroup) {
	if s.o.Inspections == nil {
		return
	}
	read := s.require("admin", "operator", "inspector", "viewer")
	write := s.require("admin", "operator", "inspector")
	g := v1.Group("/inspections")
	g.GET("/places", read, func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"items": s.o.Inspections.Places().List()})
	})
	g.GET("/campaigns", read, func(c *gin.Context) {
		items := []campaignView{}
		for _, cp := range s.o.Inspections.Campaigns().List() {
			items = append(items, campaignView{cp.CampaignConfig, cp.Places})
		}
		c.JSON(http.StatusOK, gin.H{"items": items})
	})
	g.GET("/campaigns/:id/visits", read, func(c *gin.Context) {
		vs, err := s.o.Inspections.Visits(c.Request.Context(), c.Param("id"))
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"items": vs, "next_cursor": ""})
	})
	g.GET("/campaigns/:id/report", read, s.inspectionReport)
	g.POST("/visits", write, s.recordVisit)
	g.GET("/visits/:id", read, func(c *gin.Context) {
		v, err := s.o.Inspections.Get(c.Request.Context(), c.Param("id"))
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, v)
	})
	g.GET("/photos/:name", read, func(c *gin.Context) {
		b, ct, err := s.o.Inspections.Photo(c.Param("name"))
		if err != nil {
			s.fail(c, err)
			return
		}
		c.Header("Cache-Control", "private, max-age=31536000, immutable")
		c.Data(http.StatusOK, ct, b)
	})
}

type campaignView struct {
	inspections.CampaignConfig
	PlacesInScope []string `json:"places_in_scope"`
}

func (s *Server) inspectionReport(c *gin.Context) {
	format := c.DefaultQuery("format", "json")
	if format != "json" && format != "csv" && format != "xlsx" {
		s.fail(c, invalid("format: %q is not one of json, csv, xlsx", format))
		return
	}
	r, err := s.o.Inspections.Report(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	var buf bytes.Buffer
	switch format {
	case "json":
		c.JSON(http.StatusOK, r)
		return
	case "csv":
		err = inspections.WriteCSV(&buf, r)
		c.Header("Content-Type", "text/csv; charset=utf-8")
	case "xlsx":
		err = inspections.WriteXLSX(&buf, r)
		c.Header("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="inspection-`+r.Campaign+"."+format+`"`)
	c.Status(http.StatusOK)
	_, _ = c.Writer.Write(buf.Bytes())
}

var problemPhotoRe = regexp.MustCompile(`^problem_photo_([0-9]{1,2})$`)

// recordVisit answers POST /api/v1/inspections/visits: a JSON visit, or multipart/form-data
// with the field visit (the JSON) and files photo (the visit's) and problem_photo_N (problem
// N's). 201 when recorded, 200 with the recorded visit when its id was recorded before.
func (s *Server) recordVisit(c *gin.Context) {
	var (
		r      inspections.VisitRequest
		photos = map[int][][]byte{}
	)
	if c.ContentType() == "multipart/form-data" {
		limit := s.o.Inspections.MaxUploadBytes()
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
		mr, err := c.Request.MultipartReader()
		if err != nil {
			s.fail(c, invalid("body: multipart/form-data with the field visit expected: %v", err))
			return
		}
		hasVisit := false
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				s.failUpload(c, err)
				return
			}
			data, err := io.ReadAll(part)
			part.Close()
			if err != nil {
				s.failUpload(c, err)
				return
			}
			name := part.FormName()
			switch m := problemPhotoRe.FindStringSubmatch(name); {
			case name == "visit":
				dec := json.NewDecoder(bytes.NewReader(data))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&r); err != nil {
					s.fail(c, invalid("visit: %v", err))
					return
				}
				hasVisit = true
			case name == "photo":
				r.Photos = append(r.Photos, data)
			case m != nil:
				n, _ := strconv.Atoi(m[1])
				photos[n] = append(photos[n], data)
			default:
				s.fail(c, invalid("%q: not a field of a visit upload (visit, photo, problem_photo_N)", name))
				return
			}
		}
		if !hasVisit {
			s.fail(c, invalid("visit: required (the visit as JSON)"))
			return
		}
	} else if err := s.BindJSON(c, &r); err != nil {
		s.fail(c, err)
		return
	}
	for n, ph := range photos {
		if n >= len(r.Problems) {
			s.fail(c, invalid("problem_photo_%d: the visit has %d problems", n, len(r.Problems)))
			return
		}
		r.Problems[n].Photos = ph
	}
	v, created, err := s.o.Inspections.Record(c.Request.Context(), r, principal(c).Actor())
	if err != nil {
		s.fail(c, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	c.JSON(status, v)
}
