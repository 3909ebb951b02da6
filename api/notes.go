package api

import (
	"github.com/gin-gonic/gin"

	"github.com/lanewatch/lanewatch"
)

// noteRenderer renders a case's coded timeline notes for a reader (dispatch.Service does:
// "en" or an Accept-Language header whose first choice is English gives English, else
// Chinese, times in the working calendar's zone).
type noteRenderer interface {
	RenderNotes(c *lanewatch.Case, lang string)
}

// displayNamer gives the display names of districts and of departments and contractors
// (dispatch.Service does: the districts file's name_zh, the routing file's names; "" for an
// unknown id).
type displayNamer interface {
	DistrictName(id string) string
	PartyName(id string) string
}

// names returns the case service's display namer, or one that knows no names.
func (s *Server) names() displayNamer {
	if n, ok := s.o.Cases.(displayNamer); ok {
		return n
	}
	return noNames{}
}

type noNames struct{}

func (noNames) DistrictName(string) string { return "" }
func (noNames) PartyName(string) string    { return "" }

// localized renders cs's coded notes in the language of the request's Accept-Language header.
func (s *Server) localized(c *gin.Context, cs *lanewatch.Case) *lanewatch.Case {
	if r, ok := s.o.Cases.(noteRenderer); ok && cs != nil {
		r.RenderNotes(cs, c.GetHeader("Accept-Language"))
	}
	return cs
}
