package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// Cases is the case service the API fronts.
type Cases interface {
	List(ctx context.Context, f store.CaseFilter) ([]*lanewatch.Case, string, error)
	Get(ctx context.Context, id string) (*lanewatch.Case, error)
}

// Devices is the device registry the API fronts.
type Devices interface {
	Create(ctx context.Context, d *lanewatch.Device, password string) error
	Update(ctx context.Context, d *lanewatch.Device, password string) error
	SetPassword(ctx context.Context, id, password string) error
	Delete(ctx context.Context, id string) error
	Get(ctx context.Context, id string) (*lanewatch.Device, error)
	List(ctx context.Context, f store.DeviceFilter) ([]*lanewatch.Device, string, error)
}

// DeadLetters lists rejected payloads.
type DeadLetters interface {
	ListDeadLetters(ctx context.Context, limit int, cursor string) ([]*lanewatch.DeadLetter, string, error)
}

// Telemetry reads device history from the time-series store.
type Telemetry interface {
	QueryTelemetry(ctx context.Context, deviceID string, from, to time.Time, limit int) ([]map[string]any, error)
}

// Check is one readiness check.
type Check func(ctx context.Context) error

// Options configure the API server.
type Options struct {
	Tokens      []Token
	Cases       Cases
	Devices     Devices
	DeadLetters DeadLetters
	Telemetry   Telemetry
	Workflow    CaseWorkflow // may be nil: no case actions, attachments, rating, assessment
	Open311     Open311      // may be nil: no /open311/v2 (GeoReport v2 for citizen apps)
	// Open311Keys are the API keys accepted on Open311 POST requests; none: every POST is refused.
	Open311Keys []string
	Rules       Rules // may be nil: no /api/v1/rules routes
	// Plaques serves the public plaque routes; nil leaves them out.
	Plaques Plaques
	// CameraPush receives vendor camera pushes; Snapshots serves stored images. nil leaves them out.
	CameraPush   CameraPush
	Snapshots    Snapshots
	Coverage     Coverage         // may be nil: no /api/v1/mechanization, /api/v1/coverage routes
	Cluster      Cluster          // may be nil: no /api/v1/cluster
	Commands     Commands         // may be nil: no /api/v1/devices/{id}/commands
	Ready        map[string]Check // name -> check, for /readyz
	Gatherer     prometheus.Gatherer
	MaxBodyBytes int64
	// Open311Limit bounds POST requests per client address; default 20 per 10 minutes.
	Open311Limit RateLimit
	// TrustedProxies are the proxy addresses (IPs or CIDRs) whose X-Forwarded-For is believed for
	// the client address of rate limits; none by default, so a client cannot spoof its address.
	TrustedProxies []string
	// Mount lets other components add routes (rules, console) to the engine and the
	// authenticated /api/v1 group.
	Mount []func(public *gin.Engine, v1 *gin.RouterGroup, s *Server)
	// Console, when set, holds the operator console's files, served at "/" (see Console).
	Console fs.FS
	Logger  *slog.Logger
	Now     func() time.Time

	// Inspections serves /api/v1/inspections (DOMAIN.md 9); nil leaves it out.
	Inspections Inspections
	// Reviews serves /api/v1/reviews (DOMAIN.md 10); nil leaves it out.
	Reviews Reviews
	// Notices serves /api/v1/notices (DOMAIN.md 11); nil leaves it out.
	Notices Notices
	// CaseCounts, when set, adds the counts of the whole filter to case lists.
	CaseCounts CaseCounter
	// Lookups, when set, serves the config's names and the routing proposal to the console.
	Lookups Lookups
	// EventsInterval is how often the live event stream looks for changed cases; default 2 s.
	EventsInterval time.Duration
}

// Server is the HTTP API.
type Server struct {
	o      Options
	logger *slog.Logger
	tokens []tokenEntry
	engine *gin.Engine
	// cameraAuth blocks camera push basic auth from an address after repeated failures.
	cameraAuth *failureGate
	// hub polls the store for changed cases once for every open event stream.
	hub eventHub
}

// New builds the API server.
func New(o Options) (*Server, error) {
	if o.Cases == nil || o.Devices == nil || o.DeadLetters == nil {
		return nil, fmt.Errorf("api: Cases, Devices and DeadLetters are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = 1 << 20
	}
	s := &Server{o: o, logger: o.Logger.With("component", "api"), cameraAuth: newFailureGate(cameraAuthFailures, cameraAuthWindow)}
	for _, t := range o.Tokens {
		if t.Token == "" {
			continue
		}
		role, id := parseRole(t.Role)
		s.tokens = append(s.tokens, tokenEntry{sum: sha256.Sum256([]byte(t.Token)), p: Principal{Name: t.Name, Role: role, ID: id}})
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	if err := e.SetTrustedProxies(o.TrustedProxies); err != nil {
		return nil, fmt.Errorf("api: trusted proxies: %w", err)
	}
	e.Use(gin.Recovery(), s.limitBody, securityHeaders, s.refuseNUL)
	e.HandleMethodNotAllowed = true
	e.NoRoute(func(c *gin.Context) {
		s.fail(c, lanewatch.Errorf(lanewatch.ENotFound, "no route %s %s", c.Request.Method, c.Request.URL.Path))
	})
	e.NoMethod(func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusMethodNotAllowed, errorBody{Error: errorDetail{Code: "method_not_allowed", Message: "method not allowed"}})
	})
	e.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	e.GET("/readyz", s.readyz)
	if o.Gatherer != nil {
		e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{})))
	}
	v1 := e.Group("/api/v1", s.authenticate)
	all := s.require("admin", "operator", "department", "contractor", "viewer")
	staff := s.require("admin", "operator", "viewer")
	admin := s.require("admin")
	v1.GET("/cases", all, s.listCases)
	v1.GET("/cases/:id", all, s.getCase)
	v1.GET("/devices", s.require("admin", "operator", "viewer", "contractor"), s.listDevices)
	v1.POST("/devices", admin, s.createDevice)
	v1.GET("/devices/:id", s.require("admin", "operator", "viewer", "contractor"), s.getDevice)
	v1.PUT("/devices/:id", admin, s.updateDevice)
	v1.DELETE("/devices/:id", admin, s.deleteDevice)
	v1.POST("/devices/:id/credentials", admin, s.rotateCredentials)
	v1.GET("/devices/:id/telemetry", s.require("admin", "operator", "viewer", "contractor"), s.deviceTelemetry)
	v1.GET("/deadletters", staff, s.listDeadLetters)
	s.mountRules(v1)
	s.mountCoverage(v1)
	s.mountCluster(v1)
	s.mountCommands(v1)
	if o.Console != nil {
		Console(o.Console)(e, v1, s)
	}
	s.routeCases(v1)
	s.routeRatings(e)
	s.routeEvents(e, v1)
	s.routeLookups(v1)
	s.routeVehicles(v1)
	s.routeOpen311(e)
	s.mountPlaques(e, v1)
	s.mountCameras(e, v1)
	s.mountInspections(v1) // supervision workflows (DOMAIN.md 9–11)
	s.mountReviews(v1)
	s.mountNotices(v1)
	for _, m := range o.Mount {
		m(e, v1, s)
	}
	s.engine = e
	return s, nil
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return s.engine }

// Fail writes err in the API's error format; for routes mounted by other components.
func (s *Server) Fail(c *gin.Context, err error) { s.fail(c, err) }

// Principal returns the authenticated caller of a request; for mounted routes.
func (s *Server) Principal(c *gin.Context) Principal { return principal(c) }

// Require returns middleware allowing only the given roles; for mounted routes.
func (s *Server) Require(roles ...string) gin.HandlerFunc { return s.require(roles...) }

// BindJSON decodes the JSON body strictly (unknown fields are an error naming the field).
func (s *Server) BindJSON(c *gin.Context, v any) error {
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if asMaxBytes(err, &mbe) {
			return err
		}
		if err == io.EOF {
			return invalid("request body: empty, JSON object expected")
		}
		return invalid("request body: %v", err)
	}
	if p := nulField(v); p != "" {
		return errNUL(p)
	}
	return nil
}

// limitBody bounds every request body, whatever its Content-Type: by MaxBodyBytes, or by the
// larger limit of an upload route (uploadLimit). Upload handlers may bound tighter themselves.
func (s *Server) limitBody(c *gin.Context) {
	if c.Request.Body != nil && c.Request.Body != http.NoBody {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, s.uploadLimit(c.FullPath()))
	}
	c.Next()
}

// uploadLimit is the body limit of a route: the upload routes (multipart photos, inspection
// visits with photos and camera pushes) have their own, every other route MaxBodyBytes.
func (s *Server) uploadLimit(route string) int64 {
	switch route {
	case "/api/v1/plaques/:id/reports":
		return max(maxPlaqueUpload, s.o.MaxBodyBytes)
	case "/api/v1/cases/:id/attachments":
		if s.o.Workflow != nil {
			return max(s.o.Workflow.MaxAttachmentBytes()+1<<20, s.o.MaxBodyBytes)
		}
	case "/api/v1/cameras/:id/push/:vendor":
		return max(maxCameraPush, s.o.MaxBodyBytes)
	case "/api/v1/inspections/visits":
		if s.o.Inspections != nil {
			return max(s.o.Inspections.MaxUploadBytes(), s.o.MaxBodyBytes)
		}
	}
	return s.o.MaxBodyBytes
}

func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	c.Next()
}

func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	names := make([]string, 0, len(s.o.Ready))
	for n := range s.o.Ready {
		names = append(names, n)
	}
	sort.Strings(names)
	// The checks' errors name database users, hosts and files: only an admin token sees them,
	// anyone else "failed".
	admin := s.isAdmin(c)
	res := gin.H{}
	ok := true
	for _, n := range names {
		if err := s.o.Ready[n](ctx); err != nil {
			res[n] = "failed"
			if admin {
				res[n] = err.Error()
			}
			ok = false
		} else {
			res[n] = "ok"
		}
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	c.JSON(status, gin.H{"ready": ok, "checks": res})
}

// isAdmin reports whether the request carries an admin bearer token (for routes open to anyone
// that show admins more).
func (s *Server) isAdmin(c *gin.Context) bool {
	tok, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return false
	}
	p, ok := s.tokenPrincipal(tok)
	return ok && p.Role == "admin"
}

// tokenPrincipal returns the principal of a bearer token, comparing in constant time.
func (s *Server) tokenPrincipal(tok string) (Principal, bool) {
	sum := sha256.Sum256([]byte(tok))
	for _, e := range s.tokens {
		if subtle.ConstantTimeCompare(sum[:], e.sum[:]) == 1 {
			return e.p, true
		}
	}
	return Principal{}, false
}

// page writes a list response.
func page[T any](c *gin.Context, items []T, next string) {
	if items == nil {
		items = []T{}
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "next_cursor": next})
}

func queryLimit(c *gin.Context) (int, error) {
	v := c.Query("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > store.MaxLimit {
		return 0, invalid("limit: %q is not an integer in 1..%d", v, store.MaxLimit)
	}
	return n, nil
}

func queryTime(c *gin.Context, name string) (time.Time, error) {
	v := c.Query(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, invalid("%s: %q is not an RFC 3339 time", name, v)
	}
	return t, nil
}
