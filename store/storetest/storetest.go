package storetest

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// Run runs the whole contract suite. Every subtest calls open for a fresh, empty store; open
// must arrange (with t.Cleanup) for the store to be closed when the subtest ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Ping", testPing},
		{"Devices/CRUD", testDeviceCRUD},
		{"Devices/Conflict", testDeviceConflict},
		{"Devices/NotFound", testDeviceNotFound},
		{"Devices/Presence", testDevicePresence},
		{"Devices/Pagination", testDevicePagination},
		{"Devices/Filters", testDeviceFilters},
		{"Cases/CreateGetRoundTrip", testCaseRoundTrip},
		{"Cases/TimesUTC", testCaseTimesUTC},
		{"Cases/NotFound", testCaseNotFound},
		{"Cases/RuleUniqueness", testRuleUniqueness},
		{"Cases/RuleConcurrent", testRuleConcurrent},
		{"Cases/UpdateConditional", testUpdateConditional},
		{"Cases/UpdateConcurrent", testUpdateConcurrent},
		{"Cases/Deferral", testDeferral},
		{"Cases/TimelineOrder", testTimelineOrder},
		{"Cases/Attachments", testAttachments},
		{"Cases/Rating", testRating},
		{"Cases/ListWithHistory", testListWithHistory},
		{"Cases/ListFilters", testCaseFilters},
		{"Cases/Pagination", testCasePagination},
		{"Cases/Count", testCount},
		{"Cases/ListSorts", testCaseSorts},
		{"Cases/ListInserts", testCaseListInserts},
		{"Cases/ListCounts", testCaseCounts},
		{"Cases/ListSearch", testCaseSearch},
		{"Cases/ListUpdatedSince", testCaseUpdatedSince},
		{"Cases/ListSourceCamera", testCaseSourceCamera},
		{"DeadLetters/TrimAndOrder", testDeadLetters},
		{"DeadLetters/Text", testDeadLetterText},
		{"States", testStates},
		{"Outbox", testOutbox},
		{"Coverage", testCoverage},
		{"Nodes", testNodes},
		{"Plaques", testPlaques},
		{"RuleVersions", testRuleVersions},
		{"Incidents", testIncidents},
		{"Supervision/Visits", testVisits},
		{"Supervision/Reviews", testReviews},
		{"Supervision/Notices", testNotices},
		{"Commands", testCommands},
		{"Commands/Race", testCommandRace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

// base is a UTC time with millisecond precision, the precision every store keeps.
var base = time.Date(2025, 3, 14, 8, 30, 15, 123_000_000, time.UTC)

func at(d time.Duration) time.Time { return base.Add(d) }

func ptr[T any](v T) *T { return &v }

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := lanewatch.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (err %v), want %q", got, err, code)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func testPing(t *testing.T, s store.Store) {
	must(t, s.Ping(t.Context()))
}

// ---- devices ----

func device(id string) *lanewatch.Device {
	return &lanewatch.Device{
		ID:           id,
		Type:         lanewatch.DeviceSweeper,
		District:     "xuhui",
		Contractor:   "acme",
		Plate:        "沪A12345",
		Tags:         map[string]string{"model": "X9", "depot": "north"},
		PasswordHash: "$2a$10$hash-" + id,
		CreatedAt:    at(0),
		UpdatedAt:    at(0),
	}
}

func testDeviceCRUD(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := device("sw-001")
	d.Online = true
	d.LastSeen = ptr(at(time.Minute))
	must(t, s.CreateDevice(ctx, d))
	got, err := s.GetDevice(ctx, "sw-001")
	must(t, err)
	if !reflect.DeepEqual(got, d) {
		t.Fatalf("GetDevice:\n got %+v\nwant %+v", got, d)
	}

	// Nil tags come back as an empty, non-nil map.
	bare := &lanewatch.Device{ID: "cam-1", Type: lanewatch.DeviceCamera, CreatedAt: at(0), UpdatedAt: at(0)}
	must(t, s.CreateDevice(ctx, bare))
	got, err = s.GetDevice(ctx, "cam-1")
	must(t, err)
	if got.Tags == nil || len(got.Tags) != 0 || got.LastSeen != nil || got.Online {
		t.Fatalf("bare device = %+v, want empty non-nil tags, no last seen, offline", got)
	}

	// Update without a password hash keeps the old one.
	upd := &lanewatch.Device{ID: "sw-001", Type: lanewatch.DeviceWasher, District: "minhang",
		Contractor: "other", Plate: "沪B1", Tags: map[string]string{"k": "v"}, UpdatedAt: at(time.Hour)}
	must(t, s.UpdateDevice(ctx, upd))
	got, err = s.GetDevice(ctx, "sw-001")
	must(t, err)
	want := *d
	want.Type, want.District, want.Contractor, want.Plate = upd.Type, upd.District, upd.Contractor, upd.Plate
	want.Tags, want.UpdatedAt = upd.Tags, upd.UpdatedAt
	if !reflect.DeepEqual(got, &want) {
		t.Fatalf("after update:\n got %+v\nwant %+v", got, &want)
	}
	// Update with a hash replaces it; nil tags become empty.
	upd.PasswordHash, upd.Tags = "$2a$10$new", nil
	must(t, s.UpdateDevice(ctx, upd))
	got, err = s.GetDevice(ctx, "sw-001")
	must(t, err)
	if got.PasswordHash != "$2a$10$new" || got.Tags == nil || len(got.Tags) != 0 {
		t.Fatalf("after second update: hash %q tags %v", got.PasswordHash, got.Tags)
	}

	must(t, s.DeleteDevice(ctx, "sw-001"))
	_, err = s.GetDevice(ctx, "sw-001")
	wantCode(t, err, lanewatch.ENotFound)
	if _, err := s.GetDevice(ctx, "cam-1"); err != nil {
		t.Fatalf("other device gone after delete: %v", err)
	}
}

func testDeviceConflict(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateDevice(ctx, device("dup")))
	again := device("dup")
	again.District = "changed"
	wantCode(t, s.CreateDevice(ctx, again), lanewatch.EConflict)
	got, err := s.GetDevice(ctx, "dup")
	must(t, err)
	if got.District != "xuhui" {
		t.Fatalf("conflicting create changed the device: district %q", got.District)
	}
}

func testDeviceNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.GetDevice(ctx, "nope")
	wantCode(t, err, lanewatch.ENotFound)
	wantCode(t, s.UpdateDevice(ctx, device("nope")), lanewatch.ENotFound)
	wantCode(t, s.DeleteDevice(ctx, "nope"), lanewatch.ENotFound)
}

func testDevicePresence(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateDevice(ctx, device("p1")))
	must(t, s.SetPresence(ctx, "p1", true, at(time.Minute)))
	got, err := s.GetDevice(ctx, "p1")
	must(t, err)
	if !got.Online || got.LastSeen == nil || !got.LastSeen.Equal(at(time.Minute)) || got.LastSeen.Location() != time.UTC {
		t.Fatalf("after online: online %v last seen %v", got.Online, got.LastSeen)
	}
	must(t, s.SetPresence(ctx, "p1", false, at(2*time.Minute)))
	got, err = s.GetDevice(ctx, "p1")
	must(t, err)
	if got.Online || !got.LastSeen.Equal(at(2*time.Minute)) {
		t.Fatalf("after offline: online %v last seen %v", got.Online, got.LastSeen)
	}
	// A late (older) report does not overwrite a newer one.
	must(t, s.SetPresence(ctx, "p1", true, at(90*time.Second)))
	got, err = s.GetDevice(ctx, "p1")
	must(t, err)
	if got.Online || !got.LastSeen.Equal(at(2*time.Minute)) {
		t.Fatalf("after stale report: online %v last seen %v", got.Online, got.LastSeen)
	}
	if !got.UpdatedAt.Equal(at(0)) {
		t.Fatalf("presence changed updated_at to %v", got.UpdatedAt)
	}
	// Unknown devices are ignored.
	must(t, s.SetPresence(ctx, "ghost", true, at(0)))
	_, err = s.GetDevice(ctx, "ghost")
	wantCode(t, err, lanewatch.ENotFound)
}

func listAllDevices(t *testing.T, s store.Store, f store.DeviceFilter) []string {
	t.Helper()
	var ids []string
	for range 100 {
		page, next, err := s.ListDevices(t.Context(), f)
		must(t, err)
		if f.Limit > 0 && len(page) > f.Limit {
			t.Fatalf("page of %d > limit %d", len(page), f.Limit)
		}
		for _, d := range page {
			ids = append(ids, d.ID)
		}
		if next == "" {
			return ids
		}
		if len(page) == 0 {
			t.Fatal("empty page with a next cursor")
		}
		f.Cursor = next
	}
	t.Fatal("pagination does not end")
	return nil
}

func testDevicePagination(t *testing.T, s store.Store) {
	ctx := t.Context()
	var want []string
	for _, i := range []int{7, 3, 24, 1, 15, 9, 0, 12, 19, 5, 22, 2, 17, 8, 11, 4, 20, 6, 13, 23, 10, 16, 14, 18, 21} {
		id := fmt.Sprintf("dev-%02d", i)
		must(t, s.CreateDevice(ctx, device(id)))
		want = append(want, id)
	}
	slices.Sort(want)
	for _, limit := range []int{1, 7, 10, 25, 0} {
		got := listAllDevices(t, s, store.DeviceFilter{Limit: limit})
		if !slices.Equal(got, want) {
			t.Fatalf("limit %d: ids %v, want %v", limit, got, want)
		}
	}
	page, next, err := s.ListDevices(ctx, store.DeviceFilter{Limit: 10})
	must(t, err)
	if len(page) != 10 || next == "" {
		t.Fatalf("first page: %d items, next %q", len(page), next)
	}
	page, next, err = s.ListDevices(ctx, store.DeviceFilter{Limit: 25})
	must(t, err)
	if len(page) != 25 || next != "" {
		t.Fatalf("exact page: %d items, next %q; want 25 and no next", len(page), next)
	}
	if page[0].PasswordHash == "" || page[0].Tags["model"] != "X9" {
		t.Fatalf("listed device lacks fields: %+v", page[0])
	}
}

func testDeviceFilters(t *testing.T, s store.Store) {
	ctx := t.Context()
	types := []lanewatch.DeviceType{lanewatch.DeviceSweeper, lanewatch.DeviceCamera, lanewatch.DevicePlaque}
	districts := []string{"a", "b"}
	contractors := []string{"x", "y", "z"}
	var all []*lanewatch.Device
	for i := range 18 {
		d := device(fmt.Sprintf("d%02d", i))
		d.Type, d.District, d.Contractor = types[i%3], districts[i%2], contractors[(i/2)%3]
		must(t, s.CreateDevice(ctx, d))
		all = append(all, d)
	}
	for _, f := range []store.DeviceFilter{
		{Type: lanewatch.DeviceCamera},
		{District: "b"},
		{Contractor: "z"},
		{Type: lanewatch.DeviceSweeper, District: "a", Contractor: "x"},
		{Type: lanewatch.DeviceWasher},
		{Type: lanewatch.DevicePlaque, Limit: 2},
	} {
		var want []string
		for _, d := range all {
			if (f.Type == "" || d.Type == f.Type) && (f.District == "" || d.District == f.District) &&
				(f.Contractor == "" || d.Contractor == f.Contractor) {
				want = append(want, d.ID)
			}
		}
		got := listAllDevices(t, s, f)
		if !slices.Equal(got, want) {
			t.Errorf("filter %+v: %v, want %v", f, got, want)
		}
	}
}

// ---- cases ----

func fullCase() *lanewatch.Case {
	return &lanewatch.Case{
		Status:      lanewatch.StatusReported,
		Category:    "road_dirty",
		Urgency:     lanewatch.UrgencyHigh,
		Source:      lanewatch.SourcePlaque,
		DeviceID:    "plq-7",
		District:    "xuhui",
		Department:  "dept-3",
		Contractor:  "acme",
		Location:    lanewatch.Location{Lat: 31.1885, Lon: 121.4365},
		Title:       "路面垃圾",
		Description: "litter near the gate\nsecond line",
		Confidence:  0.875,
		Reporter:    &lanewatch.Reporter{Name: "王小明", Phone: "+86 138 0000 0000"},
		CreatedAt:   at(0),
		UpdatedAt:   at(time.Second),
		Deadlines: lanewatch.Deadlines{
			DispatchBy: ptr(at(time.Hour)),
			SignBy:     ptr(at(2 * time.Hour)),
			HandleBy:   ptr(at(26 * time.Hour)),
		},
		Overdue:     true,
		DuplicateOf: "42",
		Occurrences: 3,
		LastSeenAt:  at(30 * time.Second),
		ReworkCount: 1,
		Address:     "中山市 岐关西路 88 号 'quoted' \\ 地址",
		Timeline: []lanewatch.TimelineEntry{
			{Action: "report", Actor: "citizen", At: at(0), To: lanewatch.StatusReported, Note: "扫码上报"},
			{Action: "accept", Actor: "op-1", At: at(time.Second), From: lanewatch.StatusReported, To: lanewatch.StatusRegistered},
		},
	}
}

func ruleCase(rule, key string, seen time.Time) *lanewatch.Case {
	return &lanewatch.Case{
		Status: lanewatch.StatusReported, Category: "brush_off", Urgency: lanewatch.UrgencyNormal,
		Source: lanewatch.SourceRule, Rule: rule, Key: key, CreatedAt: seen, UpdatedAt: seen,
		LastSeenAt: seen,
		Timeline: []lanewatch.TimelineEntry{
			{Action: "report", Actor: "rule:" + rule, At: seen, To: lanewatch.StatusReported},
		},
	}
}

func create(t *testing.T, s store.Store, c *lanewatch.Case) *lanewatch.Case {
	t.Helper()
	got, created, err := s.CreateCase(t.Context(), c)
	must(t, err)
	if !created {
		t.Fatalf("CreateCase: not created, existing %s", got.ID)
	}
	if c.ID == "" || got.ID != c.ID {
		t.Fatalf("CreateCase: id %q written back, %q returned", c.ID, got.ID)
	}
	return c
}

func get(t *testing.T, s store.Store, id string) *lanewatch.Case {
	t.Helper()
	c, err := s.GetCase(t.Context(), id)
	must(t, err)
	return c
}

// stored is what GetCase should return for c as created.
func stored(c *lanewatch.Case) *lanewatch.Case {
	w := *c
	if w.Timeline == nil {
		w.Timeline = []lanewatch.TimelineEntry{}
	}
	if w.Attachments == nil {
		w.Attachments = []lanewatch.Attachment{}
	}
	return &w
}

func sameCase(t *testing.T, got, want *lanewatch.Case) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("case differs:\n got %s\nwant %s", dump(got), dump(want))
	}
}

func dump(c *lanewatch.Case) string {
	s := fmt.Sprintf("%+v", *c)
	if c.Reporter != nil {
		s += fmt.Sprintf(" reporter=%+v", *c.Reporter)
	}
	if c.Rating != nil {
		s += fmt.Sprintf(" rating=%+v", *c.Rating)
	}
	for _, p := range []*time.Time{c.Deadlines.DispatchBy, c.Deadlines.SignBy, c.Deadlines.HandleBy} {
		if p != nil {
			s += " deadline=" + p.String()
		} else {
			s += " deadline=nil"
		}
	}
	return s
}

func testCaseRoundTrip(t *testing.T, s store.Store) {
	c := create(t, s, fullCase())
	if _, err := strconv.ParseInt(c.ID, 10, 64); err != nil {
		t.Fatalf("case id %q is not a decimal number", c.ID)
	}
	sameCase(t, get(t, s, c.ID), stored(c))

	// The optional parts left empty stay empty.
	bare := create(t, s, &lanewatch.Case{Status: lanewatch.StatusReported, Source: lanewatch.SourceOperator,
		CreatedAt: at(time.Minute), UpdatedAt: at(time.Minute)})
	if bare.ID == c.ID {
		t.Fatalf("two cases got id %s", c.ID)
	}
	if bare.Occurrences != 1 || !bare.LastSeenAt.Equal(bare.CreatedAt) {
		t.Fatalf("defaults: occurrences %d, last seen %v; want 1 and created_at", bare.Occurrences, bare.LastSeenAt)
	}
	got := get(t, s, bare.ID)
	sameCase(t, got, stored(bare))
	if got.Reporter != nil || got.Rating != nil || got.Deadlines.DispatchBy != nil {
		t.Fatalf("bare case grew optional parts: %s", dump(got))
	}
}

func testCaseTimesUTC(t *testing.T, s store.Store) {
	shanghai := time.FixedZone("CST", 8*3600)
	local := time.Date(2025, 6, 1, 9, 15, 0, 987_000_000, shanghai)
	c := &lanewatch.Case{Status: lanewatch.StatusReported, CreatedAt: local, UpdatedAt: local,
		LastSeenAt: local, Deadlines: lanewatch.Deadlines{HandleBy: ptr(local.Add(time.Hour))},
		Timeline: []lanewatch.TimelineEntry{{Action: "report", At: local}}}
	create(t, s, c)
	got := get(t, s, c.ID)
	for name, tm := range map[string]time.Time{
		"created_at": got.CreatedAt, "updated_at": got.UpdatedAt, "last_seen_at": got.LastSeenAt,
		"handle_by": *got.Deadlines.HandleBy, "timeline.at": got.Timeline[0].At,
	} {
		if tm.Location() != time.UTC {
			t.Errorf("%s: location %v, want UTC", name, tm.Location())
		}
	}
	if !got.CreatedAt.Equal(local) || !got.Deadlines.HandleBy.Equal(local.Add(time.Hour)) || !got.Timeline[0].At.Equal(local) {
		t.Errorf("times moved: %v %v %v, want %v", got.CreatedAt, got.Deadlines.HandleBy, got.Timeline[0].At, local)
	}
	// Sub-millisecond digits may be lost, but nothing coarser.
	fine := base.Add(456_789 * time.Nanosecond)
	c2 := &lanewatch.Case{Status: lanewatch.StatusReported, CreatedAt: fine, UpdatedAt: fine}
	create(t, s, c2)
	got = get(t, s, c2.ID)
	if d := got.CreatedAt.Sub(fine); d < -time.Millisecond || d > time.Millisecond {
		t.Errorf("created_at %v, want %v within 1ms", got.CreatedAt, fine)
	}
}

func testCaseNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, id := range []string{"999999", "abc", "", "-1"} {
		_, err := s.GetCase(ctx, id)
		wantCode(t, err, lanewatch.ENotFound)
	}
	c := fullCase()
	c.ID = "999999"
	wantCode(t, s.UpdateCase(ctx, c, lanewatch.StatusReported), lanewatch.ENotFound)
	wantCode(t, s.AddAttachment(ctx, "999999", lanewatch.Attachment{ID: "a", Kind: "before", CreatedAt: at(0)}), lanewatch.ENotFound)
	wantCode(t, s.SetRating(ctx, "999999", lanewatch.Rating{Score: 5, At: at(0)}), lanewatch.ENotFound)
}

// transition moves c from its current status to `to` with one timeline entry.
func transition(t *testing.T, s store.Store, c *lanewatch.Case, to lanewatch.CaseStatus, when time.Time) {
	t.Helper()
	from := c.Status
	c.Status, c.UpdatedAt = to, when
	e := lanewatch.TimelineEntry{Action: "to_" + string(to), Actor: "op", At: when, From: from, To: to,
		Code: "to", Params: map[string]string{"status": string(to)}}
	must(t, s.UpdateCase(t.Context(), c, from, e))
	c.Timeline = append(c.Timeline, e)
}

func testRuleUniqueness(t *testing.T, s store.Store) {
	ctx := t.Context()
	first := create(t, s, ruleCase("brush_off", "sw-1", at(0)))
	if first.Occurrences != 1 {
		t.Fatalf("new rule case occurrences %d, want 1", first.Occurrences)
	}

	again := ruleCase("brush_off", "sw-1", at(time.Minute))
	existing, created, err := s.CreateCase(ctx, again)
	must(t, err)
	if created {
		t.Fatal("second CreateCase for an open (rule, key) created a case")
	}
	if existing.ID != first.ID || existing.Occurrences != 2 || !existing.LastSeenAt.Equal(at(time.Minute)) {
		t.Fatalf("existing: id %s occurrences %d last seen %v; want %s, 2, %v",
			existing.ID, existing.Occurrences, existing.LastSeenAt, first.ID, at(time.Minute))
	}
	if again.ID != "" {
		t.Fatalf("not-created case got id %q written back", again.ID)
	}
	got := get(t, s, first.ID)
	if got.Occurrences != 2 || !got.LastSeenAt.Equal(at(time.Minute)) || !got.CreatedAt.Equal(at(0)) || len(got.Timeline) != 1 {
		t.Fatalf("stored after repeat: %s", dump(got))
	}

	// Other keys, other rules and rule-less cases are independent.
	other := create(t, s, ruleCase("brush_off", "sw-2", at(0)))
	otherRule := create(t, s, ruleCase("water_off", "sw-1", at(0)))
	manual1 := create(t, s, &lanewatch.Case{Status: lanewatch.StatusReported, Source: lanewatch.SourceCitizen, CreatedAt: at(0), UpdatedAt: at(0)})
	manual2 := create(t, s, &lanewatch.Case{Status: lanewatch.StatusReported, Source: lanewatch.SourceCitizen, CreatedAt: at(0), UpdatedAt: at(0)})
	ids := map[string]bool{first.ID: true, other.ID: true, otherRule.ID: true, manual1.ID: true, manual2.ID: true}
	if len(ids) != 5 {
		t.Fatalf("ids not distinct: %v", ids)
	}

	// Moving through open states keeps it unique; closing frees the (rule, key).
	transition(t, s, first, lanewatch.StatusRegistered, at(2*time.Minute))
	if _, created, err := s.CreateCase(ctx, ruleCase("brush_off", "sw-1", at(3*time.Minute))); err != nil || created {
		t.Fatalf("registered case: created %v err %v; want an occurrence", created, err)
	}
	transition(t, s, first, lanewatch.StatusClosed, at(4*time.Minute))
	second := create(t, s, ruleCase("brush_off", "sw-1", at(5*time.Minute)))
	if second.ID == first.ID || second.Occurrences != 1 {
		t.Fatalf("after close: id %s (first %s), occurrences %d", second.ID, first.ID, second.Occurrences)
	}
	if got := get(t, s, first.ID); got.Occurrences != 3 || got.Status != lanewatch.StatusClosed {
		t.Fatalf("closed case changed: %s", dump(got))
	}

	// Rejected frees it too.
	transition(t, s, second, lanewatch.StatusRejected, at(6*time.Minute))
	third := create(t, s, ruleCase("brush_off", "sw-1", at(7*time.Minute)))
	if third.ID == second.ID {
		t.Fatal("rejected case was reused")
	}
	// Reopening a closed case while another is open for the same (rule, key) must fail.
	closed := *first
	closed.Status = lanewatch.StatusDispatched
	wantCode(t, s.UpdateCase(ctx, &closed, lanewatch.StatusClosed), lanewatch.EConflict)
	if got := get(t, s, first.ID); got.Status != lanewatch.StatusClosed {
		t.Fatalf("failed reopen changed status to %s", got.Status)
	}
}

func testRuleConcurrent(t *testing.T, s store.Store) {
	const n = 20
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created int
		ids     = map[string]bool{}
		errs    []error
	)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			c := ruleCase("speeding", "sw-9", at(time.Duration(i)*time.Second))
			got, ok, err := s.CreateCase(context.Background(), c)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			if ok {
				created++
			}
			ids[got.ID] = true
		})
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d of %d CreateCase calls failed, first: %v", len(errs), n, errs[0])
	}
	if created != 1 || len(ids) != 1 {
		t.Fatalf("created %d cases, ids %v; want exactly one", created, ids)
	}
	for id := range ids {
		if got := get(t, s, id); got.Occurrences != n {
			t.Fatalf("occurrences %d, want %d", got.Occurrences, n)
		}
	}
	list, _, err := s.ListCases(t.Context(), store.CaseFilter{Rule: "speeding"})
	must(t, err)
	if len(list) != 1 {
		t.Fatalf("%d cases listed for the rule, want 1", len(list))
	}
}

func testUpdateConditional(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := create(t, s, fullCase())
	orig := stored(c)

	upd := *c
	upd.Timeline = nil
	upd.Status = lanewatch.StatusDispatched
	upd.Department, upd.District, upd.Contractor = "dept-9", "minhang", "bravo"
	upd.Deadlines = lanewatch.Deadlines{SignBy: ptr(at(3 * time.Hour))}
	upd.Overdue = false
	upd.Urgency, upd.Title, upd.Description = lanewatch.UrgencyUrgent, "new title", "new description"
	upd.DuplicateOf, upd.ReworkCount = "", 2
	upd.UpdatedAt = at(10 * time.Minute)
	// Fields outside the mutable set are not written.
	upd.Category, upd.Occurrences, upd.Source = "other", 99, lanewatch.SourceCamera
	entry := lanewatch.TimelineEntry{Action: "dispatch", Actor: "op-2", At: at(10 * time.Minute),
		From: lanewatch.StatusReported, To: lanewatch.StatusDispatched, Note: "to dept-9",
		Code: "dispatched", Params: map[string]string{"department": "dept-9", "quote": `"引号" \ 和换行` + "\n"}}
	must(t, s.UpdateCase(ctx, &upd, lanewatch.StatusReported, entry))

	want := *orig
	want.Status, want.Department, want.District, want.Contractor = upd.Status, upd.Department, upd.District, upd.Contractor
	want.Deadlines, want.Overdue = upd.Deadlines, upd.Overdue
	want.Urgency, want.Title, want.Description = upd.Urgency, upd.Title, upd.Description
	want.DuplicateOf, want.ReworkCount, want.UpdatedAt = upd.DuplicateOf, upd.ReworkCount, upd.UpdatedAt
	want.Timeline = append(slices.Clone(orig.Timeline), entry)
	sameCase(t, get(t, s, c.ID), &want)

	// A stale `from` fails and changes nothing, timeline included.
	stale := upd
	stale.Status, stale.Title = lanewatch.StatusSigned, "stale"
	err := s.UpdateCase(ctx, &stale, lanewatch.StatusReported, lanewatch.TimelineEntry{Action: "sign", At: at(time.Hour)})
	wantCode(t, err, lanewatch.EConflict)
	sameCase(t, get(t, s, c.ID), &want)

	// An update without entries is fine and appends nothing.
	upd.Overdue, upd.UpdatedAt = true, at(20*time.Minute)
	must(t, s.UpdateCase(ctx, &upd, lanewatch.StatusDispatched))
	want.Overdue, want.UpdatedAt = true, at(20*time.Minute)
	sameCase(t, get(t, s, c.ID), &want)
}

func testUpdateConcurrent(t *testing.T, s store.Store) {
	c := create(t, s, fullCase())
	const n = 10
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		ok, confl int
		other     []error
	)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			u := *c
			u.Status, u.Department = lanewatch.StatusRegistered, fmt.Sprintf("dept-%d", i)
			err := s.UpdateCase(context.Background(), &u, lanewatch.StatusReported,
				lanewatch.TimelineEntry{Action: "accept", Actor: u.Department, At: at(time.Minute)})
			mu.Lock()
			defer mu.Unlock()
			switch lanewatch.ErrorCode(err) {
			case "":
				ok++
			case lanewatch.EConflict:
				confl++
			default:
				other = append(other, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if len(other) > 0 || ok != 1 || confl != n-1 {
		t.Fatalf("%d succeeded, %d conflicted, other errors %v; want 1 and %d", ok, confl, other, n-1)
	}
	got := get(t, s, c.ID)
	if len(got.Timeline) != len(c.Timeline)+1 || got.Timeline[len(got.Timeline)-1].Actor != got.Department {
		t.Fatalf("timeline %+v does not match the one winning update (department %s)", got.Timeline, got.Department)
	}
}

func testTimelineOrder(t *testing.T, s store.Store) {
	c := create(t, s, ruleCase("r", "k", at(0)))
	steps := []lanewatch.CaseStatus{lanewatch.StatusRegistered, lanewatch.StatusDispatched,
		lanewatch.StatusSigned, lanewatch.StatusInProgress, lanewatch.StatusResolved,
		lanewatch.StatusDispatched, lanewatch.StatusSigned}
	for i, to := range steps {
		// Equal timestamps must still keep insertion order.
		transition(t, s, c, to, at(time.Duration(i/2)*time.Minute))
	}
	// Several entries in one update keep their order too.
	from := c.Status
	c.Status = lanewatch.StatusInProgress
	multi := []lanewatch.TimelineEntry{
		{Action: "extend", Actor: "op", At: at(time.Hour), From: from, To: from, Note: "rain"},
		{Action: "start", Actor: "dept", At: at(time.Hour), From: from, To: lanewatch.StatusInProgress},
	}
	must(t, s.UpdateCase(t.Context(), c, from, multi...))
	c.Timeline = append(c.Timeline, multi...)
	got := get(t, s, c.ID)
	if !reflect.DeepEqual(got.Timeline, c.Timeline) {
		t.Fatalf("timeline:\n got %+v\nwant %+v", got.Timeline, c.Timeline)
	}
}

func testAttachments(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := create(t, s, fullCase())
	other := create(t, s, fullCase())
	as := []lanewatch.Attachment{
		{ID: "b1", Kind: "before", URL: "/files/b1.jpg", ContentType: "image/jpeg", Size: 123456,
			SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", CreatedAt: at(time.Minute)},
		{ID: "a1", Kind: "after", URL: "/files/a1.png", ContentType: "image/png", Size: 42, CreatedAt: at(time.Minute)},
		{ID: "e1", Kind: "evidence", URL: "/files/e1.jpg", ContentType: "image/jpeg", Size: 7, CreatedAt: at(0)},
	}
	for _, a := range as {
		must(t, s.AddAttachment(ctx, c.ID, a))
	}
	// The same attachment id on another case is fine; on the same case it conflicts.
	must(t, s.AddAttachment(ctx, other.ID, as[0]))
	dup := as[0]
	dup.URL = "/changed"
	wantCode(t, s.AddAttachment(ctx, c.ID, dup), lanewatch.EConflict)

	got := get(t, s, c.ID)
	if !reflect.DeepEqual(got.Attachments, as) {
		t.Fatalf("attachments:\n got %+v\nwant %+v", got.Attachments, as)
	}
	if got := get(t, s, other.ID); len(got.Attachments) != 1 {
		t.Fatalf("other case has %d attachments, want 1", len(got.Attachments))
	}
}

func testRating(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := create(t, s, fullCase())
	if got := get(t, s, c.ID); got.Rating != nil {
		t.Fatalf("new case has rating %+v", got.Rating)
	}
	r := lanewatch.Rating{Score: 4, Comment: "及时处理", At: at(time.Hour)}
	must(t, s.SetRating(ctx, c.ID, r))
	wantCode(t, s.SetRating(ctx, c.ID, lanewatch.Rating{Score: 1, Comment: "again", At: at(2 * time.Hour)}), lanewatch.EConflict)
	got := get(t, s, c.ID)
	if got.Rating == nil || *got.Rating != r {
		t.Fatalf("rating %+v, want %+v", got.Rating, r)
	}
}

// testListWithHistory: ListCases with WithHistory gives every case of every page the timeline
// and rating GetCase gives; without it, neither.
func testListWithHistory(t *testing.T, s store.Store) {
	ctx := t.Context()
	var ids []string
	for i := range 5 {
		c := create(t, s, ruleCase("hist", fmt.Sprint(i), at(0)))
		for k, to := range []lanewatch.CaseStatus{lanewatch.StatusRegistered, lanewatch.StatusDispatched, lanewatch.StatusSigned}[:i%4] {
			transition(t, s, c, to, at(time.Duration(k)*time.Minute))
		}
		if i%2 == 0 {
			must(t, s.SetRating(ctx, c.ID, lanewatch.Rating{Score: 1 + i%5, Comment: fmt.Sprint("r", i), At: at(time.Hour)}))
		}
		ids = append(ids, c.ID)
	}
	f := store.CaseFilter{Rule: "hist", Limit: 2, WithHistory: true}
	seen := 0
	for {
		page, next, err := s.ListCases(ctx, f)
		must(t, err)
		for _, c := range page {
			seen++
			want := get(t, s, c.ID)
			if !reflect.DeepEqual(c.Timeline, want.Timeline) || !reflect.DeepEqual(c.Rating, want.Rating) {
				t.Fatalf("case %s listed with history:\n got %+v %+v\nwant %+v %+v", c.ID, c.Timeline, c.Rating, want.Timeline, want.Rating)
			}
		}
		if next == "" {
			break
		}
		f.Cursor = next
	}
	if seen != len(ids) {
		t.Fatalf("listed %d cases, want %d", seen, len(ids))
	}
	plain, _, err := s.ListCases(ctx, store.CaseFilter{Rule: "hist"})
	must(t, err)
	for _, c := range plain {
		if len(c.Timeline) != 0 || c.Rating != nil {
			t.Fatalf("case %s listed without history has timeline %v rating %v", c.ID, c.Timeline, c.Rating)
		}
	}
}

func testCaseFilters(t *testing.T, s store.Store) {
	ctx := t.Context()
	statuses := []lanewatch.CaseStatus{lanewatch.StatusReported, lanewatch.StatusDispatched, lanewatch.StatusClosed}
	categories := []string{"litter", "snow"}
	districts := []string{"xuhui", "minhang", "pudong"}
	sources := []string{lanewatch.SourceRule, lanewatch.SourceCitizen, lanewatch.SourceCamera, lanewatch.SourcePlaque}
	var all []*lanewatch.Case
	for i := range 36 {
		c := &lanewatch.Case{
			Status:     statuses[i%3],
			Category:   categories[i%2],
			District:   districts[(i/2)%3],
			Department: fmt.Sprintf("dept-%d", i%4),
			Contractor: fmt.Sprintf("con-%d", i%5),
			Source:     sources[i%4],
			Overdue:    i%7 == 0,
			CreatedAt:  at(time.Duration(i) * time.Hour),
			UpdatedAt:  at(time.Duration(i) * time.Hour),
			Timeline:   []lanewatch.TimelineEntry{{Action: "report", At: at(0)}},
		}
		if c.Source == lanewatch.SourceRule {
			c.Rule, c.Key = fmt.Sprintf("rule-%d", i%3), fmt.Sprintf("key-%d", i)
		}
		create(t, s, c)
		all = append(all, c)
	}
	filters := map[string]store.CaseFilter{
		"none":            {},
		"status":          {Status: []lanewatch.CaseStatus{lanewatch.StatusDispatched}},
		"two statuses":    {Status: []lanewatch.CaseStatus{lanewatch.StatusReported, lanewatch.StatusClosed}},
		"category":        {Category: "snow"},
		"district":        {District: "minhang"},
		"department":      {Department: "dept-2"},
		"contractor":      {Contractor: "con-4"},
		"source":          {Source: lanewatch.SourceCitizen},
		"rule":            {Rule: "rule-1"},
		"overdue":         {Overdue: ptr(true)},
		"not overdue":     {Overdue: ptr(false)},
		"since":           {Since: at(30 * time.Hour)},
		"until":           {Until: at(5 * time.Hour)},
		"since and until": {Since: at(10 * time.Hour), Until: at(20 * time.Hour)},
		"combined":        {Status: []lanewatch.CaseStatus{lanewatch.StatusReported}, Category: "litter", District: "xuhui"},
		"nothing":         {Category: "nothing"},
		"paged":           {Category: "litter", Limit: 4},
	}
	for name, f := range filters {
		t.Run(name, func(t *testing.T) {
			var want []string
			for _, c := range slices.Backward(all) {
				if matches(c, f) {
					want = append(want, c.ID)
				}
			}
			got := listAllCases(t, s, f)
			if !slices.Equal(got, want) {
				t.Fatalf("ids %v, want %v", got, want)
			}
		})
	}
	page, _, err := s.ListCases(ctx, store.CaseFilter{Limit: 1})
	must(t, err)
	if len(page) != 1 || len(page[0].Timeline) != 0 {
		t.Fatalf("list returned %d cases, timeline %v; want 1 without timeline", len(page), page)
	}
	last := all[len(all)-1]
	want := stored(last)
	want.Timeline, want.Attachments = page[0].Timeline, page[0].Attachments
	sameCase(t, page[0], want)
}

func matches(c *lanewatch.Case, f store.CaseFilter) bool {
	eq := func(want, v string) bool { return want == "" || want == v }
	return (len(f.Status) == 0 || slices.Contains(f.Status, c.Status)) &&
		eq(f.Category, c.Category) && eq(f.District, c.District) && eq(f.Department, c.Department) &&
		eq(f.Contractor, c.Contractor) && eq(f.Source, c.Source) && eq(f.Rule, c.Rule) &&
		(f.Overdue == nil || *f.Overdue == c.Overdue) &&
		(f.Since.IsZero() || !c.CreatedAt.Before(f.Since)) &&
		(f.Until.IsZero() || c.CreatedAt.Before(f.Until))
}

func listAllCases(t *testing.T, s store.Store, f store.CaseFilter) []string {
	t.Helper()
	var ids []string
	seen := map[string]bool{}
	for range 1000 {
		page, next, err := s.ListCases(t.Context(), f)
		must(t, err)
		if len(page) > store.ClampLimit(f.Limit) {
			t.Fatalf("page of %d > limit %d", len(page), f.Limit)
		}
		for _, c := range page {
			if seen[c.ID] {
				t.Fatalf("case %s listed twice", c.ID)
			}
			seen[c.ID] = true
			ids = append(ids, c.ID)
		}
		if next == "" {
			return ids
		}
		if len(page) == 0 {
			t.Fatal("empty page with a next cursor")
		}
		f.Cursor = next
	}
	t.Fatal("pagination does not end")
	return nil
}

func testCasePagination(t *testing.T, s store.Store) {
	ctx := t.Context()
	var want []string
	for i := range 25 {
		c := create(t, s, ruleCase("r", strconv.Itoa(i), at(time.Duration(i)*time.Minute)))
		want = append(want, c.ID)
	}
	slices.Reverse(want)
	for _, limit := range []int{1, 7, 25, 100, 0} {
		if got := listAllCases(t, s, store.CaseFilter{Limit: limit}); !slices.Equal(got, want) {
			t.Fatalf("limit %d: %v, want %v", limit, got, want)
		}
	}
	// A page that ends exactly at the last case has no next cursor.
	page, next, err := s.ListCases(ctx, store.CaseFilter{Limit: 25})
	must(t, err)
	if len(page) != 25 || next != "" {
		t.Fatalf("exact page: %d cases, next %q", len(page), next)
	}
	// Cases created while paging appear on the first page, not between pages.
	page, next, err = s.ListCases(ctx, store.CaseFilter{Limit: 10})
	must(t, err)
	create(t, s, ruleCase("r", "late", at(time.Hour)))
	rest := listAllCases(t, s, store.CaseFilter{Limit: 10, Cursor: next})
	var got []string
	for _, c := range page {
		got = append(got, c.ID)
	}
	if got = append(got, rest...); !slices.Equal(got, want) {
		t.Fatalf("paging across an insert: %v, want %v", got, want)
	}
	_, _, err = s.ListCases(ctx, store.CaseFilter{Cursor: "not-a-cursor"})
	wantCode(t, err, lanewatch.EInvalid)
	_, _, err = s.ListDeadLetters(ctx, 10, "not-a-cursor")
	wantCode(t, err, lanewatch.EInvalid)
}

func testCount(t *testing.T, s store.Store) {
	ctx := t.Context()
	counts, err := s.CountCases(ctx)
	must(t, err)
	if len(counts) != 0 {
		t.Fatalf("empty store counts %v", counts)
	}
	want := map[lanewatch.CaseStatus]int{}
	for i, st := range []lanewatch.CaseStatus{lanewatch.StatusReported, lanewatch.StatusReported,
		lanewatch.StatusClosed, lanewatch.StatusDispatched, lanewatch.StatusReported} {
		c := ruleCase("", strconv.Itoa(i), at(0))
		c.Status = st
		create(t, s, c)
		want[st]++
	}
	counts, err = s.CountCases(ctx)
	must(t, err)
	if !maps.Equal(counts, want) {
		t.Fatalf("counts %v, want %v", counts, want)
	}
}

// ---- dead letters ----

func testDeadLetters(t *testing.T, s store.Store) {
	ctx := t.Context()
	var added []*lanewatch.DeadLetter
	for i := range 15 {
		dl := &lanewatch.DeadLetter{At: at(time.Duration(i) * time.Second), DeviceID: fmt.Sprintf("d%d", i),
			Topic: "vehicles/d/telemetry", Kind: "telemetry", Reason: "decode", Error: "bad json",
			Payload: fmt.Sprintf(`{"n": %d`, i)}
		must(t, s.AddDeadLetter(ctx, dl, 10))
		if dl.ID == 0 || (i > 0 && dl.ID <= added[i-1].ID) {
			t.Fatalf("dead letter %d got id %d", i, dl.ID)
		}
		added = append(added, dl)
	}
	all, next, err := s.ListDeadLetters(ctx, 100, "")
	must(t, err)
	if next != "" || len(all) != 10 {
		t.Fatalf("%d dead letters kept (next %q), want 10", len(all), next)
	}
	for i, dl := range all {
		if want := added[14-i]; !reflect.DeepEqual(dl, want) {
			t.Fatalf("dead letter %d:\n got %+v\nwant %+v", i, dl, want)
		}
	}
	var ids []int64
	cursor := ""
	for {
		page, next, err := s.ListDeadLetters(ctx, 4, cursor)
		must(t, err)
		if len(page) > 4 {
			t.Fatalf("page of %d", len(page))
		}
		for _, dl := range page {
			ids = append(ids, dl.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	var want []int64
	for _, dl := range all {
		want = append(want, dl.ID)
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("paged ids %v, want %v", ids, want)
	}
	// keep shrinks the set at the next add.
	must(t, s.AddDeadLetter(ctx, &lanewatch.DeadLetter{At: at(time.Hour), Reason: "x"}, 3))
	all, _, err = s.ListDeadLetters(ctx, 0, "")
	must(t, err)
	if len(all) != 3 || all[0].Reason != "x" || all[1].ID != added[14].ID {
		t.Fatalf("after keep=3: %d kept", len(all))
	}
}

func testDeadLetterText(t *testing.T, s store.Store) {
	ctx := t.Context()
	dl := &lanewatch.DeadLetter{At: at(0), Payload: "ok \xff\xfe bad \x00 nul", Error: "é"}
	must(t, s.AddDeadLetter(ctx, dl, 10))
	all, _, err := s.ListDeadLetters(ctx, 10, "")
	must(t, err)
	if len(all) != 1 || all[0].Payload != "ok \uFFFD bad \uFFFD nul" || all[0].Error != "é" {
		t.Fatalf("stored text %q / %q", all[0].Payload, all[0].Error)
	}
}

// ---- states ----

func testStates(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.GetState(ctx, "rules/a")
	wantCode(t, err, lanewatch.ENotFound)

	values := map[string][]byte{
		"rules/a":       []byte("alpha"),
		"rules/b":       {0, 1, 2, 0xff},
		"rules/empty":   {},
		"rules_x":       []byte("not under rules/"),
		"r%/_literal":   []byte("pct"),
		"r%/_literal/2": []byte("pct2"),
		"checkpoint":    []byte("42"),
	}
	for k, v := range values {
		must(t, s.PutState(ctx, k, v))
	}
	for k, v := range values {
		got, err := s.GetState(ctx, k)
		must(t, err)
		if got == nil || !bytes.Equal(got, v) {
			t.Fatalf("GetState(%q) = %v, want %v", k, got, v)
		}
	}
	must(t, s.PutState(ctx, "rules/a", []byte("alpha-2")))
	if got, _ := s.GetState(ctx, "rules/a"); string(got) != "alpha-2" {
		t.Fatalf("replaced value %q", got)
	}
	values["rules/a"] = []byte("alpha-2")

	for prefix, keys := range map[string][]string{
		"rules/":  {"rules/a", "rules/b", "rules/empty"},
		"rules":   {"rules/a", "rules/b", "rules/empty", "rules_x"},
		"r%/_":    {"r%/_literal", "r%/_literal/2"},
		"r_":      {},
		"nothing": {},
		"":        {"rules/a", "rules/b", "rules/empty", "rules_x", "r%/_literal", "r%/_literal/2", "checkpoint"},
	} {
		got, err := s.ListStates(ctx, prefix)
		must(t, err)
		if got == nil || len(got) != len(keys) {
			t.Fatalf("ListStates(%q) = %v, want keys %v", prefix, got, keys)
		}
		for _, k := range keys {
			if v, ok := got[k]; !ok || !bytes.Equal(v, values[k]) {
				t.Fatalf("ListStates(%q)[%q] = %v, want %v", prefix, k, v, values[k])
			}
		}
	}

	must(t, s.DeleteState(ctx, "rules/a"))
	_, err = s.GetState(ctx, "rules/a")
	wantCode(t, err, lanewatch.ENotFound)
	must(t, s.DeleteState(ctx, "rules/a"))
	if got, _ := s.ListStates(ctx, "rules/"); len(got) != 2 {
		t.Fatalf("after delete: %v", got)
	}

	// WriteStates: puts and deletes in one call, applied in order; an empty batch is a no-op.
	must(t, s.WriteStates(ctx, nil))
	must(t, s.WriteStates(ctx, []store.StateWrite{
		{Key: "batch/1", Value: []byte("one")},
		{Key: "batch/2", Value: []byte("two")},
		{Key: "rules/b"},                       // delete
		{Key: "batch/1", Value: []byte("uno")}, // later write wins
		{Key: "batch/3", Value: []byte{}},      // empty value is a value
		{Key: "batch/never"},                   // deleting an absent key is fine
	}))
	got, err := s.ListStates(ctx, "batch/")
	must(t, err)
	if len(got) != 3 || string(got["batch/1"]) != "uno" || string(got["batch/2"]) != "two" || got["batch/3"] == nil || len(got["batch/3"]) != 0 {
		t.Fatalf("after WriteStates: %q", got)
	}
	if _, err := s.GetState(ctx, "rules/b"); lanewatch.ErrorCode(err) != lanewatch.ENotFound {
		t.Fatalf("rules/b after a batched delete: %v", err)
	}
}
