package plaques

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/camera"
	"github.com/lanewatch/lanewatch/store/sqlstore"
)

// openRegistry opens the SQLite store at path and a Service over the YAML seed, loaded.
func openRegistry(t *testing.T, ctx context.Context, path string) (*Service, *sqlstore.Store) {
	t.Helper()
	st, err := sqlstore.OpenSQLite(ctx, sqlstore.SQLiteOptions{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig("../configs/plaques.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	photos, err := camera.NewSnapshots(camera.SnapshotsOptions{Dir: t.TempDir(), MaxBytes: 32 << 10})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Options{Config: cfg, Opener: &fakeOpener{}, Store: st, Photos: photos, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	return svc, st
}

func TestRegistryPersistsAcrossReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	svc, st := openRegistry(t, ctx, path)
	all, _, _ := svc.List(ctx, 0, "")
	seed := len(all)
	if seed == 0 {
		t.Fatal("seed not loaded")
	}

	created, err := svc.Create(ctx, Plaque{ID: "pl-new", Address: "岐关西路 1 号", District: "xiqu", Lat: 26, Lon: 119,
		Party: Party{Name: "新店", Contact: "13700001111", Department: "xiqu-office", Duties: []string{"门前市容整洁"}}})
	if err != nil || created.ID != "pl-new" {
		t.Fatalf("create: %v %v", created, err)
	}
	upd := Plaque{Address: "岐关西路 88 号（迁址）", District: "xiqu", Lat: 22.5156, Lon: 113.3716944,
		Party: Party{Name: "鑫源副食店", Contact: "13812345678", Department: "xiqu-office"}}
	if _, err := svc.Update(ctx, "pl-001", upd); err != nil {
		t.Fatal(err)
	}
	if err := svc.Delete(ctx, "pl-002"); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopen with the same YAML seed: the API's changes win, the deleted seed plaque stays deleted.
	svc, st = openRegistry(t, ctx, path)
	defer st.Close()
	if p, err := svc.Get(ctx, "pl-new"); err != nil || p.Party.Contact != "137****1111" {
		t.Fatalf("created plaque after reopen: %+v %v", p, err)
	}
	if p, err := svc.Get(ctx, "pl-001"); err != nil || p.Address != "岐关西路 88 号（迁址）" || len(p.Party.Duties) != 0 {
		t.Fatalf("updated plaque after reopen: %+v %v", p, err)
	}
	if _, err := svc.Get(ctx, "pl-002"); lanewatch.ErrorCode(err) != lanewatch.ENotFound {
		t.Fatalf("deleted plaque after reopen: %v", err)
	}
	all, _, _ = svc.List(ctx, 0, "")
	if len(all) != seed {
		t.Fatalf("after reopen %d plaques, want %d (seed - 1 + 1)", len(all), seed)
	}
	// A deleted id can be created again.
	if _, err := svc.Create(ctx, Plaque{ID: "pl-002", Address: "x", District: "d", Party: Party{Name: "n", Department: "dep"}}); err != nil {
		t.Fatal(err)
	}
}

func TestRegistryRefusals(t *testing.T) {
	ctx := context.Background()
	svc, st := openRegistry(t, ctx, filepath.Join(t.TempDir(), "db.sqlite"))
	defer st.Close()
	_, err := svc.Create(ctx, Plaque{ID: "bad id"})
	if lanewatch.ErrorCode(err) != lanewatch.EInvalid {
		t.Fatalf("invalid create: %v", err)
	}
	for _, field := range []string{"id:", "address: required", "district: required", "party.name: required", "party.department: required"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error %q does not name %q", err, field)
		}
	}
	if _, err := svc.Create(ctx, Plaque{ID: "pl-001", Address: "x", District: "d", Party: Party{Name: "n", Department: "dep"}}); lanewatch.ErrorCode(err) != lanewatch.EConflict {
		t.Fatalf("duplicate create: %v", err)
	}
	if _, err := svc.Update(ctx, "pl-001", Plaque{ID: "pl-002", Address: "x", District: "d", Party: Party{Name: "n", Department: "dep"}}); lanewatch.ErrorCode(err) != lanewatch.EInvalid {
		t.Fatalf("update changing id: %v", err)
	}
	if _, err := svc.Update(ctx, "nope", Plaque{Address: "x", District: "d", Party: Party{Name: "n", Department: "dep"}}); lanewatch.ErrorCode(err) != lanewatch.ENotFound {
		t.Fatalf("update unknown: %v", err)
	}
	if err := svc.Delete(ctx, "nope"); lanewatch.ErrorCode(err) != lanewatch.ENotFound {
		t.Fatalf("delete unknown: %v", err)
	}
	// A list page and its cursor.
	page, next, _ := svc.List(ctx, 2, "")
	rest, last, _ := svc.List(ctx, 0, next)
	if len(page) != 2 || next != page[1].ID || last != "" || rest[0].ID <= next {
		t.Fatalf("pages: %v %q %v %q", page, next, rest, last)
	}
}
