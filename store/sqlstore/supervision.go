package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// PutVisit inserts v unless its id is stored.
func (s *Store) PutVisit(ctx context.Context, v store.Visit) (bool, error) {
	n, err := affected(s.w().exec(ctx, `INSERT INTO inspection_visits (id, campaign, place, at, body)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		cleanText(v.ID), cleanText(v.Campaign), cleanText(v.Place), s.d.t(v.At), cleanText(string(v.Body))))
	if err != nil {
		return false, fmt.Errorf("put visit %q: %w", v.ID, err)
	}
	return n > 0, nil
}

func scanVisit(row scanner) (store.Visit, error) {
	var (
		v    store.Visit
		body string
	)
	err := row.Scan(&v.ID, &v.Campaign, &v.Place, scanT(&v.At), &body)
	v.Body = []byte(body)
	return v, err
}

// GetVisit returns one visit; ENotFound if absent.
func (s *Store) GetVisit(ctx context.Context, id string) (store.Visit, error) {
	v, err := scanVisit(s.r().queryRow(ctx, `SELECT id, campaign, place, at, body FROM inspection_visits WHERE id = ?`, id))
	if isNoRows(err) {
		return v, lanewatch.Errorf(lanewatch.ENotFound, "no visit %q", id)
	}
	if err != nil {
		return v, fmt.Errorf("get visit %q: %w", id, err)
	}
	return v, nil
}

// ListVisits returns the visits of a campaign ordered by time, then id.
func (s *Store) ListVisits(ctx context.Context, campaign string) ([]store.Visit, error) {
	out, err := collect(s.r().query(ctx, `SELECT id, campaign, place, at, body FROM inspection_visits
		WHERE campaign = ? ORDER BY at, id`, campaign), scanVisit)
	if err != nil {
		return nil, fmt.Errorf("list visits of %q: %w", campaign, err)
	}
	return out, nil
}

// PutReview inserts r unless its id is stored.
func (s *Store) PutReview(ctx context.Context, r store.Review) (bool, error) {
	n, err := affected(s.w().exec(ctx, `INSERT INTO case_reviews (id, created_at, body) VALUES (?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, cleanText(r.ID), s.d.t(r.CreatedAt), cleanText(string(r.Body))))
	if err != nil {
		return false, fmt.Errorf("put review %q: %w", r.ID, err)
	}
	return n > 0, nil
}

func scanReview(row scanner) (store.Review, error) {
	var (
		r    store.Review
		body string
	)
	err := row.Scan(&r.ID, scanT(&r.CreatedAt), &body)
	r.Body = []byte(body)
	return r, err
}

// GetReview returns one review; ENotFound if absent.
func (s *Store) GetReview(ctx context.Context, id string) (store.Review, error) {
	r, err := scanReview(s.r().queryRow(ctx, `SELECT id, created_at, body FROM case_reviews WHERE id = ?`, id))
	if isNoRows(err) {
		return r, lanewatch.Errorf(lanewatch.ENotFound, "no review %q", id)
	}
	if err != nil {
		return r, fmt.Errorf("get review %q: %w", id, err)
	}
	return r, nil
}

// ListReviews returns every review, newest first.
func (s *Store) ListReviews(ctx context.Context) ([]store.Review, error) {
	out, err := collect(s.r().query(ctx, `SELECT id, created_at, body FROM case_reviews ORDER BY created_at DESC, id DESC`), scanReview)
	if err != nil {
		return nil, fmt.Errorf("list reviews: %w", err)
	}
	return out, nil
}

// PutReviewScore inserts or replaces the score of (ReviewID, CaseID, Reviewer).
func (s *Store) PutReviewScore(ctx context.Context, sc store.ReviewScore) error {
	_, err := s.w().exec(ctx, `INSERT INTO case_review_scores (review_id, case_id, reviewer, at, body)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (review_id, case_id, reviewer) DO UPDATE SET at = excluded.at, body = excluded.body`,
		cleanText(sc.ReviewID), cleanText(sc.CaseID), cleanText(sc.Reviewer), s.d.t(sc.At), cleanText(string(sc.Body)))
	if err != nil {
		return fmt.Errorf("put score of review %q case %q: %w", sc.ReviewID, sc.CaseID, err)
	}
	return nil
}

// ListReviewScores returns the scores of a review ordered by case id, then reviewer.
func (s *Store) ListReviewScores(ctx context.Context, reviewID string) ([]store.ReviewScore, error) {
	out, err := collect(s.r().query(ctx, `SELECT review_id, case_id, reviewer, at, body FROM case_review_scores
		WHERE review_id = ? ORDER BY case_id, reviewer`, reviewID), func(row scanner) (store.ReviewScore, error) {
		var (
			sc   store.ReviewScore
			body string
		)
		err := row.Scan(&sc.ReviewID, &sc.CaseID, &sc.Reviewer, scanT(&sc.At), &body)
		sc.Body = []byte(body)
		return sc, err
	})
	if err != nil {
		return nil, fmt.Errorf("list scores of review %q: %w", reviewID, err)
	}
	return out, nil
}

// PutNotice inserts or replaces the notice n.ID.
func (s *Store) PutNotice(ctx context.Context, n store.Notice) error {
	_, err := s.w().exec(ctx, `INSERT INTO owner_notices (id, status, due_at, body) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET status = excluded.status, due_at = excluded.due_at, body = excluded.body`,
		cleanText(n.ID), cleanText(n.Status), s.d.t(n.DueAt), cleanText(string(n.Body)))
	if err != nil {
		return fmt.Errorf("put notice %q: %w", n.ID, err)
	}
	return nil
}

func scanNotice(row scanner) (store.Notice, error) {
	var (
		n    store.Notice
		body string
	)
	err := row.Scan(&n.ID, &n.Status, scanT(&n.DueAt), &body)
	n.Body = []byte(body)
	return n, err
}

// GetNotice returns one notice; ENotFound if absent.
func (s *Store) GetNotice(ctx context.Context, id string) (store.Notice, error) {
	n, err := scanNotice(s.r().queryRow(ctx, `SELECT id, status, due_at, body FROM owner_notices WHERE id = ?`, id))
	if isNoRows(err) {
		return n, lanewatch.Errorf(lanewatch.ENotFound, "no notice %q", id)
	}
	if err != nil {
		return n, fmt.Errorf("get notice %q: %w", id, err)
	}
	return n, nil
}

// ListNotices returns the notices with one of the statuses (all when none is given).
func (s *Store) ListNotices(ctx context.Context, status ...string) ([]store.Notice, error) {
	q := `SELECT id, status, due_at, body FROM owner_notices`
	args := make([]any, len(status))
	if len(status) > 0 {
		q += ` WHERE status IN (` + placeholders(len(status)) + `)`
		for i, st := range status {
			args[i] = st
		}
	}
	out, err := collect(s.r().query(ctx, q+` ORDER BY due_at, id`, args...), scanNotice)
	if err != nil {
		return nil, fmt.Errorf("list notices %s: %w", strings.Join(status, ","), err)
	}
	return out, nil
}
