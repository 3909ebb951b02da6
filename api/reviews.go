package api

import (
	"context"
	"io"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/casereview"
)

// Reviews is the case-file review service (casereview.Service satisfies it).
type Reviews interface {
	Checklist() []casereview.Item
	Create(ctx context.Context, r casereview.CreateRequest, actor string) (*casereview.Review, error)
	Get(ctx context.Context, id string) (*casereview.Review, error)
	List(ctx context.Context) ([]*casereview.Review, error)
	SetScore(ctx context.Context, reviewID, caseID, reviewer string, items []casereview.ItemResult) (*casereview.Score, error)
	Results(ctx context.Context, id string) (*casereview.Results, error)
	CaseFiles(ctx context.Context, id string) ([]*lanewatch.Case, error)
	InReview(ctx context.Context, reviewID, caseID string) (bool, error)
}

// mountReviews adds the /api/v1/reviews routes (DOMAIN.md 10). Reviewers (role reviewer) read
// the sampled case files, their photos included, and score them; they see no other case.
func (s *Server) mountReviews(v1 *gin.RouterGroup) {
	if s.o.Reviews == nil {
		return
	}
	read := s.require("admin", "operator", "reviewer", "viewer")
	g := v1.Group("/reviews")
	g.GET("/checklist", read, func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"items": s.o.Reviews.Checklist()}) })
	g.GET("", read, func(c *gin.Context) {
		rs, err := s.o.Reviews.List(c.Request.Context())
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"items": rs, "next_cursor": ""})
	})
	g.POST("", s.require("admin", "operator"), func(c *gin.Context) {
		var r casereview.CreateRequest
		if err := s.BindJSON(c, &r); err != nil {
			s.fail(c, err)
			return
		}
		rv, err := s.o.Reviews.Create(c.Request.Context(), r, principal(c).Actor())
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusCreated, rv)
	})
	g.GET("/:id", read, func(c *gin.Context) {
		rv, err := s.o.Reviews.Get(c.Request.Context(), c.Param("id"))
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, rv)
	})
	g.GET("/:id/results", read, func(c *gin.Context) {
		r, err := s.o.Reviews.Results(c.Request.Context(), c.Param("id"))
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, r)
	})
	g.GET("/:id/casefiles", read, func(c *gin.Context) {
		cs, err := s.o.Reviews.CaseFiles(c.Request.Context(), c.Param("id"))
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"items": cs})
	})
	g.GET("/:id/casefiles/:case/attachments/:aid", read, s.reviewAttachment)
	g.PUT("/:id/scores/:case", s.require("admin", "operator", "reviewer"), func(c *gin.Context) {
		var body struct {
			Items []casereview.ItemResult `json:"items"`
		}
		if err := s.BindJSON(c, &body); err != nil {
			s.fail(c, err)
			return
		}
		p := principal(c)
		reviewer := p.Name
		if reviewer == "" {
			reviewer = p.Actor()
		}
		sc, err := s.o.Reviews.SetScore(c.Request.Context(), c.Param("id"), c.Param("case"), reviewer, body.Items)
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, sc)
	})
}

// reviewAttachment serves a photo of a case in the review's sample.
func (s *Server) reviewAttachment(c *gin.Context) {
	ctx := c.Request.Context()
	in, err := s.o.Reviews.InReview(ctx, c.Param("id"), c.Param("case"))
	if err != nil {
		s.fail(c, err)
		return
	}
	if !in || s.o.Workflow == nil {
		s.fail(c, lanewatch.Errorf(lanewatch.ENotFound, "case %s is not in review %s", c.Param("case"), c.Param("id")))
		return
	}
	cs, err := s.o.Cases.Get(ctx, c.Param("case"))
	if err != nil {
		s.fail(c, err)
		return
	}
	rc, a, err := s.o.Workflow.OpenAttachment(ctx, cs, c.Param("aid"))
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
