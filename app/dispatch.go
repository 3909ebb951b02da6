package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/api"
	"github.com/lanewatch/lanewatch/dispatch"
	"github.com/lanewatch/lanewatch/dispatch/notify"
	"github.com/lanewatch/lanewatch/dispatch/notify/sms"
	"github.com/lanewatch/lanewatch/dispatch/notify/webhook"
	"github.com/lanewatch/lanewatch/dispatch/notify/wechat"
)

// DispatchConfig is the `dispatch` section of lanewatch.yaml (see docs/DISPATCH.md): the case
// settings of dispatch, the Open311 front of api and the notification delivery.
type DispatchConfig struct {
	dispatch.Config `yaml:",inline"`
	// Open311 settings for citizen apps.
	Open311 api.Open311Config `yaml:"open311"`
	// Notify configures the outbox delivery and its channels.
	Notify NotifyConfig `yaml:"notify"`
}

// NotifyConfig is the `dispatch.notify` section: the delivery settings of dispatch/notify and
// one section per channel (a channel without its section is off).
type NotifyConfig struct {
	notify.Config `yaml:",inline"`
	SMS           *sms.Config     `yaml:"sms"`
	WeChat        *wechat.Config  `yaml:"wechat"`
	Webhook       *webhook.Config `yaml:"webhook"`
}

// dispatchRuntime holds the parts of dispatch that run in the background.
type dispatchRuntime struct {
	notifier *notify.Dispatcher
	keys     []string
	// departments are the routing file's, for the console's names.
	departments []dispatch.Department
}

// setupDispatch builds the dispatch service, its notifiers and the API adapters on the
// routing file and districts loadFiles read (the districts file is parsed once: when
// coverage's network was loaded from the same file, dispatch locates cases in its districts).
func (a *App) setupDispatch(f *files, dataDir string, env []string) (*dispatch.Service, *dispatchRuntime, error) {
	dc := a.cfg.Dispatch
	catalog, routing, districts := f.catalog, f.routing, f.districts
	if f.districtsMissing {
		a.logger.Warn("districts file missing: cases keep the district they are given", "file", dc.DistrictsFile)
	}
	client := &http.Client{Timeout: 20 * time.Second}
	notifiers := map[string]notify.Notifier{}
	var channels []string
	if c := dc.Notify.SMS; c != nil {
		n, err := sms.New(*c, client)
		if err != nil {
			return nil, nil, err
		}
		notifiers[dispatch.ChannelSMS], channels = n, append(channels, dispatch.ChannelSMS)
	}
	if c := dc.Notify.WeChat; c != nil {
		n, err := wechat.New(*c, client, a.now)
		if err != nil {
			return nil, nil, err
		}
		notifiers[dispatch.ChannelWeChat], channels = n, append(channels, dispatch.ChannelWeChat)
	}
	if c := dc.Notify.Webhook; c != nil {
		n, err := webhook.New(*c, client)
		if err != nil {
			return nil, nil, err
		}
		notifiers[dispatch.ChannelWebhook], channels = n, append(channels, dispatch.ChannelWebhook)
	}
	linkKey, err := dispatch.LinkKey(context.Background(), a.store)
	if err != nil {
		return nil, nil, err
	}
	svc, err := dispatch.New(dispatch.Options{Store: a.store, Catalog: catalog, Routing: routing, Districts: districts,
		Channels: channels, AttachmentDir: filepath.Join(dataDir, "attachments"), MaxAttachmentBytes: dc.MaxAttachmentBytes,
		LinkKey: linkKey, PublicURL: dc.PublicURL, RatingLinkTTL: time.Duration(dc.RatingLinkTTL),
		Registerer: a.reg, Logger: a.logger, Now: a.now})
	if err != nil {
		return nil, nil, err
	}
	no := dc.Notify.Options()
	no.Outbox, no.Notifiers, no.Registerer, no.Logger, no.Now = a.store, notifiers, a.reg, a.logger, a.now
	nd, err := notify.New(no)
	if err != nil {
		return nil, nil, err
	}
	rt := &dispatchRuntime{notifier: nd, keys: append([]string(nil), dc.Open311.APIKeys...)}
	rt.departments = routing.Departments
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == "LANEWATCH_OPEN311_API_KEY" && v != "" {
			rt.keys = append(rt.keys, v)
		}
	}
	return svc, rt, nil
}

// runDispatch runs the deadline ticker and the notification delivery until ctx ends or one
// of them fails.
func (a *App) runDispatch(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() { errc <- a.disp.notifier.Run(ctx) }()
	go func() {
		// Deadlines and escalation run on one node of a cluster (cluster.Node.WhileLeader).
		var err error
		a.cluster.WhileLeader(ctx, "dispatch deadlines", func(ctx context.Context) {
			if e := a.cases.Run(ctx); e != nil && ctx.Err() == nil {
				err = e
				cancel()
			}
		})
		errc <- err
	}()
	err := <-errc
	cancel()
	return errors.Join(err, <-errc)
}

// workflow adapts dispatch.Service to api.CaseWorkflow and api.Open311.
type workflow struct {
	s       *dispatch.Service
	catalog *dispatch.Catalog
	media   *api.MediaFetcher // nil: media_url is kept as a link only
}

var (
	_ api.CaseWorkflow = (*workflow)(nil)
	_ api.Open311      = (*workflow)(nil)
)

func actorOf(p api.Principal) dispatch.Actor {
	return dispatch.Actor{Role: p.Role, ID: p.ID, Name: p.Name}
}

func (w *workflow) Create(ctx context.Context, c *lanewatch.Case, p api.Principal) (*lanewatch.Case, error) {
	out, _, err := w.s.Open(ctx, c, actorOf(p).String())
	return out, err
}

func (w *workflow) Act(ctx context.Context, id string, a api.CaseAction, p api.Principal) (*lanewatch.Case, error) {
	return w.s.Act(ctx, id, dispatch.ActionRequest{Action: a.Action, Note: a.Note, Reason: a.Reason,
		Department: a.Department, HandleBy: a.HandleBy, Score: a.Score, Comment: a.Comment}, actorOf(p))
}

func (w *workflow) Attach(ctx context.Context, id, kind string, r io.Reader, p api.Principal) (*lanewatch.Attachment, error) {
	return w.s.Attach(ctx, id, kind, r, actorOf(p))
}

func (w *workflow) OpenAttachment(ctx context.Context, c *lanewatch.Case, id string) (io.ReadCloser, lanewatch.Attachment, error) {
	return w.s.OpenAttachment(ctx, c, id)
}

func (w *workflow) Rate(ctx context.Context, id string, score int, comment string, p api.Principal) (*lanewatch.Case, error) {
	return w.s.Rate(ctx, id, score, comment, actorOf(p))
}

func (w *workflow) MaxAttachmentBytes() int64 { return w.s.MaxAttachmentBytes() }

func (w *workflow) Assess(ctx context.Context, month string) (any, error) {
	return w.s.Assess(ctx, month)
}

// Services are the categories citizens may report.
func (w *workflow) Services() []api.Open311Service {
	var out []api.Open311Service
	for _, c := range w.catalog.All() {
		for _, src := range c.Sources {
			if src == lanewatch.SourceCitizen {
				out = append(out, api.Open311Service{Code: c.Code, Name: c.NameZH, Description: c.NameEN,
					Keywords: []string{c.NameEN}})
				break
			}
		}
	}
	return out
}

func (w *workflow) Submit(ctx context.Context, c *lanewatch.Case) (*lanewatch.Case, error) {
	c.Source = lanewatch.SourceCitizen
	out, _, err := w.s.Open(ctx, c, "reporter:open311")
	return out, err
}

// FetchMedia queues the fetch of a request's media_url (listed hosts only).
func (w *workflow) FetchMedia(caseID, mediaURL string) {
	if w.media != nil {
		w.media.Enqueue(caseID, mediaURL)
	}
}

func (w *workflow) Agency(dep string) string {
	if d, ok := w.s.Router().Department(dep); ok && d.Name != "" {
		return d.Name
	}
	return dep
}

// workflow returns the API's case workflow.
func (a *App) workflow(catalog *dispatch.Catalog) api.CaseWorkflow {
	return &workflow{s: a.cases, catalog: catalog}
}

// open311 returns the Open311 front, nil when disabled.
func (a *App) open311(catalog *dispatch.Catalog) (api.Open311, error) {
	o := a.cfg.Dispatch.Open311
	if o.Disabled {
		return nil, nil
	}
	w := &workflow{s: a.cases, catalog: catalog}
	if len(o.MediaHosts) > 0 {
		m, err := newMediaFetcher(o.MediaHosts, time.Duration(o.MediaTimeout), a.cases.MaxAttachmentBytes(), a.cases, a.logger)
		if err != nil {
			return nil, err
		}
		a.media, w.media = m, m
	}
	return w, nil
}

// newMediaFetcher is the Open311 media fetcher attaching to cases of svc as their "before"
// photo.
func newMediaFetcher(hosts []string, timeout time.Duration, maxSize int64, svc *dispatch.Service, logger *slog.Logger) (*api.MediaFetcher, error) {
	return api.NewMediaFetcher(api.MediaOptions{Hosts: hosts, Timeout: timeout, MaxBytes: maxSize, Logger: logger,
		Attach: func(ctx context.Context, caseID string, r io.Reader) error {
			_, err := svc.Attach(ctx, caseID, dispatch.KindBefore, r, dispatch.Actor{Role: dispatch.RoleSystem})
			return err
		}})
}
