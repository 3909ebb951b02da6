package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// testPlaques checks the plaque registry: upsert, seeding that never overwrites (tombstones
// included), order, nil and empty duties kept apart, and report scans.
func testPlaques(t *testing.T, s store.Store) {
	ctx := context.Background()
	if ps, err := s.ListPlaques(ctx); err != nil || len(ps) != 0 {
		t.Fatalf("empty ListPlaques = %v, %v", ps, err)
	}
	b := store.Plaque{ID: "P-b", Address: "1 Road", District: "xuhui", Lat: 31.2, Lon: 121.4,
		PartyName: "Shop", PartyContact: "13800000000", PartyDepartment: "grid-1",
		PartyDuties: []string{"clean", "order"}, UpdatedAt: at(0)}
	must(t, s.PutPlaque(ctx, b))
	created, err := s.SeedPlaque(ctx, store.Plaque{ID: "P-b", Address: "seed", UpdatedAt: at(time.Second)})
	must(t, err)
	if created {
		t.Error("SeedPlaque over a stored plaque: created")
	}
	created, err = s.SeedPlaque(ctx, store.Plaque{ID: "P-a", Address: "2 Road", UpdatedAt: at(time.Second)})
	must(t, err)
	if !created {
		t.Error("SeedPlaque of a new id: not created")
	}
	// A tombstone is not re-seeded.
	must(t, s.PutPlaque(ctx, store.Plaque{ID: "P-c", Deleted: true, UpdatedAt: at(2 * time.Second)}))
	if created, err := s.SeedPlaque(ctx, store.Plaque{ID: "P-c", Address: "back"}); err != nil || created {
		t.Errorf("SeedPlaque over a tombstone: %v, %v", created, err)
	}
	ps, err := s.ListPlaques(ctx)
	must(t, err)
	if len(ps) != 3 || ps[0].ID != "P-a" || ps[1].ID != "P-b" || ps[2].ID != "P-c" {
		t.Fatalf("ListPlaques = %+v", ps)
	}
	if !reflect.DeepEqual(ps[1], b) || ps[1].UpdatedAt.Location() != time.UTC {
		t.Errorf("P-b = %+v, want %+v", ps[1], b)
	}
	if !ps[2].Deleted || ps[0].Deleted || ps[0].PartyDuties != nil {
		t.Errorf("P-a %+v, P-c %+v", ps[0], ps[2])
	}
	// An update replaces every field.
	b.Address, b.PartyDuties, b.UpdatedAt = "3 Road", []string{}, at(time.Minute)
	must(t, s.PutPlaque(ctx, b))
	ps, err = s.ListPlaques(ctx)
	must(t, err)
	if !reflect.DeepEqual(ps[1], b) {
		t.Errorf("updated P-b = %+v, want %+v", ps[1], b)
	}

	_, err = s.GetPlaqueReport(ctx, "P-a", "scan-1")
	wantCode(t, err, lanewatch.ENotFound)
	must(t, s.PutPlaqueReport(ctx, "P-a", "scan-1", "17", at(0)))
	if id, err := s.GetPlaqueReport(ctx, "P-a", "scan-1"); err != nil || id != "17" {
		t.Errorf("GetPlaqueReport = %q, %v", id, err)
	}
	_, err = s.GetPlaqueReport(ctx, "P-b", "scan-1")
	wantCode(t, err, lanewatch.ENotFound)
}

// testRuleVersions checks the rule-set history: round trip with files, order, pruning.
func testRuleVersions(t *testing.T, s store.Store) {
	ctx := context.Background()
	if vs, err := s.ListRuleVersions(ctx); err != nil || len(vs) != 0 {
		t.Fatalf("empty ListRuleVersions = %v, %v", vs, err)
	}
	want := []store.RuleVersion{}
	for i, id := range []string{"00000001", "00000002", "00000003"} {
		v := store.RuleVersion{ID: id, Hash: "h" + id, At: at(time.Duration(i) * time.Hour), Actor: "op",
			Rules: i + 1, Files: map[string]string{"a.yaml": "rules: " + id, "b.yaml": "x"}}
		must(t, s.PutRuleVersion(ctx, v, 2))
		want = append(want, v)
	}
	vs, err := s.ListRuleVersions(ctx)
	must(t, err)
	if !reflect.DeepEqual(vs, want[1:]) {
		t.Fatalf("ListRuleVersions = %+v, want the newest two %+v", vs, want[1:])
	}
	if vs[0].At.Location() != time.UTC {
		t.Errorf("At in %v, want UTC", vs[0].At.Location())
	}
	// keep <= 0 keeps everything; an empty file set round-trips as empty.
	must(t, s.PutRuleVersion(ctx, store.RuleVersion{ID: "00000004", Hash: "h4", At: at(0)}, 0))
	vs, err = s.ListRuleVersions(ctx)
	must(t, err)
	if len(vs) != 3 || vs[2].ID != "00000004" || len(vs[2].Files) != 0 {
		t.Errorf("after keep 0: %+v", vs)
	}
}

// testIncidents checks the camera incidents: upsert, order, optional snapshots, delete.
func testIncidents(t *testing.T, s store.Store) {
	ctx := context.Background()
	if is, err := s.ListIncidents(ctx); err != nil || len(is) != 0 {
		t.Fatalf("empty ListIncidents = %v, %v", is, err)
	}
	full := store.Incident{ID: "inc-b", CameraID: "cam-1", Type: "illegal_parking", Category: "0504",
		RegionID: "r-1", BBox: [4]float64{0.1, 0.2, 0.3, 0.4}, HasBBox: true, FirstSeen: at(0),
		LastSeen: at(time.Minute), Detections: 3, BestConfidence: 0.9,
		FirstSnapshot: []byte(`{"url":"a"}`), LatestSnapshot: []byte(`{"url":"b"}`),
		Recent: []string{"e1", "e2"}, CaseIDs: []string{"5"}}
	bare := store.Incident{ID: "inc-a", CameraID: "cam-2", Type: "garbage", FirstSeen: at(0), LastSeen: at(0),
		Recent: []string{}}
	must(t, s.PutIncident(ctx, full))
	must(t, s.PutIncident(ctx, bare))
	is, err := s.ListIncidents(ctx)
	must(t, err)
	if len(is) != 2 || !reflect.DeepEqual(is[0], bare) || !reflect.DeepEqual(is[1], full) {
		t.Fatalf("ListIncidents = %+v", is)
	}
	full.Detections, full.LatestSnapshot, full.LastSeen = 4, nil, at(2*time.Minute)
	must(t, s.PutIncident(ctx, full))
	must(t, s.DeleteIncident(ctx, "inc-a"))
	must(t, s.DeleteIncident(ctx, "absent"))
	is, err = s.ListIncidents(ctx)
	must(t, err)
	if len(is) != 1 || !reflect.DeepEqual(is[0], full) {
		t.Fatalf("after update and delete: %+v, want %+v", is, full)
	}
}
