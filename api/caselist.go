package api

import (
	"context"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// CaseCounter counts the cases of a filter for the board (store.Cases.CaseCounts). When
// Options.CaseCounts is nil, case lists carry no counts.
type CaseCounter interface {
	CaseCounts(ctx context.Context, f store.CaseFilter) (*store.CaseCounts, error)
}

// maxQueryRunes bounds the q= search term.
const maxQueryRunes = 100

// caseFilter reads a case list's query (status, category, district, department, source, rule,
// overdue, since, until, q, sort, limit, cursor) and restricts it to what the caller may see.
// The default order is store.SortUrgent: overdue first, then the nearest deadline.
func caseFilter(c *gin.Context) (store.CaseFilter, error) {
	var f store.CaseFilter
	var err error
	if f.Limit, err = queryLimit(c); err != nil {
		return f, err
	}
	f.Cursor = c.Query("cursor")
	if v := c.Query("status"); v != "" {
		for _, st := range strings.Split(v, ",") {
			if !caseStatuses[st] {
				return f, invalid("status: %q is not a case status", st)
			}
			f.Status = append(f.Status, lanewatch.CaseStatus(st))
		}
	}
	f.Category, f.District, f.Source = c.Query("category"), c.Query("district"), c.Query("source")
	f.Department, f.Rule = c.Query("department"), c.Query("rule")
	if v := c.Query("overdue"); v != "" {
		b := v == "true" || v == "1"
		if !b && v != "false" && v != "0" {
			return f, invalid("overdue: %q is not true or false", v)
		}
		f.Overdue = &b
	}
	if f.Since, err = queryTime(c, "since"); err != nil {
		return f, err
	}
	if f.Until, err = queryTime(c, "until"); err != nil {
		return f, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, invalid("until: %s is not after since %s", c.Query("until"), c.Query("since"))
	}
	f.Query = strings.TrimSpace(c.Query("q"))
	if !utf8.ValidString(f.Query) || utf8.RuneCountInString(f.Query) > maxQueryRunes {
		return f, invalid("q: at most %d characters of UTF-8 text", maxQueryRunes)
	}
	switch v := c.DefaultQuery("sort", "urgent"); v {
	case "newest":
		f.Sort = store.SortNewest
	default:
		f.Sort = store.CaseSort(v)
		if v == "" || f.Sort == store.SortUpdatedAsc || !f.Sort.Valid() {
			return f, invalid("sort: %q is not one of urgent, deadline, newest, oldest, updated", v)
		}
	}
	scopeCases(principal(c), &f)
	return f, nil
}

// caseListBody is the answer of GET /api/v1/cases: a page and the counts of the whole filter.
type caseListBody struct {
	Items      []*lanewatch.Case `json:"items"`
	NextCursor string            `json:"next_cursor"`
	Counts     *store.CaseCounts `json:"counts,omitempty"`
}

func (s *Server) writeCaseList(c *gin.Context, f store.CaseFilter, items []*lanewatch.Case, next string) {
	body := caseListBody{Items: items, NextCursor: next}
	if body.Items == nil {
		body.Items = []*lanewatch.Case{}
	}
	if s.o.CaseCounts != nil {
		counts, err := s.o.CaseCounts.CaseCounts(c.Request.Context(), f)
		if err != nil {
			s.fail(c, err)
			return
		}
		body.Counts = counts
	}
	c.JSON(http.StatusOK, body)
}
