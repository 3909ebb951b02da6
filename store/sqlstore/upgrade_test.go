package sqlstore_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/camera"
	"github.com/lanewatch/lanewatch/internal/testenv"
	"github.com/lanewatch/lanewatch/plaques"
	"github.com/lanewatch/lanewatch/store"
	"github.com/lanewatch/lanewatch/store/sqlstore"
)

// The fixtures in testdata/upgrade were written by the code of commit 62c5b4e, which kept
// plaques, report scans, rule-set versions and camera incidents as rows of `states`
// (testdata/upgrade/mkfixture says how): a SQLite file and a pg_dump of a PostgreSQL database.
// Opening them migrates them (versions 7 and 8); every moved entity must be in its table with
// its fields, the moved `states` rows gone and the rule-state rows kept.

func TestUpgradeFromMainSQLite(t *testing.T) {
	b, err := os.ReadFile("testdata/upgrade/main-62c5b4e.db")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "lanewatch.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := sqlstore.OpenSQLite(t.Context(), sqlstore.SQLiteOptions{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkUpgraded(t, s)
}

func TestUpgradeFromMainPostgres(t *testing.T) {
	dsn := testenv.Postgres(t)
	restoreDump(t, dsn, "testdata/upgrade/main-62c5b4e.pg.sql")
	s, err := sqlstore.OpenPostgres(t.Context(), sqlstore.PostgresOptions{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkUpgraded(t, s)
}

// restoreDump runs a plain pg_dump file (made with --inserts) on the database, leaving out
// psql's meta-commands (\restrict ...).
func restoreDump(t *testing.T, dsn, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var sqlText strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); !strings.HasPrefix(line, `\`) {
			sqlText.WriteString(line + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(t.Context()))
	if _, err := conn.Exec(t.Context(), sqlText.String()); err != nil {
		t.Fatalf("restore %s: %v", file, err)
	}
}

// fixtureT0 is the time the fixture program started from.
func fixtureT0() time.Time { return time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC) }

func checkUpgraded(t *testing.T, s store.Store) {
	ctx := t.Context()

	// Plaques: the seed of that commit, pl-001 updated, pl-002 deleted (a tombstone), pl-new
	// created through the API.
	ps, err := s.ListPlaques(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ps {
		if ps[i].UpdatedAt.IsZero() {
			t.Errorf("plaque %s: zero UpdatedAt", ps[i].ID)
		}
		ps[i].UpdatedAt = time.Time{}
	}
	wantPlaques := []store.Plaque{
		{ID: "pl-001", Address: "东街 88 号（迁址）", District: "gudong", Lat: 26.0856, Lon: 119.2966,
			PartyName: "鑫源副食店", PartyContact: "13812345678", PartyDepartment: "gudong-office"},
		{ID: "pl-002", Deleted: true},
		{ID: "pl-003", Address: "鼓楼区 南街 5 号 南街社区服务站", District: "nanjie", Lat: 26.0791, Lon: 119.2991,
			PartyName: "南街社区服务站", PartyContact: "0591-8765432", PartyDepartment: "nanjie-office",
			PartyDuties: []string{"门前市容整洁", "门前环境卫生"}},
		{ID: "pl-004", Address: "鼓楼区 华林路 200 号 华林餐厅", District: "hualin", Lat: 26.0921, Lon: 119.2881,
			PartyName: "华林餐厅", PartyContact: "13700001111", PartyDepartment: "hualin-office",
			PartyDuties: []string{"门前市容整洁", "门前环境卫生", "门前秩序（不得占道经营）"}},
		{ID: "pl-new", Address: "东街 1 号", District: "gudong", Lat: 26.08, Lon: 119.29,
			PartyName: "新店", PartyContact: "13700001111", PartyDepartment: "gudong-office",
			PartyDuties: []string{"门前市容整洁", "门前秩序"}},
	}
	if !reflect.DeepEqual(ps, wantPlaques) {
		t.Errorf("plaques:\n got %+v\nwant %+v", ps, wantPlaques)
	}
	if id, err := s.GetPlaqueReport(ctx, "pl-003", "scan-42"); err != nil || id != "1" {
		t.Errorf("report of pl-003 scan-42 = %q, %v; want case 1", id, err)
	}

	// Rule-set versions: two loads of configs/rules/vehicles.yaml, the second with a comment.
	vs, err := s.ListRuleVersions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 {
		t.Fatalf("rule versions = %+v, want 2", vs)
	}
	for i, want := range []struct {
		id, hash, actor string
		at              time.Time
		tail            string
	}{
		{"00000001", "45b744d66d74834fd0dda83497e0836fa5b1226e04db6a12c4e0ffd9561aa219", "startup", fixtureT0().Add(time.Hour), ""},
		{"00000002", "6ba18cef43f1975bd2bf8439366ad82806deb85016e676363c80641bc32bfba8", "alice", fixtureT0().Add(2 * time.Hour), "# tuned\n"},
	} {
		v := vs[i]
		if v.ID != want.id || v.Hash != want.hash || v.Actor != want.actor || !v.At.Equal(want.at) || v.Rules != 5 || len(v.Files) != 1 {
			t.Errorf("version %d = %s %s %s %v %d rules %d files; want %+v", i, v.ID, v.Hash, v.Actor, v.At, v.Rules, len(v.Files), want)
		}
		for name, content := range v.Files {
			if filepath.Base(name) != "vehicles.yaml" || !strings.Contains(content, "groups:") || !strings.HasSuffix(content, want.tail) {
				t.Errorf("version %s file %s: %.60q...", v.ID, name, content)
			}
		}
	}

	// Camera incidents.
	is, err := s.ListIncidents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantIncidents := []store.Incident{
		{ID: "inc-71cdac98076bbbfc", CameraID: "cam-1", Type: "street_vending", Category: "0504", RegionID: "r-1",
			BBox: [4]float64{0.1, 0.2, 0.3, 0.4}, HasBBox: true, FirstSeen: fixtureT0(), LastSeen: fixtureT0().Add(10 * time.Minute),
			Detections: 2, BestConfidence: 0.9,
			FirstSnapshot:  []byte(`{"sha256":"aa","url":"/snapshots/aa.jpg","content_type":"image/jpeg","size":1234,"at":"2025-06-01T09:00:00Z"}`),
			LatestSnapshot: []byte(`{"sha256":"bb","url":"/snapshots/bb.jpg","content_type":"image/jpeg","size":2345,"at":"2025-06-01T09:10:00Z"}`),
			Recent:         []string{"e1", "e2"}},
		{ID: "inc-e4f7193d2f596c97", CameraID: "cam-2", Type: "garbage_overflow", Category: "0101",
			FirstSeen: fixtureT0().Add(5 * time.Minute), LastSeen: fixtureT0().Add(5 * time.Minute), Detections: 1,
			BestConfidence: 0.75, Recent: []string{"e3"}},
	}
	if !reflect.DeepEqual(is, wantIncidents) {
		t.Errorf("incidents:\n got %+v\nwant %+v", is, wantIncidents)
	}

	// The moved rows are gone; rule state stays.
	states, err := s.ListStates(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	wantStates := map[string][]byte{
		"rules/state/brush_off/sw-001": []byte(`{"active_at":"2025-06-01T09:00:00Z"}`),
		"rules/state/idle/sw-002":      []byte(`{"last":"2025-06-01T09:05:00Z"}`),
	}
	if !reflect.DeepEqual(states, wantStates) {
		t.Errorf("states after upgrade = %q, want only the rule state %q", states, wantStates)
	}

	// The packages read the moved data: the registry loads (the deleted seed plaque stays
	// deleted) and the camera tracker restores the incidents.
	checkConsumers(t, s)
}

func checkConsumers(t *testing.T, s store.Store) {
	ctx := t.Context()
	cfg, err := plaques.LoadConfig("../../configs/plaques.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	photos, err := camera.NewSnapshots(camera.SnapshotsOptions{Dir: t.TempDir(), MaxBytes: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := plaques.New(plaques.Options{Config: cfg, Opener: nopOpener{}, Store: s, Photos: photos})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Lookup(ctx, "pl-002"); err == nil {
		t.Error("deleted plaque pl-002 is back after the upgrade")
	}
	if p, err := svc.Lookup(ctx, "pl-001"); err != nil || p.Address != "东街 88 号（迁址）" {
		t.Errorf("pl-001 = %+v, %v; want the updated address", p, err)
	}
	tr, err := camera.NewTracker(camera.TrackerOptions{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := tr.Load(ctx, fixtureT0().Add(11*time.Minute)); err != nil || n != 2 {
		t.Errorf("tracker restored %d incidents, %v; want 2", n, err)
	}
	if inc, ok := tr.Get("inc-71cdac98076bbbfc"); !ok || inc.First == nil || inc.First.SHA256 != "aa" || inc.Latest.Size != 2345 {
		t.Errorf("restored incident = %+v", inc)
	}
}

// nopOpener opens no case.
type nopOpener struct{}

func (nopOpener) Open(_ context.Context, c *lanewatch.Case, _ string) (*lanewatch.Case, bool, error) {
	return c, true, nil
}

var _ plaques.Opener = nopOpener{}
