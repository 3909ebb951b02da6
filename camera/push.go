package camera

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/camera/dahua"
	"github.com/lanewatch/lanewatch/camera/hikvision"
)

// Injector appends a device message to the durable journal, as if the device had published it
// over MQTT (gateway.Broker.Inject satisfies it).
type Injector interface {
	Inject(ctx context.Context, kind lanewatch.Kind, deviceID string, payload []byte) error
}

// PushOptions configure a Pusher.
type PushOptions struct {
	Config   *Config
	Injector Injector
	// MaxPicture bounds one pushed picture; default 6 MiB.
	MaxPicture int64
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	Now        func() time.Time
}

// Pusher receives vendor pushes: it authenticates the camera, decodes the vendor format,
// maps event codes to camera types and injects SPEC section 3 camera events into the journal.
type Pusher struct {
	o      PushOptions
	logger *slog.Logger
	events *prometheus.CounterVec
}

// PushResult counts what a push carried.
type PushResult struct {
	Accepted int `json:"accepted"`
	Ignored  int `json:"ignored"` // events whose code maps to no camera type
}

// NewPusher returns a Pusher.
func NewPusher(o PushOptions) (*Pusher, error) {
	if o.Config == nil || o.Injector == nil {
		return nil, errors.New("camera: pusher needs Config and Injector")
	}
	if o.MaxPicture <= 0 {
		o.MaxPicture = 6 << 20
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	p := &Pusher{o: o, logger: o.Logger.With("component", "camera-push"),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lanewatch_camera_push_events_total",
			Help: "Vendor camera push events, by vendor and result (accepted, ignored, rejected, unauthorized)."}, []string{"vendor", "result"})}
	if err := o.Registerer.Register(p.events); err != nil {
		return nil, fmt.Errorf("register camera push metrics: %w", err)
	}
	return p, nil
}

// Authenticate checks a camera's push credentials. Unknown cameras and wrong credentials are
// the same EUnauthorized error, so the camera list cannot be probed.
func (p *Pusher) Authenticate(cameraID, vendor, user, pass string) (*CameraConfig, error) {
	unauth := lanewatch.Errorf(lanewatch.EUnauthorized, "camera push: unknown camera or wrong credentials")
	cam, ok := p.o.Config.Camera(cameraID)
	if !ok || cam.Vendor == "" {
		p.events.WithLabelValues(vendor, "unauthorized").Inc()
		return nil, unauth
	}
	okUser := subtle.ConstantTimeCompare([]byte(user), []byte(cam.Username)) == 1
	okPass := false
	if cam.PasswordHash != "" {
		okPass = bcrypt.CompareHashAndPassword([]byte(cam.PasswordHash), []byte(pass)) == nil
	} else {
		okPass = subtle.ConstantTimeCompare([]byte(pass), []byte(cam.Password)) == 1
	}
	if !okUser || !okPass {
		p.events.WithLabelValues(vendor, "unauthorized").Inc()
		return nil, unauth
	}
	if cam.Vendor != vendor {
		p.events.WithLabelValues(vendor, "rejected").Inc()
		return nil, lanewatch.Errorf(lanewatch.EInvalid, "camera %s is configured as %s, not %s", cameraID, cam.Vendor, vendor)
	}
	return cam, nil
}

// Push decodes one authenticated push of cam and injects its events.
func (p *Pusher) Push(ctx context.Context, cam *CameraConfig, contentType string, body io.Reader) (PushResult, error) {
	var evs []Event
	var ignored int
	var err error
	switch cam.Vendor {
	case VendorHikvision:
		evs, ignored, err = p.hikvision(cam, contentType, body)
	case VendorDahua:
		evs, ignored, err = p.dahua(cam, body)
	default:
		err = fmt.Errorf("vendor %q has no push adapter", cam.Vendor)
	}
	if err != nil {
		p.events.WithLabelValues(cam.Vendor, "rejected").Inc()
		var le *lanewatch.Error
		if errors.As(err, &le) {
			return PushResult{}, err
		}
		return PushResult{}, &lanewatch.Error{Code: lanewatch.EInvalid, Message: cam.Vendor + " push: " + err.Error(), Err: err}
	}
	res := PushResult{Ignored: ignored}
	p.events.WithLabelValues(cam.Vendor, "ignored").Add(float64(ignored))
	for i := range evs {
		ev := &evs[i]
		if !ev.HasLoc && cam.Location != nil {
			ev.Lat, ev.Lon, ev.HasLoc = cam.Location.Lat, cam.Location.Lon, true
		}
		b, err := ev.Payload()
		if err != nil {
			return res, err
		}
		if err := p.o.Injector.Inject(ctx, lanewatch.KindCamera, cam.ID, b); err != nil {
			return res, fmt.Errorf("inject camera event: %w", err)
		}
		res.Accepted++
		p.events.WithLabelValues(cam.Vendor, "accepted").Inc()
	}
	return res, nil
}

func (p *Pusher) hikvision(cam *CameraConfig, contentType string, body io.Reader) ([]Event, int, error) {
	a, err := hikvision.Decode(contentType, body, p.o.MaxPicture)
	if err != nil {
		return nil, 0, tooLarge(err)
	}
	evs, ignored := HikvisionEvents(p.o.Config, cam, a, p.o.Now())
	return evs, ignored, nil
}

func (p *Pusher) dahua(cam *CameraConfig, body io.Reader) ([]Event, int, error) {
	b, err := io.ReadAll(io.LimitReader(body, 1<<20+1))
	if err != nil {
		return nil, 0, tooLarge(err)
	}
	if len(b) > 1<<20 {
		return nil, 0, lanewatch.Errorf(lanewatch.ETooLarge, "dahua push: body larger than 1 MiB")
	}
	dEvs, err := dahua.Decode(b)
	if err != nil {
		return nil, 0, err
	}
	evs, ignored := DahuaEvents(p.o.Config, cam, dEvs, p.o.Now())
	return evs, ignored, nil
}

// tooLarge turns a body-size error into ETooLarge.
func tooLarge(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || strings.Contains(err.Error(), "larger than") {
		return &lanewatch.Error{Code: lanewatch.ETooLarge, Message: "camera push: " + err.Error(), Err: err}
	}
	return err
}

// HikvisionEvents maps a decoded alert of cam to normalised events: one per detection region
// (or one without a box), the first carrying the first picture. eventState inactive becomes
// type "inactive" (state stop); codes not in the config are ignored and counted.
func HikvisionEvents(c *Config, cam *CameraConfig, a *hikvision.Alert, now time.Time) ([]Event, int) {
	typ, ok := c.TypeOf(cam, a.EventType)
	if !ok {
		return nil, 1
	}
	ts := a.DateTime
	if ts.IsZero() {
		ts = now.UTC()
	}
	state := StateStart
	if a.EventState == "inactive" {
		state = StateStop
		if typ != "heartbeat" {
			typ = "inactive"
		}
	}
	conf := a.Confidence
	if conf == 0 {
		conf = c.DefaultConfidence(VendorHikvision)
	}
	regions := a.Regions
	if len(regions) == 0 {
		regions = []hikvision.Region{{}}
	}
	var out []Event
	for i, r := range regions {
		ev := Event{CameraID: cam.ID, Channel: a.ChannelID, TS: ts, VendorCode: a.EventType, Type: typ,
			Category: categoryOf(typ), Confidence: conf, BBox: r.BBox, HasBBox: r.HasBBox, RegionID: r.ID, State: state}
		ev.EventID = "hik-" + strconv.Itoa(a.ChannelID) + "-" + a.EventType + "-" + strconv.FormatInt(ts.UnixMilli(), 10) +
			"-" + strconv.Itoa(a.ActiveCount) + "-" + strconv.Itoa(i)
		if i == 0 && len(a.Pictures) > 0 {
			ev.Snapshot = a.Pictures[0]
		}
		out = append(out, ev)
	}
	return out, 0
}

// DahuaEvents maps decoded event lines of cam to normalised events. action=Stop becomes type
// "inactive" (state stop); codes not in the config are ignored and counted.
func DahuaEvents(c *Config, cam *CameraConfig, in []dahua.Event, now time.Time) ([]Event, int) {
	var out []Event
	ignored := 0
	for i, d := range in {
		typ, ok := c.TypeOf(cam, d.Code)
		if !ok {
			ignored++
			continue
		}
		ts := d.UTC
		if ts.IsZero() {
			ts = now.UTC()
		}
		state := StatePulse
		switch d.Action {
		case "Start":
			state = StateStart
		case "Stop":
			state = StateStop
			if typ != "heartbeat" {
				typ = "inactive"
			}
		}
		conf := d.Confidence
		if conf == 0 {
			conf = c.DefaultConfidence(VendorDahua)
		}
		id := d.EventID
		if id == "" {
			id = strconv.FormatInt(ts.UnixMilli(), 10) + "-" + strconv.Itoa(i)
		}
		out = append(out, Event{CameraID: cam.ID, Channel: d.Index, TS: ts, VendorCode: d.Code, Type: typ,
			Category: categoryOf(typ), Confidence: conf, BBox: d.BBox, HasBBox: d.HasBBox, RegionID: d.RegionName, State: state,
			EventID: "dh-" + strconv.Itoa(d.Index) + "-" + d.Code + "-" + id + "-" + d.Action})
	}
	return out, ignored
}
