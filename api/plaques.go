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

// PlaqueRegistry is the admin side of the plaque registry; the admin routes are mounted when
// the Plaques service also implements it (plaques.Service does).
type PlaqueRegistry interface {
	List(ctx context.Context, limit int, cursor string) ([]plaques.Plaque, string, error)
	Create(ctx context.Context, p plaques.Plaque) (*plaques.Plaque, error)
	Update(ctx context.Context, id string, p plaques.Plaque) (*plaques.Plaque, error)
	Delete(ctx context.Context, id string) error
}

// maxPlaqueUpload bounds a multipart plaque report (photo plus fields).
const maxPlaqueUpload = 8 << 20

// mountPlaques adds the public (no token) plaque routes and, on v1, the admin registry routes.
func (s *Server) mountPlaques(e *gin.Engine, v1 *gin.RouterGroup) {
	if s.o.Plaques == nil {
		return
	}
	e.GET("/api/v1/plaques/:id", s.getPlaque)
	e.POST("/api/v1/plaques/:id/reports", s.reportPlaque)
	reg, ok := s.o.Plaques.(PlaqueRegistry)
	if !ok {
		return
	}
	admin := s.require("admin")
	v1.GET("/plaques", s.require("admin", "operator", "viewer"), func(c *gin.Context) { s.listPlaques(c, reg) })
	v1.POST("/plaques", admin, func(c *gin.Context) { s.createPlaque(c, reg) })
	v1.PUT("/plaques/:id", admin, func(c *gin.Context) { s.updatePlaque(c, reg) })
	v1.DELETE("/plaques/:id", admin, func(c *gin.Context) { s.deletePlaque(c, reg) })
}

// plaqueBody is the JSON body of POST and PUT /api/v1/plaques (strict: unknown fields are refused).
type plaqueBody struct {
	ID       string          `json:"id"`
	Address  string          `json:"address"`
	District string          `json:"district"`
	Lat      float64         `json:"lat"`
	Lon      float64         `json:"lon"`
	Party    plaqueBodyParty `json:"party"`
}

type plaqueBodyParty struct {
	Name       string   `json:"name"`
	Contact    string   `json:"contact"`
	Department string   `json:"department"`
	Duties     []string `json:"duties"`
}

func (b plaqueBody) plaque() plaques.Plaque {
	return plaques.Plaque{ID: b.ID, Address: b.Address, District: b.District, Lat: b.Lat, Lon: b.Lon,
		Party: plaques.Party{Name: b.Party.Name, Contact: b.Party.Contact, Department: b.Party.Department, Duties: b.Party.Duties}}
}

// plaqueView is a registry entry as the admin API shows it: the contact is masked unless the
// caller is an admin or operator.
func plaqueView(c *gin.Context, p plaques.Plaque) plaques.Plaque {
	if r := principal(c).Role; r != "admin" && r != "operator" {
		p.Party.Contact = plaques.MaskContact(p.Party.Contact)
	}
	if p.Party.Duties == nil {
		p.Party.Duties = []string{}
	}
	return p
}

func (s *Server) listPlaques(c *gin.Context, reg PlaqueRegistry) {
	limit, err := queryLimit(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := reg.List(c.Request.Context(), limit, c.Query("cursor"))
	if err != nil {
		s.fail(c, err)
		return
	}
	for i := range items {
		items[i] = plaqueView(c, items[i])
	}
	page(c, items, next)
}

func (s *Server) createPlaque(c *gin.Context, reg PlaqueRegistry) {
	var b plaqueBody
	if err := s.BindJSON(c, &b); err != nil {
		s.fail(c, err)
		return
	}
	p, err := reg.Create(c.Request.Context(), b.plaque())
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, plaqueView(c, *p))
}

func (s *Server) updatePlaque(c *gin.Context, reg PlaqueRegistry) {
	var b plaqueBody
	if err := s.BindJSON(c, &b); err != nil {
		s.fail(c, err)
		return
	}
	p, err := reg.Update(c.Request.Context(), c.Param("id"), b.plaque())
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, plaqueView(c, *p))
}

func (s *Server) deletePlaque(c *gin.Context, reg PlaqueRegistry) {
	if err := reg.Delete(c.Request.Context(), c.Param("id")); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
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
			if strings.IndexByte(string(v), 0) >= 0 {
				s.fail(c, errNUL(name))
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
