package api

import (
	"encoding/xml"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// linkMedia is the kind of signed link that opens one attachment (dispatch.LinkMedia).
const linkMedia = "media"

// mediaLinks signs and checks public attachment links (dispatch.Service provides them).
type mediaLinks interface {
	MediaURL(caseID, attachmentID string) string
	CheckLink(kind, id, exp, sig string) error
}

// o311MediaURL is the public, signed media_url of a request: its latest photo, which a
// citizen app can open without a token; "" without photos or without link signing.
func (s *Server) o311MediaURL(cs *lanewatch.Case) string {
	m, ok := s.o.Cases.(mediaLinks)
	if !ok || len(cs.Attachments) == 0 {
		return ""
	}
	return m.MediaURL(cs.ID, cs.Attachments[len(cs.Attachments)-1].ID)
}

// o311Media answers GET /open311/v2/media/{case}/{attachment}?exp=&sig=: the photo, for the
// signed link only, of a public request only.
func (s *Server) o311Media(c *gin.Context) {
	m, ok := s.o.Cases.(mediaLinks)
	if !ok || s.o.Workflow == nil {
		s.o311Fail(c, "json", http.StatusNotFound, "media links are not enabled")
		return
	}
	id, att := c.Param("case"), c.Param("att")
	if err := m.CheckLink(linkMedia, id+"/"+att, c.Query("exp"), c.Query("sig")); err != nil {
		s.o311Fail(c, "json", http.StatusForbidden, lanewatch.ErrorMessage(err))
		return
	}
	cs, err := s.o.Cases.Get(c.Request.Context(), id)
	if err != nil || !s.o311Public(cs) {
		s.o311Fail(c, "json", http.StatusNotFound, "media not found")
		return
	}
	rc, a, err := s.o.Workflow.OpenAttachment(c.Request.Context(), cs, att)
	if err != nil {
		s.o311Fail(c, "json", http.StatusNotFound, "media not found")
		return
	}
	defer rc.Close()
	h := c.Writer.Header()
	h.Set("Content-Type", a.ContentType)
	h.Set("Content-Length", strconv.FormatInt(a.Size, 10))
	h.Set("Cache-Control", "public, max-age=86400")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	c.Status(http.StatusOK)
	_, _ = io.Copy(c.Writer, rc)
}

// o311Update is one request_update of the FixMyStreet servicerequestupdates extension.
type o311Update struct {
	XMLName            xml.Name `json:"-" xml:"request_update"`
	UpdateID           string   `json:"update_id" xml:"update_id"`
	ServiceRequestID   string   `json:"service_request_id" xml:"service_request_id"`
	Status             string   `json:"status" xml:"status"`
	UpdatedDatetime    string   `json:"updated_datetime" xml:"updated_datetime"`
	Description        string   `json:"description" xml:"description"`
	MediaURL           string   `json:"media_url" xml:"media_url"`
	ExternalStatusCode string   `json:"external_status_code" xml:"external_status_code"`
}

// updateLookback is how long before start_date a request may have been created to have its
// status changes listed (cases are listed by creation time).
const updateLookback = 92 * 24 * time.Hour

// o311Updates answers GET servicerequestupdates.json|xml (the FixMyStreet extension that
// FixMyStreet and mySociety's open311-adapter poll): start_date, end_date (W3C datetimes; at
// most 90 days apart, default the last day); one update per public status change, oldest
// first, at most 1000. Status values are the extension's (open, investigating,
// action_scheduled, in_progress, fixed, closed, duplicate, no_further_action,
// not_councils_responsibility); external_status_code is lanewatch's own status.
func (s *Server) o311Updates(c *gin.Context, format string) {
	now := s.o.Now()
	end, start := now, time.Time{}
	for name, dst := range map[string]*time.Time{"start_date": &start, "end_date": &end} {
		if v := c.Query(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				s.o311Fail(c, format, http.StatusBadRequest, name+": not a W3C (RFC 3339) datetime")
				return
			}
			*dst = t
		}
	}
	if start.IsZero() {
		start = end.Add(-24 * time.Hour)
	}
	if !end.After(start) || end.Sub(start) > 90*24*time.Hour {
		s.o311Fail(c, format, http.StatusBadRequest, "start_date must be before end_date and at most 90 days earlier")
		return
	}
	f := store.CaseFilter{Since: start.Add(-updateLookback), Until: end, Limit: store.MaxLimit, WithHistory: true}
	var out []o311Update
	for len(out) < 1000 {
		page, next, err := s.o.Cases.List(c.Request.Context(), f)
		if err != nil {
			s.o311Fail(c, format, http.StatusInternalServerError, "internal error")
			return
		}
		for _, cs := range page {
			if s.o311Public(cs) {
				out = append(out, caseUpdates(cs, start, end)...)
			}
		}
		if next == "" {
			break
		}
		f.Cursor = next
	}
	slices.SortStableFunc(out, func(a, b o311Update) int { return strings.Compare(a.UpdatedDatetime, b.UpdatedDatetime) })
	if len(out) > 1000 {
		out = out[:1000]
	}
	if out == nil {
		out = []o311Update{}
	}
	if format == "xml" {
		s.o311Write(c, format, http.StatusOK, struct {
			XMLName xml.Name     `xml:"service_requests_updates"`
			Updates []o311Update `xml:"request_update"`
		}{Updates: out})
		return
	}
	c.JSON(http.StatusOK, out)
}

// caseUpdates are the status changes of cs in [start, end).
func caseUpdates(cs *lanewatch.Case, start, end time.Time) []o311Update {
	var out []o311Update
	for i, e := range cs.Timeline {
		if e.From == "" || e.From == e.To || e.At.Before(start) || !e.At.Before(end) {
			continue
		}
		out = append(out, o311Update{UpdateID: cs.ID + "-" + strconv.Itoa(i+1), ServiceRequestID: cs.ID,
			Status: fmsStatus(cs, e), UpdatedDatetime: e.At.UTC().Format(time.RFC3339), Description: e.Note,
			ExternalStatusCode: string(e.To)})
	}
	return out
}

// fmsStatus maps a status change to the FixMyStreet update statuses.
func fmsStatus(cs *lanewatch.Case, e lanewatch.TimelineEntry) string {
	switch e.To {
	case lanewatch.StatusReported:
		return "open"
	case lanewatch.StatusRegistered:
		return "investigating"
	case lanewatch.StatusDispatched, lanewatch.StatusSigned:
		return "action_scheduled"
	case lanewatch.StatusInProgress:
		return "in_progress"
	case lanewatch.StatusResolved:
		return "fixed"
	case lanewatch.StatusRejected:
		return "not_councils_responsibility"
	case lanewatch.StatusClosed:
		switch {
		case e.Action == "verify":
			return "closed"
		case cs.DuplicateOf != "":
			return "duplicate"
		}
		return "no_further_action"
	}
	return "open"
}
