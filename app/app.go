package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/crypto/bcrypt"

	"github.com/lanewatch/lanewatch/api"
	"github.com/lanewatch/lanewatch/cluster"
	"github.com/lanewatch/lanewatch/coverage"
	"github.com/lanewatch/lanewatch/devices"
	"github.com/lanewatch/lanewatch/dispatch"
	"github.com/lanewatch/lanewatch/gateway"
	"github.com/lanewatch/lanewatch/gateway/payload"
	"github.com/lanewatch/lanewatch/influx"
	"github.com/lanewatch/lanewatch/rules"
	"github.com/lanewatch/lanewatch/store"
	"github.com/lanewatch/lanewatch/store/sqlstore"
	"github.com/lanewatch/lanewatch/wal"
	"github.com/lanewatch/lanewatch/web"
)

// Options are the process-level inputs of an App that do not come from the config file.
type Options struct {
	Logger *slog.Logger
	// Env is the process environment (os.Environ()), for LANEWATCH_ADMIN_TOKEN and token_env.
	Env []string
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// App is a running lanewatch server.
type App struct {
	cfg    *Config
	logger *slog.Logger
	reg    *prometheus.Registry
	now    func() time.Time

	store    store.Store
	journal  *wal.Log
	sink     *influx.Sink
	registry *devices.Registry
	broker   *gateway.Broker
	pipeline interface{ Run(context.Context) error } // *gateway.Pipeline, or *gateway.Drain when pipeline.disabled
	engine   *rules.Engine
	rules    *rules.Manager
	cases    *dispatch.Service
	disp     *dispatchRuntime
	coverage *coverage.Tracker // nil without a road network
	cams     *cameraWiring
	media    *api.MediaFetcher // Open311 media_url fetches; nil without media_hosts
	cluster  *cluster.Node
	sup      *supervision // inspections, case-file review, owner notices
	cmds     *commandWiring
	fanout   fanoutPort
	api      *api.Server
	http     *http.Server
	httpLn   net.Listener

	closers []func() error
}

// New opens every component. On error, whatever was opened is closed again (listeners, files,
// the data directory's lock) and the error names the file, key or resource that is wrong.
func New(ctx context.Context, cfg *Config, o Options) (_ *App, err error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	// a is not the named result: `return nil, err` must not clear what the cleanup closes.
	a := &App{cfg: cfg, logger: o.Logger, reg: prometheus.NewRegistry(), now: o.Now}
	defer func() {
		if err != nil {
			a.closeAll()
		}
	}()
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	loc, err := time.LoadLocation(cfg.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("time zone: %w", err)
	}
	// Every file that can fail on bad input is read and validated before anything is opened,
	// and the errors of all files are reported together (config_check.go).
	files, err := loadFiles(cfg, loc)
	if err != nil {
		return nil, err
	}
	catalog, seed := files.catalog, files.seed
	dataDir := cfg.Resolve(cfg.DataDir)
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	tokens, err := apiTokens(cfg, o.Env)
	if err != nil {
		return nil, err
	}
	var tlsConf *tls.Config
	if cfg.MQTT.TLSAddr != "" {
		cert, err := tls.LoadX509KeyPair(cfg.Resolve(cfg.MQTT.TLSCert), cfg.Resolve(cfg.MQTT.TLSKey))
		if err != nil {
			return nil, fmt.Errorf("mqtt.tls_cert/mqtt.tls_key: %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	var httpTLS *tls.Config
	if cfg.HTTP.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.Resolve(cfg.HTTP.TLSCert), cfg.Resolve(cfg.HTTP.TLSKey))
		if err != nil {
			return nil, fmt.Errorf("http.tls_cert/http.tls_key: %w", err)
		}
		httpTLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	// Store.
	storeCfg := cfg.Store
	if storeCfg.Path == "" {
		storeCfg.Path = sqlstore.DefaultPath(dataDir)
	}
	storeCfg.Path = cfg.Resolve(storeCfg.Path)
	a.store, err = sqlstore.Open(ctx, storeCfg, a.logger)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	a.closers = append(a.closers, a.store.Close)
	if err := a.setupCluster(); err != nil {
		return nil, err
	}

	a.registry = devices.New(devices.Options{Store: a.store, BcryptCost: cfg.MQTT.BcryptCost, Now: a.now, Logger: a.logger,
		OnChange: a.cluster.AnnounceDevice})
	if seed != nil {
		n, err := a.registry.Seed(ctx, seed)
		if err != nil {
			return nil, err
		}
		a.logger.Info("device registry seeded", "created", n, "in_file", len(seed.Devices))
	}

	// Journal and time series.
	a.journal, err = wal.Open(wal.Options{Dir: filepath.Join(dataDir, "journal"), MaxLagBytes: cfg.Pipeline.MaxLagBytes,
		Registerer: a.reg, Logger: a.logger})
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	a.closers = append(a.closers, a.journal.Close)
	so := cfg.Influx.Options()
	so.SpoolDir, so.Registerer, so.Logger = filepath.Join(dataDir, "spool"), a.reg, a.logger
	a.sink, err = influx.New(ctx, so)
	if err != nil {
		return nil, fmt.Errorf("open influx sink: %w", err)
	}
	a.closers = append(a.closers, func() error {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return a.sink.Close(cctx)
	})

	// Cases and rules.
	net := files.network
	if a.cases, a.disp, err = a.setupDispatch(files, dataDir, o.Env); err != nil {
		return nil, err
	}
	if err := a.setupCoverage(ctx, loc, net); err != nil {
		return nil, err
	}
	sup, err := a.setupSupervision(loc, net, dataDir, o.Env)
	if err != nil {
		return nil, err
	}
	a.sup = sup
	opener := &caseOpener{cases: a.cases, sink: a.sink, logger: a.logger, sup: sup}
	if err := a.setupCommands(); err != nil {
		return nil, err
	}
	ruleOpener := &commandOpener{next: opener, cmds: a.cmds.svc, a: a}
	if err := a.setupRules(ctx, catalog, loc, rules.NewRetryingOpener(ruleOpener, rules.RetryOptions{Logger: a.logger})); err != nil {
		return nil, err
	}

	// Broker and pipeline.
	bo := cfg.MQTT.Options()
	bo.TLS, bo.Auth, bo.Devices, bo.Journal = tlsConf, a.registry, a.registry, asyncJournal{a.journal}
	bo.CheckSubscriber = func(hash, password string) bool {
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	}
	bo.Registerer, bo.Logger, bo.Now = a.reg, a.logger, a.now
	bo.Commands, bo.Fanout = a.cmds, &a.fanout
	a.broker, err = gateway.NewBroker(bo)
	if err != nil {
		return nil, err
	}
	a.cmds.broker = a.broker
	if err := a.setupJT808(); err != nil {
		return nil, err
	}
	if err := a.setupBridge(); err != nil {
		return nil, err
	}
	if err := a.setupCameras(ctx, files, opener); err != nil {
		return nil, err
	}
	if cfg.Pipeline.Disabled {
		a.logger.Warn("pipeline disabled: messages are journalled but not decoded, stored or evaluated")
		if a.pipeline, err = gateway.NewDrain(gateway.DrainOptions{Reader: a.journal, Logger: a.logger}); err != nil {
			return nil, err
		}
	} else {
		po := cfg.Pipeline.Options()
		po.Reader, po.Handler, po.Flusher = a.journal, &ingest{sink: a.sink, rules: a.engine, coverage: a.coverage, cams: a.cams, sup: a.sup}, a.flusher()
		if a.coverage != nil {
			po.Holder = a.coverage // coverage credit held for later points is replayed after a crash
		}
		po.DeadLetters, po.Devices, po.Decoder = a.store, a.registry, &payload.Decoder{}
		po.Registerer, po.Logger, po.Now = a.reg, a.logger, a.now
		if a.pipeline, err = gateway.NewPipeline(po); err != nil {
			return nil, err
		}
	}

	// HTTP.
	open311, err := a.open311(catalog)
	if err != nil {
		return nil, err
	}
	a.api, err = api.New(api.Options{
		Workflow: a.workflow(catalog), Open311: open311,
		Open311Keys: a.disp.keys, Tokens: tokens, Cases: a.cases, Devices: a.registry, DeadLetters: a.store, Telemetry: a.sink, Rules: a.rules, Coverage: a.coverageAPI(), Cluster: clusterView{a.cluster}, Commands: a.cmds.svc,
		Console: web.Assets(), CaseCounts: a.store, Lookups: newLookups(a.disp.departments, net, a.cases),
		Plaques: a.cams.plaquesAPI(), CameraPush: a.cams.pushAPI(), Snapshots: a.cams.snapshotsAPI(),
		Ready: map[string]api.Check{
			"store":  a.store.Ping,
			"influx": a.sink.Ready, // a real write and read, cached 5 s
			"broker": func(context.Context) error { return a.broker.Ready() },
			"bridge": a.bridgeReady,
		},
		Gatherer: a.reg, MaxBodyBytes: cfg.HTTP.MaxBodyBytes, Logger: a.logger, Now: a.now,
		Inspections: sup.inspections, Reviews: sup.reviews, Notices: sup.noticesAPI(),
	})
	if err != nil {
		return nil, err
	}
	a.http = &http.Server{Handler: a.api.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10, TLSConfig: httpTLS}
	return a, nil
}

// Registry returns the Prometheus registry of the app (for tests and embedding).
func (a *App) Registry() *prometheus.Registry { return a.reg }

// HTTPAddr returns the address the HTTP server listens on, once Run has started it.
func (a *App) HTTPAddr() string {
	if a.httpLn == nil {
		return ""
	}
	return a.httpLn.Addr().String()
}

// Run starts the broker, pipeline and HTTP server and blocks until ctx is cancelled or a
// component fails; then it shuts down gracefully: stop accepting HTTP and MQTT, drain the
// pipeline, flush InfluxDB and the store.
func (a *App) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.cfg.HTTP.Addr)
	if err != nil {
		a.closeAll()
		return fmt.Errorf("listen http on %s: %w", a.cfg.HTTP.Addr, err)
	}
	a.httpLn = ln
	if err := a.broker.Start(); err != nil {
		ln.Close()
		if cerr := a.broker.Close(); cerr != nil {
			a.logger.Warn("broker close", "err", cerr)
		}
		a.closeAll()
		return err
	}
	a.logger.Info("lanewatch serving", "mqtt", a.cfg.MQTT.Addr, "http", ln.Addr().String())

	// Every component runs as an actor of one group: the first to return (or ctx ending) stops
	// all, and its error is Run's. The interrupts run in the order added, which is the
	// shutdown order of ARCHITECTURE.md: the background loops stop, then HTTP stops accepting,
	// the broker closes (no new publishes), and the pipeline finishes its queues, flushes the
	// sink and commits the journal. Presence, the sink, the journal and the store close after.
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	pipeCtx, stopPipe := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPipe()
	// The shutdown gets 30 s from its start (the first interrupt), not from Run's.
	var (
		sctx    context.Context
		scancel context.CancelFunc = func() {}
	)
	defer func() { scancel() }()
	var g run.Group
	g.Add(func() error { <-runCtx.Done(); return nil }, func(error) {
		a.logger.Info("shutting down")
		sctx, scancel = context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		cancel()
	})
	// loop adds a background component; one that has nothing to do keeps its place until the
	// group stops (an actor returning nil early would stop everything).
	loop := func(name string, fn func(ctx context.Context) error) {
		g.Add(func() error {
			if err := fn(runCtx); err != nil && runCtx.Err() == nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			<-runCtx.Done()
			return nil
		}, func(error) { cancel() })
	}
	loop("presence", a.presenceLoop)
	loop("dispatch", a.runDispatch)
	loop("rules", a.runRules)
	loop("coverage", a.runCoverage)
	loop("cluster", a.runCluster)
	loop("owner notices", a.runNotices)
	loop("commands", a.cmds.svc.Run)
	loop("jt808", a.runJT808)
	loop("bridge", a.runBridge)
	if a.media != nil {
		loop("open311 media", a.media.Run)
	}
	if a.cfg.DebugAddr != "" {
		loop("debug server", func(ctx context.Context) error { return serveDebug(ctx, a.cfg.DebugAddr, a.logger) })
	}
	g.Add(func() error {
		serve := func() error { return a.http.Serve(ln) }
		if a.http.TLSConfig != nil {
			// The certificate was loaded by New, so a missing file fails at start-up.
			serve = func() error { return a.http.ServeTLS(ln, "", "") }
		}
		if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve http: %w", err)
		}
		return nil
	}, func(error) {
		if err := a.http.Shutdown(sctx); err != nil {
			a.logger.Warn("http shutdown", "err", err)
		}
	})
	brokerDone := make(chan struct{})
	g.Add(func() error { <-brokerDone; return nil }, func(error) {
		if err := a.broker.Close(); err != nil {
			a.logger.Warn("broker close", "err", err)
		}
		close(brokerDone)
	})
	g.Add(func() error {
		if err := a.pipeline.Run(pipeCtx); err != nil {
			return fmt.Errorf("pipeline: %w", err)
		}
		return nil
	}, func(error) { stopPipe() })

	runErr := g.Run()
	if runErr != nil {
		a.logger.Error("component failed; shut down", "err", runErr)
	}
	if err := a.registry.FlushPresence(sctx); err != nil {
		a.logger.Warn("flush presence", "err", err)
	}
	a.closeAll()
	a.logger.Info("stopped")
	return runErr
}

// presenceLoop saves device presence every 5 s until ctx ends.
func (a *App) presenceLoop(ctx context.Context) error {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := a.registry.FlushPresence(ctx); err != nil && ctx.Err() == nil {
				a.logger.Warn("flush presence", "err", err)
			}
		}
	}
}

// closeAll closes opened components in reverse order.
func (a *App) closeAll() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		if err := a.closers[i](); err != nil {
			a.logger.Warn("close", "err", err)
		}
	}
	a.closers = nil
}

// apiTokens collects the configured tokens and LANEWATCH_ADMIN_TOKEN.
func apiTokens(cfg *Config, env []string) ([]api.Token, error) {
	get := func(name string) string {
		for _, kv := range env {
			if k, v, ok := strings.Cut(kv, "="); ok && k == name {
				return v
			}
		}
		return ""
	}
	out, err := cfg.HTTP.ResolveTokens(get)
	if err != nil {
		return nil, fmt.Errorf("http.%w", err)
	}
	if v := get("LANEWATCH_ADMIN_TOKEN"); v != "" {
		out = append(out, api.Token{Name: "env-admin", Token: v, Role: "admin"})
	}
	return out, nil
}
