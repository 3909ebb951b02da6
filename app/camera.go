package app

import (
	"context"
	"path/filepath"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/api"
	"github.com/lanewatch/lanewatch/camera"
	"github.com/lanewatch/lanewatch/plaques"
)

// cameraWiring holds the camera and plaque components.
type cameraWiring struct {
	svc     *camera.Service
	pusher  *camera.Pusher
	plaques *plaques.Service
}

// setupCameras builds the camera incident step, the vendor push receiver (which injects into
// the broker's journal, so it must run after the broker exists) and the plaque service; it
// lets opener attach incident snapshots to the cases rules open.
func (a *App) setupCameras(ctx context.Context, files *files, opener *caseOpener) error {
	cfg := files.cameras // read and validated by loadFiles
	def, per := cfg.Grouping()
	tracker, err := camera.NewTracker(camera.TrackerOptions{Store: a.store, Default: def, PerType: per, Logger: a.logger})
	if err != nil {
		return err
	}
	n, err := tracker.Load(ctx, a.now())
	if err != nil {
		return err
	}
	f := cfg.Snapshots.Fetch
	snaps, err := camera.NewSnapshots(camera.SnapshotsOptions{Dir: filepath.Join(a.cfg.Resolve(a.cfg.DataDir), "snapshots"),
		MaxBytes: cfg.Snapshots.MaxBytes, Now: a.now,
		Fetch: camera.FetchOptions{Enabled: f.Enabled, AllowHosts: f.AllowHosts, Timeout: time.Duration(f.Timeout)}})
	if err != nil {
		return err
	}
	w := &cameraWiring{}
	if w.svc, err = camera.NewService(camera.ServiceOptions{Config: cfg, Tracker: tracker, Snapshots: snaps, Attacher: a.store, Logger: a.logger}); err != nil {
		return err
	}
	if w.pusher, err = camera.NewPusher(camera.PushOptions{Config: cfg, Injector: a.broker, Registerer: a.reg, Logger: a.logger, Now: a.now}); err != nil {
		return err
	}
	if pcfg := files.plaques; pcfg != nil {
		if w.plaques, err = plaques.New(plaques.Options{Config: pcfg, Opener: a.cases, Store: a.store, Photos: snaps,
			DeadLetters: a.store, DeadLetterKeep: a.cfg.Pipeline.DeadLetterKeep,
			DistrictName: func(id string) string { return a.cases.Districts().Name(id, "zh") },
			Registerer:   a.reg, Logger: a.logger, Now: a.now, OnChange: a.cluster.AnnouncePlaques}); err != nil {
			return err
		}
		if _, err := w.plaques.Load(ctx); err != nil {
			return err
		}
	}
	opener.camera = w.svc
	a.cams = w
	a.logger.Info("cameras ready", "cameras", len(cfg.Cameras), "open_incidents", n, "plaques", w.plaques != nil)
	return nil
}

// cameraStep runs the camera and plaque steps of ingest before the rules: camera detections
// join their incident (annotating the message), plaque report scans open cases.
func (w *cameraWiring) step(ctx context.Context, msg *lanewatch.Message, dev *lanewatch.Device) error {
	if w == nil {
		return nil
	}
	switch {
	case msg.Kind == lanewatch.KindCamera && msg.Camera != nil:
		return w.svc.Handle(ctx, dev.ID, msg.Camera)
	case msg.Kind == lanewatch.KindPlaque && msg.Scan != nil && w.plaques != nil:
		return w.plaques.HandleScan(ctx, dev.ID, msg.Scan)
	}
	return nil
}

// pushAPI, snapshotsAPI and plaquesAPI return the API's services, as nil interfaces when absent.
func (w *cameraWiring) pushAPI() api.CameraPush {
	if w == nil || w.pusher == nil {
		return nil
	}
	return w.pusher
}

func (w *cameraWiring) snapshotsAPI() api.Snapshots {
	if w == nil || w.svc == nil {
		return nil
	}
	return w.svc.Snapshots()
}

func (w *cameraWiring) plaquesAPI() api.Plaques {
	if w == nil || w.plaques == nil {
		return nil
	}
	return w.plaques
}
