// Command mkfixture writes the upgrade-test fixtures of store/sqlstore with the code of commit
// 62c5b4e (before plaques, rule versions and camera incidents had tables). Run it in a
// worktree of that commit:
//
//	git worktree add /tmp/oldmain 62c5b4e
//	mkdir -p /tmp/oldmain/cmd/mkfixture && cp main.go /tmp/oldmain/cmd/mkfixture/
//	cd /tmp/oldmain && go run ./cmd/mkfixture -sqlite /tmp/old.db            # SQLite file
//	cd /tmp/oldmain && go run ./cmd/mkfixture -postgres 'postgres://...'     # then pg_dump
//
// It seeds the plaque registry from configs/plaques.yaml, creates, updates and deletes a
// plaque, handles a report scan, records two rule-set versions, persists two camera incidents
// and writes two rule-state rows, all through the old packages.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/camera"
	"github.com/lanewatch/lanewatch/plaques"
	"github.com/lanewatch/lanewatch/rules"
	"github.com/lanewatch/lanewatch/store"
	"github.com/lanewatch/lanewatch/store/postgres"
	"github.com/lanewatch/lanewatch/store/sqlite"

	"github.com/prometheus/client_golang/prometheus"
)

type opener struct{ s store.Store }

func (o opener) Open(ctx context.Context, c *lanewatch.Case, _ string) (*lanewatch.Case, bool, error) {
	c.Status = lanewatch.StatusReported
	if c.CreatedAt.IsZero() {
		c.CreatedAt, c.UpdatedAt = t0, t0
	}
	return o.s.CreateCase(ctx, c)
}

type ruleOpener struct{}

func (ruleOpener) OpenRuleCase(context.Context, rules.Firing) error { return nil }

var t0 = time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)

func main() {
	sqlitePath := flag.String("sqlite", "", "SQLite file to write")
	dsn := flag.String("postgres", "", "PostgreSQL database to write")
	flag.Parse()
	ctx := context.Background()
	var (
		st  store.Store
		err error
	)
	if *dsn != "" {
		st, err = postgres.Open(ctx, postgres.Options{DSN: *dsn})
	} else {
		st, err = sqlite.Open(ctx, sqlite.Options{Path: *sqlitePath})
	}
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	// Plaques: the seed, one created, one updated, one deleted, one report scan.
	cfg, err := plaques.LoadConfig("configs/plaques.yaml", nil)
	if err != nil {
		log.Fatal(err)
	}
	dir, _ := os.MkdirTemp("", "mkfixture")
	defer os.RemoveAll(dir)
	photos, err := camera.NewSnapshots(camera.SnapshotsOptions{Dir: dir, MaxBytes: 1 << 20})
	if err != nil {
		log.Fatal(err)
	}
	ps, err := plaques.New(plaques.Options{Config: cfg, Opener: opener{st}, Store: st, Photos: photos,
		Now: func() time.Time { return t0 }})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := ps.Load(ctx); err != nil {
		log.Fatal(err)
	}
	if _, err := ps.Create(ctx, plaques.Plaque{ID: "pl-new", Address: "东街 1 号", District: "gudong", Lat: 26.08, Lon: 119.29,
		Party: plaques.Party{Name: "新店", Contact: "13700001111", Department: "gudong-office", Duties: []string{"门前市容整洁", "门前秩序"}}}); err != nil {
		log.Fatal(err)
	}
	if _, err := ps.Update(ctx, "pl-001", plaques.Plaque{Address: "东街 88 号（迁址）", District: "gudong", Lat: 26.0856, Lon: 119.2966,
		Party: plaques.Party{Name: "鑫源副食店", Contact: "13812345678", Department: "gudong-office"}}); err != nil {
		log.Fatal(err)
	}
	if err := ps.Delete(ctx, "pl-002"); err != nil {
		log.Fatal(err)
	}
	if err := ps.HandleScan(ctx, "pl-003", &lanewatch.PlaqueScan{ScanID: "scan-42", TS: t0, Action: "report",
		Category: "9101", Description: "门前堆物"}); err != nil {
		log.Fatal(err)
	}

	// Rule-set versions: two loads of a rule directory.
	rdir, _ := os.MkdirTemp("", "mkfixture-rules")
	defer os.RemoveAll(rdir)
	src, err := os.ReadFile("configs/rules/vehicles.yaml")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rdir, "vehicles.yaml"), src, 0o600); err != nil {
		log.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	eng, err := rules.NewEngine(rules.EngineOptions{Opener: ruleOpener{}, Registerer: reg})
	if err != nil {
		log.Fatal(err)
	}
	now := t0
	m, err := rules.NewManager(rules.ManagerOptions{Engine: eng, Paths: []string{rdir}, States: st, Registerer: reg,
		Load: rules.LoadOptions{Location: time.UTC}, Now: func() time.Time { now = now.Add(time.Hour); return now }})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := m.Reload(ctx, "startup"); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rdir, "vehicles.yaml"), append(src, []byte("# tuned\n")...), 0o600); err != nil {
		log.Fatal(err)
	}
	if _, err := m.Reload(ctx, "alice"); err != nil {
		log.Fatal(err)
	}

	// Camera incidents: one with two detections and snapshots, one bare.
	tr, err := camera.NewTracker(camera.TrackerOptions{Store: st})
	if err != nil {
		log.Fatal(err)
	}
	box := [4]float64{0.1, 0.2, 0.3, 0.4}
	s1 := &camera.Snapshot{SHA256: "aa", URL: "/snapshots/aa.jpg", ContentType: "image/jpeg", Size: 1234, At: t0}
	for i, ev := range []*camera.Event{
		{CameraID: "cam-1", EventID: "e1", TS: t0, Type: "street_vending", Category: "0504", Confidence: 0.6, BBox: box, HasBBox: true, RegionID: "r-1"},
		{CameraID: "cam-1", EventID: "e2", TS: t0.Add(10 * time.Minute), Type: "street_vending", Category: "0504", Confidence: 0.9, BBox: box, HasBBox: true, RegionID: "r-1"},
		{CameraID: "cam-2", EventID: "e3", TS: t0.Add(5 * time.Minute), Type: "garbage_overflow", Category: "0101", Confidence: 0.75},
	} {
		var snap *camera.Snapshot
		if i < 2 {
			snap = s1
			if i == 1 {
				snap = &camera.Snapshot{SHA256: "bb", URL: "/snapshots/bb.jpg", ContentType: "image/jpeg", Size: 2345, At: ev.TS}
			}
		}
		if _, err := tr.Observe(ctx, ev, snap); err != nil {
			log.Fatal(err)
		}
	}

	// Rule state stays key-value.
	for k, v := range map[string]string{
		"rules/state/brush_off/sw-001": `{"active_at":"2025-06-01T09:00:00Z"}`,
		"rules/state/idle/sw-002":      `{"last":"2025-06-01T09:05:00Z"}`,
	} {
		if err := st.PutState(ctx, k, []byte(v)); err != nil {
			log.Fatal(err)
		}
	}
	log.Print("fixture written")
}
