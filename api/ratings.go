package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/lanewatch/lanewatch"
)

// publicRatings is the reporter's rating through a signed link (dispatch.Service provides it):
// the link's exp and sig are checked before anything is read or written.
type publicRatings interface {
	RatingCase(ctx context.Context, id, exp, sig string) (*lanewatch.Case, error)
	RateByLink(ctx context.Context, id, exp, sig string, score int, comment string) (*lanewatch.Case, error)
}

// publicRating is what the public rating page shows: nothing about the reporter, no
// timeline, no attachments.
type publicRating struct {
	ID           string            `json:"id"`
	Title        string            `json:"title"`
	Category     string            `json:"category"`
	CategoryName string            `json:"category_name"`
	DistrictName string            `json:"district_name"`
	Status       string            `json:"status"`
	Closed       bool              `json:"closed"`
	Rating       *lanewatch.Rating `json:"rating"`
}

// rateLinkBody is the body of POST /api/v1/public/ratings/{id}.
type rateLinkBody struct {
	Exp     string `json:"exp"`
	Sig     string `json:"sig"`
	Score   int    `json:"score"`
	Comment string `json:"comment"`
}

// routeRatings registers the public rating endpoints (no token: the signed link is the
// credential) when the case service signs links.
func (s *Server) routeRatings(e *gin.Engine) {
	r, ok := s.o.Cases.(publicRatings)
	if !ok {
		return
	}
	g := e.Group("/api/v1/public/ratings")
	g.GET("/:id", func(c *gin.Context) {
		cs, err := r.RatingCase(c.Request.Context(), c.Param("id"), c.Query("exp"), c.Query("sig"))
		if err != nil {
			s.fail(c, err)
			return
		}
		c.Header("Cache-Control", "no-store")
		c.JSON(http.StatusOK, s.publicRating(cs))
	})
	g.POST("/:id", func(c *gin.Context) {
		var b rateLinkBody
		if err := s.BindJSON(c, &b); err != nil {
			s.fail(c, err)
			return
		}
		if b.Score < 1 || b.Score > 5 {
			s.fail(c, invalid("score: %d is not in 1..5", b.Score))
			return
		}
		if len(b.Comment) > 2000 {
			s.fail(c, invalid("comment: longer than 2000 bytes"))
			return
		}
		cs, err := r.RateByLink(c.Request.Context(), c.Param("id"), b.Exp, b.Sig, b.Score, b.Comment)
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, s.publicRating(cs))
	})
}

func (s *Server) publicRating(cs *lanewatch.Case) publicRating {
	p := publicRating{ID: cs.ID, Title: cs.Title, Category: cs.Category, DistrictName: cs.DistrictName,
		Status: string(cs.Status), Closed: cs.Status == lanewatch.StatusClosed, Rating: cs.Rating}
	if s.o.Open311 != nil {
		for _, sv := range s.o.Open311.Services() {
			if sv.Code == cs.Category {
				p.CategoryName = sv.Name
			}
		}
	}
	return p
}
