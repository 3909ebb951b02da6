package store

import (
	"context"
	"time"
)

// Supervision keeps the records of the bureau's supervision workflows (DOMAIN.md 9–11): the
// packages inspections, casereview and notices own their meaning and the JSON of each Body;
// the store keeps the columns it selects by.
type Supervision interface {
	// PutVisit inserts the inspection visit v unless one with its id is stored; created tells
	// whether it did (a visit sent twice is stored once).
	PutVisit(ctx context.Context, v Visit) (created bool, err error)
	// GetVisit returns one visit; ENotFound if absent.
	GetVisit(ctx context.Context, id string) (Visit, error)
	// ListVisits returns the visits of a campaign ordered by time, then id.
	ListVisits(ctx context.Context, campaign string) ([]Visit, error)

	// PutReview inserts the case-file review r unless one with its id is stored; created tells
	// whether it did.
	PutReview(ctx context.Context, r Review) (created bool, err error)
	// GetReview returns one review; ENotFound if absent.
	GetReview(ctx context.Context, id string) (Review, error)
	// ListReviews returns every review, newest first.
	ListReviews(ctx context.Context) ([]Review, error)
	// PutReviewScore inserts or replaces the score of (ReviewID, CaseID, Reviewer).
	PutReviewScore(ctx context.Context, s ReviewScore) error
	// ListReviewScores returns the scores of a review ordered by case id, then reviewer.
	ListReviewScores(ctx context.Context, reviewID string) ([]ReviewScore, error)

	// PutNotice inserts or replaces the owner notice n.ID.
	PutNotice(ctx context.Context, n Notice) error
	// GetNotice returns one notice; ENotFound if absent.
	GetNotice(ctx context.Context, id string) (Notice, error)
	// ListNotices returns the notices with one of the statuses (all when none is given),
	// ordered by due time, then id.
	ListNotices(ctx context.Context, status ...string) ([]Notice, error)
}

// Visit is one stored inspection visit (package inspections owns its meaning).
type Visit struct {
	ID       string
	Campaign string
	Place    string
	At       time.Time
	Body     []byte // JSON
}

// Review is one stored case-file review (package casereview owns its meaning).
type Review struct {
	ID        string
	CreatedAt time.Time
	Body      []byte // JSON
}

// ReviewScore is one reviewer's score of one case file of a review.
type ReviewScore struct {
	ReviewID string
	CaseID   string
	Reviewer string
	At       time.Time
	Body     []byte // JSON
}

// Notice is one stored vehicle-owner notice (package notices owns its meaning).
type Notice struct {
	ID     string
	Status string
	DueAt  time.Time
	Body   []byte // JSON
}
