package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch/store"
)

func testVisits(t *testing.T, s store.Store) {
	ctx := t.Context()
	if vs, err := s.ListVisits(ctx, "c1"); err != nil || len(vs) != 0 {
		t.Fatalf("empty ListVisits = %v, %v", vs, err)
	}
	v2 := store.Visit{ID: "v-2", Campaign: "c1", Place: "alley-a", At: at(2 * time.Hour), Body: []byte(`{"n":2}`)}
	v1 := store.Visit{ID: "v-1", Campaign: "c1", Place: "alley-b", At: at(time.Hour), Body: []byte(`{"n":1,"s":"鼓东"}`)}
	other := store.Visit{ID: "v-3", Campaign: "c2", Place: "alley-a", At: at(0), Body: []byte(`{}`)}
	for _, v := range []store.Visit{v2, v1, other} {
		created, err := s.PutVisit(ctx, v)
		must(t, err)
		if !created {
			t.Fatalf("PutVisit(%s) created = false", v.ID)
		}
	}
	// The same id again (a phone resending) is not a second visit and changes nothing.
	again := v1
	again.Body = []byte(`{"n":99}`)
	created, err := s.PutVisit(ctx, again)
	must(t, err)
	if created {
		t.Fatal("PutVisit of a stored id: created = true")
	}
	got, err := s.GetVisit(ctx, "v-1")
	must(t, err)
	if !reflect.DeepEqual(got, v1) {
		t.Fatalf("GetVisit = %+v, want %+v", got, v1)
	}
	vs, err := s.ListVisits(ctx, "c1")
	must(t, err)
	if !reflect.DeepEqual(vs, []store.Visit{v1, v2}) {
		t.Fatalf("ListVisits(c1) = %+v", vs)
	}
	_, err = s.GetVisit(ctx, "absent")
	wantCode(t, err, "not_found")
}

func testReviews(t *testing.T, s store.Store) {
	ctx := t.Context()
	r1 := store.Review{ID: "r-1", CreatedAt: at(0), Body: []byte(`{"seed":7}`)}
	r2 := store.Review{ID: "r-2", CreatedAt: at(time.Hour), Body: []byte(`{"seed":8}`)}
	for _, r := range []store.Review{r1, r2} {
		created, err := s.PutReview(ctx, r)
		must(t, err)
		if !created {
			t.Fatalf("PutReview(%s) created = false", r.ID)
		}
	}
	if created, err := s.PutReview(ctx, store.Review{ID: "r-1", CreatedAt: at(5 * time.Hour), Body: []byte(`{}`)}); err != nil || created {
		t.Fatalf("PutReview of a stored id = %v, %v", created, err)
	}
	rs, err := s.ListReviews(ctx)
	must(t, err)
	if !reflect.DeepEqual(rs, []store.Review{r2, r1}) {
		t.Fatalf("ListReviews = %+v", rs)
	}
	got, err := s.GetReview(ctx, "r-1")
	must(t, err)
	if !reflect.DeepEqual(got, r1) {
		t.Fatalf("GetReview = %+v", got)
	}
	_, err = s.GetReview(ctx, "nope")
	wantCode(t, err, "not_found")

	b := store.ReviewScore{ReviewID: "r-1", CaseID: "12", Reviewer: "li", At: at(time.Minute), Body: []byte(`{"score":80}`)}
	a := store.ReviewScore{ReviewID: "r-1", CaseID: "12", Reviewer: "chen", At: at(time.Minute), Body: []byte(`{"score":60}`)}
	c := store.ReviewScore{ReviewID: "r-1", CaseID: "3", Reviewer: "li", At: at(0), Body: []byte(`{}`)}
	for _, sc := range []store.ReviewScore{b, a, c, {ReviewID: "r-2", CaseID: "1", Reviewer: "li", At: at(0), Body: []byte(`{}`)}} {
		must(t, s.PutReviewScore(ctx, sc))
	}
	b.Body, b.At = []byte(`{"score":90}`), at(2*time.Minute) // a reviewer changes their score
	must(t, s.PutReviewScore(ctx, b))
	scs, err := s.ListReviewScores(ctx, "r-1")
	must(t, err)
	if !reflect.DeepEqual(scs, []store.ReviewScore{a, b, c}) {
		t.Fatalf("ListReviewScores = %+v", scs)
	}
}

func testNotices(t *testing.T, s store.Store) {
	ctx := t.Context()
	n1 := store.Notice{ID: "n-1", Status: "sent", DueAt: at(15 * time.Minute), Body: []byte(`{"plate":"粤T·12345"}`)}
	n2 := store.Notice{ID: "n-2", Status: "sent", DueAt: at(10 * time.Minute), Body: []byte(`{}`)}
	n3 := store.Notice{ID: "n-3", Status: "complied", DueAt: at(0), Body: []byte(`{}`)}
	for _, n := range []store.Notice{n1, n2, n3} {
		must(t, s.PutNotice(ctx, n))
	}
	sent, err := s.ListNotices(ctx, "sent")
	must(t, err)
	if !reflect.DeepEqual(sent, []store.Notice{n2, n1}) {
		t.Fatalf("ListNotices(sent) = %+v", sent)
	}
	n2.Status, n2.Body = "ignored", []byte(`{"case":"4"}`)
	must(t, s.PutNotice(ctx, n2))
	all, err := s.ListNotices(ctx)
	must(t, err)
	if !reflect.DeepEqual(all, []store.Notice{n3, n2, n1}) {
		t.Fatalf("ListNotices() = %+v", all)
	}
	two, err := s.ListNotices(ctx, "ignored", "complied")
	must(t, err)
	if len(two) != 2 {
		t.Fatalf("ListNotices(ignored, complied) = %+v", two)
	}
	got, err := s.GetNotice(ctx, "n-2")
	must(t, err)
	if !reflect.DeepEqual(got, n2) {
		t.Fatalf("GetNotice = %+v", got)
	}
	_, err = s.GetNotice(ctx, "x")
	wantCode(t, err, "not_found")
}
