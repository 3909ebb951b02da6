package api

import (
	"context"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/camera"
)

// CameraPush receives vendor camera pushes.
type CameraPush interface {
	Authenticate(cameraID, vendor, user, pass string) (*camera.CameraConfig, error)
	Push(ctx context.Context, cam *camera.CameraConfig, contentType string, body io.Reader) (camera.PushResult, error)
}

// Snapshots serves stored camera snapshots and report photos.
type Snapshots interface {
	Open(name string) (*os.File, string, error)
}

// maxCameraPush bounds one vendor push (alert XML plus pictures).
const maxCameraPush = 16 << 20

// mountCameras adds the vendor push routes (HTTP basic auth per camera, no bearer token) and
// the snapshot files (bearer token, any role).
func (s *Server) mountCameras(e *gin.Engine, v1 *gin.RouterGroup) {
	if s.o.CameraPush != nil {
		e.POST("/api/v1/cameras/:id/push/:vendor", s.cameraPush)
	}
	if s.o.Snapshots != nil {
		v1.GET("/snapshots/:name", s.require("admin", "operator", "department", "contractor", "viewer"), s.getSnapshot)
	}
}

// Camera push basic auth: an address gets cameraAuthFailures wrong passwords per
// cameraAuthWindow, then 429 without a check until the window has passed since its last failure.
const (
	cameraAuthFailures = 10
	cameraAuthWindow   = time.Minute
)

func (s *Server) cameraPush(c *gin.Context) {
	ip := c.ClientIP()
	if blocked, wait := s.cameraAuth.blocked(ip, s.o.Now()); blocked {
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		s.fail(c, lanewatch.Errorf(lanewatch.ERateLimited, "too many failed camera logins from this address: at most %d per %v", cameraAuthFailures, cameraAuthWindow))
		return
	}
	user, pass, ok := c.Request.BasicAuth()
	if !ok {
		c.Header("WWW-Authenticate", `Basic realm="lanewatch cameras"`)
	}
	cam, err := s.o.CameraPush.Authenticate(c.Param("id"), c.Param("vendor"), user, pass)
	if err != nil {
		if lanewatch.ErrorCode(err) == lanewatch.EUnauthorized {
			s.cameraAuth.fail(ip, s.o.Now())
		}
		c.Header("WWW-Authenticate", `Basic realm="lanewatch cameras"`)
		s.fail(c, err)
		return
	}
	s.cameraAuth.succeed(ip)
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxCameraPush)
	res, err := s.o.CameraPush.Push(c.Request.Context(), cam, c.GetHeader("Content-Type"), c.Request.Body)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, res)
}

func (s *Server) getSnapshot(c *gin.Context) {
	f, ctype, err := s.o.Snapshots.Open(c.Param("name"))
	if err != nil {
		s.fail(c, err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Cache-Control", "private, max-age=31536000, immutable")
	c.DataFromReader(http.StatusOK, st.Size(), ctype, f, nil)
}
