package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/lanewatch/lanewatch/notices"
)

// Notices is the owner-notice service (notices.Service satisfies it).
type Notices interface {
	List(ctx context.Context, status ...string) ([]*notices.Notice, error)
	Counts(ctx context.Context, from, to time.Time) ([]notices.Count, error)
}

// mountNotices adds GET /api/v1/notices and /api/v1/notices/counts (DOMAIN.md 11). Plates are
// shown in full to admins and operators only.
func (s *Server) mountNotices(v1 *gin.RouterGroup) {
	if s.o.Notices == nil {
		return
	}
	read := s.require("admin", "operator", "viewer")
	v1.GET("/notices", read, func(c *gin.Context) {
		var status []string
		if st := c.Query("status"); st != "" {
			switch st {
			case notices.StatusPending, notices.StatusSent, notices.StatusComplied, notices.StatusIgnored,
				notices.StatusCameraOffline, notices.StatusFailed:
				status = []string{st}
			default:
				s.fail(c, invalid("status: %q is not one of pending, sent, complied, ignored, camera_offline, failed", st))
				return
			}
		}
		ns, err := s.o.Notices.List(c.Request.Context(), status...)
		if err != nil {
			s.fail(c, err)
			return
		}
		if !principal(c).Can("admin", "operator") {
			for _, n := range ns {
				n.Plate = notices.MaskPlate(n.Plate)
				n.Note = ""
			}
		}
		c.JSON(http.StatusOK, gin.H{"items": ns, "next_cursor": ""})
	})
	v1.GET("/notices/counts", read, func(c *gin.Context) {
		from, err := queryDate(c, "from")
		if err != nil {
			s.fail(c, err)
			return
		}
		to, err := queryDate(c, "to")
		if err != nil {
			s.fail(c, err)
			return
		}
		if !to.IsZero() {
			to = to.AddDate(0, 0, 1)
		}
		counts, err := s.o.Notices.Counts(c.Request.Context(), from, to)
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"districts": counts})
	})
}

// queryDate parses an optional YYYY-MM-DD query parameter (UTC days).
func queryDate(c *gin.Context, name string) (time.Time, error) {
	v := c.Query(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, invalid("%s: %q is not a date YYYY-MM-DD", name, v)
	}
	return t, nil
}
