package api

import (
	"io/fs"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/lanewatch/lanewatch"
)

// ConsoleCSP is the Content-Security-Policy of the console routes: everything from the same
// origin, no inline scripts or styles, photos also from blob: URLs (fetched with the token).
const ConsoleCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Console returns a Mount (for Options.Mount) serving the operator console from assets:
// GET / is index.html, GET /console/* the other files; it also adds GET /api/v1/whoami, which
// returns the caller's {"name", "role", "id"} so the console can show what the role may do.
func Console(assets fs.FS) func(public *gin.Engine, v1 *gin.RouterGroup, s *Server) {
	return func(public *gin.Engine, v1 *gin.RouterGroup, s *Server) {
		files := http.StripPrefix("/console", http.FileServerFS(assets))
		index := func(c *gin.Context) {
			consoleHeaders(c)
			b, err := fs.ReadFile(assets, "index.html")
			if err != nil {
				s.fail(c, lanewatch.Errorf(lanewatch.EInternal, "console index: %v", err))
				return
			}
			c.Data(http.StatusOK, "text/html; charset=utf-8", b)
		}
		public.GET("/", index)
		public.HEAD("/", index)
		serve := func(c *gin.Context) {
			consoleHeaders(c)
			if strings.HasSuffix(c.Request.URL.Path, "/") {
				// No directory listings.
				s.fail(c, lanewatch.Errorf(lanewatch.ENotFound, "no console file %s", c.Request.URL.Path))
				return
			}
			files.ServeHTTP(c.Writer, c.Request)
		}
		public.GET("/console/*path", serve)
		public.HEAD("/console/*path", serve)
		v1.GET("/whoami", s.require("admin", "operator", "department", "contractor", "viewer"), func(c *gin.Context) {
			p := principal(c)
			c.JSON(http.StatusOK, gin.H{"name": p.Name, "role": p.Role, "id": p.ID})
		})
	}
}

func consoleHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", ConsoleCSP)
	h.Set("Cache-Control", "no-cache")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}
