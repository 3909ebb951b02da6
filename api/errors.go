package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/lanewatch/lanewatch"
)

// statusOf maps domain error codes to HTTP statuses.
var statusOf = map[string]int{
	lanewatch.EInvalid:       http.StatusBadRequest,
	lanewatch.EUnauthorized:  http.StatusUnauthorized,
	lanewatch.EForbidden:     http.StatusForbidden,
	lanewatch.ENotFound:      http.StatusNotFound,
	lanewatch.EConflict:      http.StatusConflict,
	lanewatch.ETooLarge:      http.StatusRequestEntityTooLarge,
	lanewatch.EUnprocessable: http.StatusUnprocessableEntity,
	lanewatch.ERateLimited:   http.StatusTooManyRequests,
	lanewatch.EUnavailable:   http.StatusServiceUnavailable,
	lanewatch.EInternal:      http.StatusInternalServerError,
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Allowed []string `json:"allowed,omitempty"`
}

// fail writes err as {"error": {"code", "message"}} with its status and aborts the request.
func (s *Server) fail(c *gin.Context, err error) {
	code := lanewatch.ErrorCode(err)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		code = lanewatch.ETooLarge
		err = lanewatch.Errorf(lanewatch.ETooLarge, "request body larger than %d bytes", mbe.Limit)
	}
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status >= 500 {
		s.logger.Error("request failed", "method", c.Request.Method, "path", c.FullPath(), "err", err)
	}
	body := errorBody{Error: errorDetail{Code: code, Message: lanewatch.ErrorMessage(err)}}
	var le *lanewatch.Error
	if errors.As(err, &le) {
		body.Error.Allowed = le.Allowed
	}
	c.AbortWithStatusJSON(status, body)
}

func invalid(format string, args ...any) error {
	return lanewatch.Errorf(lanewatch.EInvalid, format, args...)
}

func forbidden(format string, args ...any) error {
	return lanewatch.Errorf(lanewatch.EForbidden, format, args...)
}
