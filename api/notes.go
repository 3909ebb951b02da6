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

// localized renders cs's coded notes in the language of the request's Accept-Language header.
func (s *Server) localized(c *gin.Context, cs *lanewatch.Case) *lanewatch.Case {
	if r, ok := s.o.Cases.(noteRenderer); ok && cs != nil {
		r.RenderNotes(cs, c.GetHeader("Accept-Language"))
	}
	return cs
}
