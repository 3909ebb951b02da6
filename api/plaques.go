package api

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/plaques"
)

// Plaques is the plaque service the public plaque routes front.
type Plaques interface {
	Get(ctx context.Context, id string) (*plaques.Public, error)
	Report(ctx context.Context, plaqueID string, r plaques.Report) (*lanewatch.Case, error)
}

// maxPlaqueUpload bounds a multipart plaque report (photo plus fields).
const maxPlaqueUpload = 8 << 20

// mountPlaques adds the public (no token) plaque routes.
func (s *Server) mountPlaques(e *gin.Engine) {
	if s.o.Plaques == nil {
		return
	}
	e.GET("/api/v1/plaques/:id", s.getPlaque)
	e.POST("/api/v1/plaques/:id/reports", s.reportPlaque)
}

func (s *Server) getPlaque(c *gin.Context) {
	p, err := s.o.Plaques.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, p)
}

// plaqueReportBody is the JSON form of a report; the photo is base64 (JPEG or PNG).
type plaqueReportBody struct {
	Category    string              `json:"category"`
	Description string              `json:"description"`
	Reporter    *lanewatch.Reporter `json:"reporter"`
	Photo       string              `json:"photo"`
}

// reportPlaque takes a report as JSON (photo base64) or multipart/form-data (fields category,
// description, reporter_name, reporter_phone; file photo).
func (s *Server) reportPlaque(c *gin.Context) {
	r := plaques.Report{ClientAddr: c.ClientIP()}
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	switch mt {
	case "multipart/form-data":
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxPlaqueUpload)
		mr, err := c.Request.MultipartReader()
		if err != nil {
			s.fail(c, invalid("request body: %v", err))
			return
		}
		var rep lanewatch.Reporter
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				s.fail(c, multipartErr(err))
				return
			}
			name := part.FormName()
			if name == "photo" {
				if r.Photo != nil {
					s.fail(c, invalid("photo: only one photo per report"))
					return
				}
				// The photo must be the last part: it is streamed into the store.
				r.Photo = part
				break
			}
			v, err := io.ReadAll(io.LimitReader(part, 8<<10+1))
			if err != nil {
				s.fail(c, multipartErr(err))
				return
			}
			if len(v) > 8<<10 {
				s.fail(c, invalid("%s: longer than 8 KiB", name))
				return
			}
			switch name {
			case "category":
				r.Category = string(v)
			case "description":
				r.Description = string(v)
			case "reporter_name":
				rep.Name = string(v)
			case "reporter_phone":
				rep.Phone = string(v)
			default:
				s.fail(c, invalid("%s: unknown field (want category, description, reporter_name, reporter_phone, photo)", name))
				return
			}
		}
		if rep != (lanewatch.Reporter{}) {
			r.Reporter = &rep
		}
	default:
		var b plaqueReportBody
		if err := s.BindJSON(c, &b); err != nil {
			s.fail(c, err)
			return
		}
		r.Category, r.Description, r.Reporter = b.Category, b.Description, b.Reporter
		if b.Photo != "" {
			raw := strings.TrimSpace(b.Photo)
			if i := strings.Index(raw, ";base64,"); i >= 0 && strings.HasPrefix(raw, "data:") {
				raw = raw[i+len(";base64,"):]
			}
			r.Photo = base64.NewDecoder(base64.StdEncoding, strings.NewReader(raw))
		}
	}
	cs, err := s.o.Plaques.Report(c.Request.Context(), c.Param("id"), r)
	if err != nil {
		var ce base64.CorruptInputError
		if errors.As(err, &ce) {
			err = invalid("photo: not valid base64")
		}
		s.fail(c, multipartErr(err))
		return
	}
	c.JSON(http.StatusCreated, gin.H{"id": cs.ID, "status": cs.Status, "category": cs.Category, "district": cs.District,
		"department": cs.Department, "attachments": cs.Attachments})
}

// multipartErr maps a body over its limit to 413 and keeps domain errors.
func multipartErr(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return lanewatch.Errorf(lanewatch.ETooLarge, "request body larger than %d bytes", mbe.Limit)
	}
	if lanewatch.ErrorCode(err) != lanewatch.EInternal {
		return err
	}
	if strings.Contains(err.Error(), "multipart") {
		return invalid("request body: %v", err)
	}
	return err
}
