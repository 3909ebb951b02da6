package api

import (
	"context"
	"crypto/subtle"
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// Open311Service is one service (a case category) of the GeoReport v2 front.
type Open311Service struct {
	Code        string
	Name        string
	Description string
	// Group is the GeoReport group; empty: by the category's code (Open311Group).
	Group    string
	Keywords []string
}

// Open311Group is the GeoReport group of a category code: its first two digits name the
// class (01 市容环境, 05 街面秩序), any other code is 其他.
func Open311Group(code string) string {
	switch {
	case strings.HasPrefix(code, "01"):
		return "市容环境"
	case strings.HasPrefix(code, "05"):
		return "街面秩序"
	}
	return "其他"
}

// validAPIKey reports whether key is one of the configured Open311 API keys, comparing in
// constant time so that a key cannot be guessed byte by byte.
func (s *Server) validAPIKey(key string) bool {
	if key == "" {
		return false
	}
	ok := false
	for _, k := range s.o.Open311Keys {
		if subtle.ConstantTimeCompare([]byte(k), []byte(key)) == 1 {
			ok = true
		}
	}
	return ok
}

// Open311 is what the GeoReport v2 front needs beyond case reads.
type Open311 interface {
	// Services are the categories open to citizens.
	Services() []Open311Service
	// Submit opens a citizen case.
	Submit(ctx context.Context, c *lanewatch.Case) (*lanewatch.Case, error)
	// Agency returns the display name of a department id.
	Agency(department string) string
	// FetchMedia queues the fetch of a request's media_url as the case's photo, if the
	// implementation fetches from that host; it never blocks.
	FetchMedia(caseID, mediaURL string)
}

// open311Error is one entry of the GeoReport error array.
type open311Error struct {
	XMLName     xml.Name `json:"-" xml:"error"`
	Code        int      `json:"code" xml:"code"`
	Description string   `json:"description" xml:"description"`
}

type open311Errors struct {
	XMLName xml.Name       `xml:"errors"`
	Errors  []open311Error `xml:"error"`
}

type o311Service struct {
	XMLName     xml.Name `json:"-" xml:"service"`
	ServiceCode string   `json:"service_code" xml:"service_code"`
	ServiceName string   `json:"service_name" xml:"service_name"`
	Description string   `json:"description" xml:"description"`
	Metadata    bool     `json:"metadata" xml:"metadata"`
	Type        string   `json:"type" xml:"type"`
	Keywords    string   `json:"keywords" xml:"keywords"`
	Group       string   `json:"group" xml:"group"`
}

type o311Request struct {
	XMLName           xml.Name `json:"-" xml:"request"`
	ServiceRequestID  string   `json:"service_request_id" xml:"service_request_id"`
	Status            string   `json:"status" xml:"status"`
	StatusNotes       string   `json:"status_notes" xml:"status_notes"`
	ServiceName       string   `json:"service_name" xml:"service_name"`
	ServiceCode       string   `json:"service_code" xml:"service_code"`
	Description       string   `json:"description" xml:"description"`
	AgencyResponsible string   `json:"agency_responsible" xml:"agency_responsible"`
	ServiceNotice     string   `json:"service_notice" xml:"service_notice"`
	RequestedDatetime string   `json:"requested_datetime" xml:"requested_datetime"`
	UpdatedDatetime   string   `json:"updated_datetime" xml:"updated_datetime"`
	ExpectedDatetime  string   `json:"expected_datetime" xml:"expected_datetime"`
	Address           string   `json:"address" xml:"address"`
	AddressID         string   `json:"address_id" xml:"address_id"`
	Zipcode           string   `json:"zipcode" xml:"zipcode"`
	// Lat and Long are left out of a request reported by address only.
	Lat      *float64 `json:"lat,omitempty" xml:"lat,omitempty"`
	Long     *float64 `json:"long,omitempty" xml:"long,omitempty"`
	MediaURL string   `json:"media_url" xml:"media_url"`
}

// routeOpen311 registers /open311/v2 when an Open311 front is configured. Paths end in .json
// or .xml, which selects the format.
func (s *Server) routeOpen311(e *gin.Engine) {
	if s.o.Open311 == nil {
		return
	}
	g := e.Group("/open311/v2")
	g.GET("/:file", s.o311Get)
	g.POST("/:file", s.o311RateLimit(), s.o311Post)
	g.GET("/services/:file", s.o311ServiceDef)
	g.GET("/requests/:file", s.o311RequestOne)
	g.GET("/tokens/:file", s.o311Token)
	g.GET("/media/:case/:att", s.o311Media)
}

// splitFormat cuts ".json" or ".xml" off name.
func splitFormat(name string) (string, string, bool) {
	if b, ok := strings.CutSuffix(name, ".json"); ok {
		return b, "json", true
	}
	if b, ok := strings.CutSuffix(name, ".xml"); ok {
		return b, "xml", true
	}
	return name, "json", false
}

func (s *Server) o311Write(c *gin.Context, format string, status int, v any) {
	if format == "xml" {
		c.Header("Content-Type", "text/xml; charset=utf-8")
		out, err := xml.Marshal(v)
		if err != nil {
			s.fail(c, err)
			return
		}
		c.Status(status)
		_, _ = c.Writer.Write([]byte(xml.Header))
		_, _ = c.Writer.Write(out)
		return
	}
	c.JSON(status, v)
}

func (s *Server) o311Fail(c *gin.Context, format string, status int, desc string) {
	errs := []open311Error{{Code: status, Description: desc}}
	if format == "xml" {
		s.o311Write(c, format, status, open311Errors{Errors: errs})
	} else {
		c.JSON(status, errs)
	}
	c.Abort()
}

func (s *Server) o311Get(c *gin.Context) {
	name, format, ok := splitFormat(c.Param("file"))
	switch {
	case !ok:
		s.o311Fail(c, format, http.StatusNotFound, "unknown resource: use .json or .xml")
	case name == "discovery":
		s.o311Discovery(c, format)
	case name == "services":
		s.o311Services(c, format)
	case name == "requests":
		s.o311List(c, format)
	case name == "servicerequestupdates":
		s.o311Updates(c, format)
	default:
		s.o311Fail(c, format, http.StatusNotFound, "unknown resource "+name)
	}
}

func (s *Server) o311Discovery(c *gin.Context, format string) {
	type endpoint struct {
		XMLName       xml.Name `json:"-" xml:"endpoint"`
		Specification string   `json:"specification" xml:"specification"`
		URL           string   `json:"url" xml:"url"`
		Changeset     string   `json:"changeset" xml:"changeset"`
		Type          string   `json:"type" xml:"type"`
		Formats       []string `json:"formats" xml:"formats>format"`
	}
	type discovery struct {
		XMLName    xml.Name   `json:"-" xml:"discovery"`
		Changeset  string     `json:"changeset" xml:"changeset"`
		Contact    string     `json:"contact" xml:"contact"`
		KeyService string     `json:"key_service" xml:"key_service"`
		Endpoints  []endpoint `json:"endpoints" xml:"endpoints>endpoint"`
	}
	scheme := "http"
	if c.Request.TLS != nil {
		scheme = "https"
	}
	d := discovery{Changeset: "2025-01-01T00:00:00Z", Contact: "城管局 (urban management bureau)",
		KeyService: "ask the bureau for an api_key",
		Endpoints: []endpoint{{Specification: "http://wiki.open311.org/GeoReport_v2",
			URL: scheme + "://" + c.Request.Host + "/open311/v2", Changeset: "2025-01-01T00:00:00Z",
			Type: "production", Formats: []string{"text/xml", "application/json"}}}}
	s.o311Write(c, format, http.StatusOK, d)
}

func (s *Server) o311ServiceList() []o311Service {
	var out []o311Service
	for _, sv := range s.o.Open311.Services() {
		group := sv.Group
		if group == "" {
			group = Open311Group(sv.Code)
		}
		out = append(out, o311Service{ServiceCode: sv.Code, ServiceName: sv.Name, Description: sv.Description,
			Metadata: false, Type: "realtime", Keywords: strings.Join(sv.Keywords, ","), Group: group})
	}
	return out
}

func (s *Server) o311Services(c *gin.Context, format string) {
	list := s.o311ServiceList()
	if list == nil {
		list = []o311Service{}
	}
	if format == "xml" {
		s.o311Write(c, format, http.StatusOK, struct {
			XMLName  xml.Name      `xml:"services"`
			Services []o311Service `xml:"service"`
		}{Services: list})
		return
	}
	c.JSON(http.StatusOK, list)
}

func (s *Server) o311ServiceDef(c *gin.Context) {
	code, format, ok := splitFormat(c.Param("file"))
	if !ok {
		s.o311Fail(c, format, http.StatusNotFound, "use .json or .xml")
		return
	}
	for _, sv := range s.o.Open311.Services() {
		if sv.Code == code {
			type def struct {
				XMLName     xml.Name `json:"-" xml:"service_definition"`
				ServiceCode string   `json:"service_code" xml:"service_code"`
				Attributes  []string `json:"attributes" xml:"attributes>attribute"`
			}
			s.o311Write(c, format, http.StatusOK, def{ServiceCode: code, Attributes: []string{}})
			return
		}
	}
	s.o311Fail(c, format, http.StatusNotFound, "service_code "+code+" not found")
}

func (s *Server) o311Request(cs *lanewatch.Case) o311Request {
	r := o311Request{ServiceRequestID: cs.ID, Status: "open", ServiceCode: cs.Category,
		Description: cs.Description, AgencyResponsible: s.o.Open311.Agency(cs.Department),
		RequestedDatetime: cs.CreatedAt.Format(time.RFC3339), UpdatedDatetime: cs.UpdatedAt.Format(time.RFC3339),
		Address: cs.Address}
	if cs.Location.Lat != 0 || cs.Location.Lon != 0 {
		lat, lon := cs.Location.Lat, cs.Location.Lon
		r.Lat, r.Long = &lat, &lon
	}
	if !cs.Status.Open() {
		r.Status = "closed"
	}
	for _, sv := range s.o.Open311.Services() {
		if sv.Code == cs.Category {
			r.ServiceName = sv.Name
		}
	}
	if cs.Deadlines.HandleBy != nil {
		r.ExpectedDatetime = cs.Deadlines.HandleBy.Format(time.RFC3339)
	}
	for i := len(cs.Timeline) - 1; i >= 0; i-- {
		if n := strings.TrimSpace(cs.Timeline[i].Note); n != "" && o311PublicNote(cs.Timeline[i].Action) {
			r.StatusNotes = n
			break
		}
	}
	if cs.DuplicateOf != "" {
		r.ServiceNotice = "duplicate of request " + cs.DuplicateOf
	}
	r.MediaURL = s.o311MediaURL(cs)
	return r
}

func (s *Server) o311WriteRequests(c *gin.Context, format string, status int, list []o311Request) {
	if list == nil {
		list = []o311Request{}
	}
	if format == "xml" {
		s.o311Write(c, format, status, struct {
			XMLName  xml.Name      `xml:"service_requests"`
			Requests []o311Request `xml:"request"`
		}{Requests: list})
		return
	}
	c.JSON(status, list)
}

// o311List answers GET requests: filters service_request_id (comma list), service_code,
// start_date, end_date (at most 90 days apart; default the last 90 days), status; at most
// 1000 requests, newest first.
func (s *Server) o311List(c *gin.Context, format string) {
	ctx := c.Request.Context()
	if ids := c.Query("service_request_id"); ids != "" {
		var out []o311Request
		for _, id := range strings.Split(ids, ",") {
			cs, err := s.o.Cases.Get(ctx, strings.TrimSpace(id))
			if lanewatch.ErrorCode(err) == lanewatch.ENotFound {
				continue
			}
			if err != nil {
				s.o311Fail(c, format, http.StatusInternalServerError, "internal error")
				return
			}
			if s.o311Public(cs) {
				out = append(out, s.o311Request(cs))
			}
		}
		s.o311WriteRequests(c, format, http.StatusOK, out)
		return
	}
	var f store.CaseFilter
	parse := func(name string) (time.Time, bool) {
		v := c.Query(name)
		if v == "" {
			return time.Time{}, true
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			s.o311Fail(c, format, http.StatusBadRequest, name+": not a W3C (RFC 3339) datetime")
			return t, false
		}
		return t, true
	}
	var ok bool
	if f.Since, ok = parse("start_date"); !ok {
		return
	}
	if f.Until, ok = parse("end_date"); !ok {
		return
	}
	now := s.o.Now()
	switch {
	case f.Since.IsZero() && f.Until.IsZero():
		f.Since = now.AddDate(0, 0, -90)
	case f.Since.IsZero():
		f.Since = f.Until.AddDate(0, 0, -90)
	case f.Until.IsZero():
		f.Until = f.Since.AddDate(0, 0, 90)
	}
	if f.Until.Sub(f.Since) > 90*24*time.Hour {
		s.o311Fail(c, format, http.StatusBadRequest, "start_date and end_date may be at most 90 days apart")
		return
	}
	f.Category = c.Query("service_code")
	switch c.Query("status") {
	case "":
	case "open":
		f.Status = []lanewatch.CaseStatus{lanewatch.StatusReported, lanewatch.StatusRegistered, lanewatch.StatusDispatched,
			lanewatch.StatusSigned, lanewatch.StatusInProgress, lanewatch.StatusResolved}
	case "closed":
		f.Status = []lanewatch.CaseStatus{lanewatch.StatusClosed, lanewatch.StatusRejected}
	default:
		s.o311Fail(c, format, http.StatusBadRequest, "status: must be open or closed")
		return
	}
	f.Limit = 1000
	items, _, err := s.o.Cases.List(ctx, f)
	if err != nil {
		s.o311Fail(c, format, http.StatusInternalServerError, "internal error")
		return
	}
	out := make([]o311Request, 0, len(items))
	for _, cs := range items {
		if s.o311Public(cs) {
			out = append(out, s.o311Request(cs))
		}
	}
	s.o311WriteRequests(c, format, http.StatusOK, out)
}

// o311Public reports whether a case is a public service request: one of the services.
// o311Public reports whether a case is shown on the public GeoReport front: a citizen's request
// (operator, inspection, rule, camera and plaque cases are internal, whatever their category)
// in a category open to citizens.
func (s *Server) o311Public(cs *lanewatch.Case) bool {
	if cs.Source != lanewatch.SourceCitizen {
		return false
	}
	for _, sv := range s.o.Open311.Services() {
		if sv.Code == cs.Category {
			return true
		}
	}
	return false
}

// o311PublicNote reports whether the note of a timeline action is for the reporter: the
// department's progress and outcome (sign, start, resolve) and the bureau's answer (close,
// reject). The notes of accept, dispatch (instructions to the department), verify, rework
// (inspection findings), extensions and the report itself are internal.
func o311PublicNote(action string) bool {
	switch action {
	case "sign", "start", "resolve", "close", "reject":
		return true
	}
	return false
}

func (s *Server) o311RequestOne(c *gin.Context) {
	id, format, ok := splitFormat(c.Param("file"))
	if !ok {
		s.o311Fail(c, format, http.StatusNotFound, "use .json or .xml")
		return
	}
	cs, err := s.o.Cases.Get(c.Request.Context(), id)
	if err != nil || !s.o311Public(cs) {
		s.o311Fail(c, format, http.StatusNotFound, "service_request_id "+id+" not found")
		return
	}
	s.o311WriteRequests(c, format, http.StatusOK, []o311Request{s.o311Request(cs)})
}

// o311Token answers tokens/{token}: requests get their id at once, so the token is the id.
func (s *Server) o311Token(c *gin.Context) {
	tok, format, ok := splitFormat(c.Param("file"))
	if !ok {
		s.o311Fail(c, format, http.StatusNotFound, "use .json or .xml")
		return
	}
	cs, err := s.o.Cases.Get(c.Request.Context(), tok)
	if err != nil || !s.o311Public(cs) {
		s.o311Fail(c, format, http.StatusNotFound, "token "+tok+" not found")
		return
	}
	type tr struct {
		XMLName          xml.Name `json:"-" xml:"request"`
		ServiceRequestID string   `json:"service_request_id" xml:"service_request_id"`
		Token            string   `json:"token" xml:"token"`
	}
	list := []tr{{ServiceRequestID: cs.ID, Token: tok}}
	if format == "xml" {
		s.o311Write(c, format, http.StatusOK, struct {
			XMLName  xml.Name `xml:"service_requests"`
			Requests []tr     `xml:"request"`
		}{Requests: list})
		return
	}
	c.JSON(http.StatusOK, list)
}

// o311Post answers POST requests.json|xml (form-encoded): api_key, service_code, lat+long or
// address_string, description, first_name, last_name, phone, email, device_id, media_url.
func (s *Server) o311Post(c *gin.Context) {
	name, format, ok := splitFormat(c.Param("file"))
	if !ok || name != "requests" {
		s.o311Fail(c, format, http.StatusNotFound, "POST requests.json or requests.xml")
		return
	}
	if err := c.Request.ParseForm(); err != nil {
		if mbe := (*http.MaxBytesError)(nil); asMaxBytes(err, &mbe) {
			s.o311Fail(c, format, http.StatusRequestEntityTooLarge, "body: larger than "+strconv.FormatInt(mbe.Limit, 10)+" bytes")
			return
		}
		s.o311Fail(c, format, http.StatusBadRequest, "body: not form-encoded: "+err.Error())
		return
	}
	form := c.Request.PostForm
	if !s.validAPIKey(form.Get("api_key")) {
		s.o311Fail(c, format, http.StatusForbidden, "api_key: missing or not valid")
		return
	}
	code := form.Get("service_code")
	if code == "" {
		s.o311Fail(c, format, http.StatusBadRequest, "service_code: required")
		return
	}
	found := false
	for _, sv := range s.o.Open311.Services() {
		found = found || sv.Code == code
	}
	if !found {
		s.o311Fail(c, format, http.StatusBadRequest, "service_code: "+code+" is not a service")
		return
	}
	cs := &lanewatch.Case{Category: code, Source: lanewatch.SourceCitizen, Description: form.Get("description"),
		Title: form.Get("address_string"), Address: strings.TrimSpace(form.Get("address_string"))}
	if strings.TrimSpace(cs.Title) == "" {
		// Without an address the case is listed by what the citizen wrote, not by its id.
		cs.Title = excerpt(cs.Description, 40)
	}
	if len(cs.Address) > 500 {
		s.o311Fail(c, format, http.StatusBadRequest, "address_string: longer than 500 bytes")
		return
	}
	latS, lonS := form.Get("lat"), form.Get("long")
	switch {
	case latS != "" || lonS != "":
		lat, err1 := strconv.ParseFloat(latS, 64)
		lon, err2 := strconv.ParseFloat(lonS, 64)
		if err1 != nil || err2 != nil || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
			s.o311Fail(c, format, http.StatusBadRequest, "lat/long: both required, as WGS-84 decimal degrees")
			return
		}
		cs.Location = lanewatch.Location{Lat: lat, Lon: lon}
	case form.Get("address_string") == "" && form.Get("address_id") == "":
		s.o311Fail(c, format, http.StatusBadRequest, "location: lat and long, or address_string, required")
		return
	}
	if len(cs.Description) > 4000 {
		s.o311Fail(c, format, http.StatusBadRequest, "description: longer than 4000 bytes")
		return
	}
	media := form.Get("media_url")
	if media != "" {
		u, err := url.Parse(media)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(media) > 2048 {
			s.o311Fail(c, format, http.StatusBadRequest, "media_url: want an absolute http or https URL of at most 2048 bytes")
			return
		}
		// The link stays with the report whether or not the photo can be fetched.
		if cs.Description != "" {
			cs.Description += "\n"
		}
		cs.Description += "media_url: " + media
	}
	name2 := strings.TrimSpace(form.Get("first_name") + " " + form.Get("last_name"))
	if phone := form.Get("phone"); phone != "" || name2 != "" {
		cs.Reporter = &lanewatch.Reporter{Name: name2, Phone: phone}
	}
	cs.DeviceID = form.Get("device_id")
	out, err := s.o.Open311.Submit(c.Request.Context(), cs)
	if err != nil {
		status := statusOf[lanewatch.ErrorCode(err)]
		if status == 0 {
			status = http.StatusInternalServerError
		}
		s.o311Fail(c, format, status, lanewatch.ErrorMessage(err))
		return
	}
	if media != "" {
		s.o.Open311.FetchMedia(out.ID, media)
	}
	type created struct {
		XMLName          xml.Name `json:"-" xml:"request"`
		ServiceRequestID string   `json:"service_request_id" xml:"service_request_id"`
		ServiceNotice    string   `json:"service_notice" xml:"service_notice"`
		AccountID        *string  `json:"account_id" xml:"account_id"`
	}
	r := created{ServiceRequestID: out.ID}
	if out.DuplicateOf != "" {
		r.ServiceNotice = "already reported as request " + out.DuplicateOf
	}
	if format == "xml" {
		s.o311Write(c, format, http.StatusCreated, struct {
			XMLName  xml.Name  `xml:"service_requests"`
			Requests []created `xml:"request"`
		}{Requests: []created{r}})
		return
	}
	c.JSON(http.StatusCreated, []created{r})
}

// excerpt is the first n runes of s on one line (whitespace runs folded), with "…" when cut.
func excerpt(s string, n int) string {
	r := []rune(strings.Join(strings.Fields(s), " "))
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n]) + "…"
}
