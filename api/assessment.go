package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// assessment answers GET /api/v1/assessment?month=YYYY-MM (default: the current month).
func (s *Server) assessment(c *gin.Context) {
	month := c.Query("month")
	if month == "" {
		month = s.o.Now().Format("2006-01")
	}
	if _, err := time.Parse("2006-01", month); err != nil {
		s.fail(c, invalid("month: %q is not YYYY-MM", month))
		return
	}
	out, err := s.o.Workflow.Assess(c.Request.Context(), month)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}
