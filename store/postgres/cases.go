package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

const caseCols = `id, status, category, urgency, source, rule, key, device_id, district, department,
	contractor, lat, lon, title, description, confidence, reporter_name, reporter_phone,
	created_at, updated_at, dispatch_by, sign_by, handle_by, overdue, duplicate_of, occurrences,
	last_seen_at, rework_count`

// querier is what reads need; the pool and a transaction both have it.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func scanCase(row pgx.Row) (*lanewatch.Case, error) {
	var (
		c                 lanewatch.Case
		id                int64
		status            string
		repName, repPhone *string
	)
	if err := row.Scan(&id, &status, &c.Category, &c.Urgency, &c.Source, &c.Rule, &c.Key,
		&c.DeviceID, &c.District, &c.Department, &c.Contractor, &c.Location.Lat, &c.Location.Lon,
		&c.Title, &c.Description, &c.Confidence, &repName, &repPhone, &c.CreatedAt, &c.UpdatedAt,
		&c.Deadlines.DispatchBy, &c.Deadlines.SignBy, &c.Deadlines.HandleBy, &c.Overdue,
		&c.DuplicateOf, &c.Occurrences, &c.LastSeenAt, &c.ReworkCount); err != nil {
		return nil, err
	}
	c.ID = strconv.FormatInt(id, 10)
	c.Status = lanewatch.CaseStatus(status)
	if repName != nil {
		c.Reporter = &lanewatch.Reporter{Name: *repName}
		if repPhone != nil {
			c.Reporter.Phone = *repPhone
		}
	}
	c.CreatedAt, c.UpdatedAt, c.LastSeenAt = utc(c.CreatedAt), utc(c.UpdatedAt), utc(c.LastSeenAt)
	c.Deadlines.DispatchBy = utcPtr(c.Deadlines.DispatchBy)
	c.Deadlines.SignBy = utcPtr(c.Deadlines.SignBy)
	c.Deadlines.HandleBy = utcPtr(c.Deadlines.HandleBy)
	return &c, nil
}

// CreateCase inserts c with its timeline and writes the assigned ID back into c; a zero
// Occurrences is stored as 1 and a zero LastSeenAt as CreatedAt. For a rule case whose
// (Rule, Key) already has an open case, it increments that case's Occurrences, sets its
// LastSeenAt to c.LastSeenAt and returns it with created = false, leaving c untouched.
// When created is true, the returned case is c.
//
// The decision is one INSERT ... ON CONFLICT on the partial unique index of open rule cases,
// so concurrent callers on any number of connections or nodes open exactly one case.
func (s *Store) CreateCase(ctx context.Context, c *lanewatch.Case) (*lanewatch.Case, bool, error) {
	occurrences, lastSeen := max(c.Occurrences, 1), c.LastSeenAt
	if lastSeen.IsZero() {
		lastSeen = c.CreatedAt
	}
	var repName, repPhone *string
	if c.Reporter != nil {
		repName, repPhone = &c.Reporter.Name, &c.Reporter.Phone
	}
	var (
		existing *lanewatch.Case
		id       int64
	)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var inserted bool
		// xmax is 0 on a freshly inserted row and the locking transaction's id on an updated one.
		err := tx.QueryRow(ctx, `INSERT INTO cases (status, category, urgency, source, rule,
			key, device_id, district, department, contractor, lat, lon, title, description,
			confidence, reporter_name, reporter_phone, created_at, updated_at, dispatch_by, sign_by,
			handle_by, overdue, duplicate_of, occurrences, last_seen_at, rework_count)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
				$18, $19, $20, $21, $22, $23, $24, $25, $26, $27)
			ON CONFLICT (rule, key) WHERE rule <> '' AND status NOT IN ('closed', 'rejected')
			DO UPDATE SET occurrences = cases.occurrences + 1, last_seen_at = EXCLUDED.last_seen_at
			RETURNING id, xmax = 0`,
			string(c.Status), c.Category, c.Urgency, c.Source, c.Rule, c.Key, c.DeviceID,
			c.District, c.Department, c.Contractor, c.Location.Lat, c.Location.Lon, c.Title,
			c.Description, c.Confidence, repName, repPhone, c.CreatedAt, c.UpdatedAt,
			c.Deadlines.DispatchBy, c.Deadlines.SignBy, c.Deadlines.HandleBy, c.Overdue,
			c.DuplicateOf, occurrences, lastSeen, c.ReworkCount).Scan(&id, &inserted)
		if err != nil {
			return err
		}
		if !inserted {
			existing, err = getCase(ctx, tx, id)
			return err
		}
		return insertTimeline(ctx, tx, id, 1, c.Timeline)
	})
	if err != nil {
		return nil, false, fmt.Errorf("create case: %w", err)
	}
	if existing != nil {
		return existing, false, nil
	}
	c.ID = strconv.FormatInt(id, 10)
	c.Occurrences, c.LastSeenAt = occurrences, lastSeen
	return c, true, nil
}

func insertTimeline(ctx context.Context, tx pgx.Tx, caseID int64, seq int, entries []lanewatch.TimelineEntry) error {
	if len(entries) == 0 {
		return nil
	}
	var b pgx.Batch
	for i, e := range entries {
		b.Queue(`INSERT INTO case_timeline (case_id, seq, action, actor, at, from_status, to_status, note)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			caseID, seq+i, e.Action, e.Actor, e.At, string(e.From), string(e.To), e.Note)
	}
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("append timeline: %w", err)
	}
	return nil
}

func notFoundCase(id string) error {
	return lanewatch.Errorf(lanewatch.ENotFound, "case %q not found", id)
}

// GetCase returns a case with its timeline (in order), attachments (in the order added) and
// rating. Timeline and Attachments are never nil.
func (s *Store) GetCase(ctx context.Context, id string) (*lanewatch.Case, error) {
	n, ok := parseID(id)
	if !ok {
		return nil, notFoundCase(id)
	}
	c, err := getCase(ctx, s.pool, n)
	if err != nil {
		return nil, fmt.Errorf("get case %q: %w", id, err)
	}
	return c, nil
}

func getCase(ctx context.Context, q querier, id int64) (*lanewatch.Case, error) {
	c, err := scanCase(q.QueryRow(ctx, `SELECT `+caseCols+` FROM cases WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFoundCase(strconv.FormatInt(id, 10))
	}
	if err != nil {
		return nil, err
	}

	rows, err := q.Query(ctx, `SELECT action, actor, at, from_status, to_status, note
		FROM case_timeline WHERE case_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, err
	}
	c.Timeline, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (lanewatch.TimelineEntry, error) {
		var (
			e        lanewatch.TimelineEntry
			from, to string
		)
		err := row.Scan(&e.Action, &e.Actor, &e.At, &from, &to, &e.Note)
		e.At, e.From, e.To = utc(e.At), lanewatch.CaseStatus(from), lanewatch.CaseStatus(to)
		return e, err
	})
	if err != nil {
		return nil, err
	}
	if c.Timeline == nil {
		c.Timeline = []lanewatch.TimelineEntry{}
	}

	rows, err = q.Query(ctx, `SELECT id, kind, url, content_type, size, sha256, created_at
		FROM case_attachments WHERE case_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, err
	}
	c.Attachments, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (lanewatch.Attachment, error) {
		var a lanewatch.Attachment
		err := row.Scan(&a.ID, &a.Kind, &a.URL, &a.ContentType, &a.Size, &a.SHA256, &a.CreatedAt)
		a.CreatedAt = utc(a.CreatedAt)
		return a, err
	})
	if err != nil {
		return nil, err
	}
	if c.Attachments == nil {
		c.Attachments = []lanewatch.Attachment{}
	}

	var r lanewatch.Rating
	err = q.QueryRow(ctx, `SELECT score, comment, at FROM case_ratings WHERE case_id = $1`, id).
		Scan(&r.Score, &r.Comment, &r.At)
	switch {
	case err == nil:
		r.At = utc(r.At)
		c.Rating = &r
	case !errors.Is(err, pgx.ErrNoRows):
		return nil, err
	}
	return c, nil
}

// ListCases returns cases matching f, newest (highest id) first, without timelines,
// attachments or ratings, and the cursor of the next page ("" at the end).
func (s *Store) ListCases(ctx context.Context, f store.CaseFilter) ([]*lanewatch.Case, string, error) {
	limit := store.ClampLimit(f.Limit)
	cursor, err := parseCursor(f.Cursor)
	if err != nil {
		return nil, "", err
	}
	var w where
	if cursor > 0 {
		w.add("id < ?", cursor)
	}
	if len(f.Status) > 0 {
		statuses := make([]string, len(f.Status))
		for i, st := range f.Status {
			statuses[i] = string(st)
		}
		w.add("status = ANY(?)", statuses)
	}
	for _, eq := range []struct{ col, v string }{
		{"category", f.Category}, {"district", f.District}, {"department", f.Department},
		{"contractor", f.Contractor}, {"source", f.Source}, {"rule", f.Rule},
	} {
		if eq.v != "" {
			w.add(eq.col+" = ?", eq.v)
		}
	}
	if f.Overdue != nil {
		w.add("overdue = ?", *f.Overdue)
	}
	if !f.Since.IsZero() {
		w.add("created_at >= ?", f.Since)
	}
	if !f.Until.IsZero() {
		w.add("created_at < ?", f.Until)
	}
	query := `SELECT ` + caseCols + ` FROM cases` + w.sql() + ` ORDER BY id DESC LIMIT ` + w.next(limit+1)
	rows, err := s.pool.Query(ctx, query, w.args...)
	if err != nil {
		return nil, "", fmt.Errorf("list cases: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*lanewatch.Case, error) { return scanCase(row) })
	if err != nil {
		return nil, "", fmt.Errorf("list cases: %w", err)
	}
	if out == nil {
		out = []*lanewatch.Case{}
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	if f.WithHistory && len(out) > 0 {
		if err := s.fillHistory(ctx, out); err != nil {
			return nil, "", fmt.Errorf("list cases: %w", err)
		}
	}
	return out, next, nil
}

// fillHistory reads the timelines and ratings of cases with one query each.
func (s *Store) fillHistory(ctx context.Context, cases []*lanewatch.Case) error {
	byID, ids := store.HistoryIndex(cases)
	rows, err := s.pool.Query(ctx, `SELECT case_id, action, actor, at, from_status, to_status, note
		FROM case_timeline WHERE case_id = ANY($1) ORDER BY case_id, seq`, ids)
	if err != nil {
		return err
	}
	for rows.Next() {
		var (
			id       int64
			e        lanewatch.TimelineEntry
			from, to string
		)
		if err := rows.Scan(&id, &e.Action, &e.Actor, &e.At, &from, &to, &e.Note); err != nil {
			rows.Close()
			return err
		}
		e.At, e.From, e.To = utc(e.At), lanewatch.CaseStatus(from), lanewatch.CaseStatus(to)
		byID[id].Timeline = append(byID[id].Timeline, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = s.pool.Query(ctx, `SELECT case_id, score, comment, at FROM case_ratings WHERE case_id = ANY($1)`, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id int64
			r  lanewatch.Rating
		)
		if err := rows.Scan(&id, &r.Score, &r.Comment, &r.At); err != nil {
			return err
		}
		r.At = utc(r.At)
		byID[id].Rating = &r
	}
	return rows.Err()
}

// UpdateCase stores c's mutable fields and appends entries to its timeline in one transaction,
// provided the stored status still equals from; EConflict otherwise, ENotFound if absent. The
// conditional UPDATE locks the row, so concurrent updates from one status serialize and all but
// the first fail.
func (s *Store) UpdateCase(ctx context.Context, c *lanewatch.Case, from lanewatch.CaseStatus, entries ...lanewatch.TimelineEntry) error {
	id, ok := parseID(c.ID)
	if !ok {
		return notFoundCase(c.ID)
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE cases SET status = $1, department = $2, district = $3,
			dispatch_by = $4, sign_by = $5, handle_by = $6, overdue = $7, urgency = $8, title = $9,
			description = $10, duplicate_of = $11, rework_count = $12, contractor = $13,
			updated_at = $14 WHERE id = $15 AND status = $16`,
			string(c.Status), c.Department, c.District, c.Deadlines.DispatchBy, c.Deadlines.SignBy,
			c.Deadlines.HandleBy, c.Overdue, c.Urgency, c.Title, c.Description, c.DuplicateOf,
			c.ReworkCount, c.Contractor, c.UpdatedAt, id, string(from))
		if pgCode(err) == codeUniqueViolation {
			return lanewatch.Errorf(lanewatch.EConflict,
				"case %s: another case for rule %q and key %q is open", c.ID, c.Rule, c.Key)
		}
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var status string
			err := tx.QueryRow(ctx, `SELECT status FROM cases WHERE id = $1`, id).Scan(&status)
			if errors.Is(err, pgx.ErrNoRows) {
				return notFoundCase(c.ID)
			}
			if err != nil {
				return err
			}
			return lanewatch.Errorf(lanewatch.EConflict, "case %s is %s, not %s", c.ID, status, from)
		}
		if len(entries) == 0 {
			return nil
		}
		var last int
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM case_timeline
			WHERE case_id = $1`, id).Scan(&last); err != nil {
			return err
		}
		return insertTimeline(ctx, tx, id, last+1, entries)
	})
	if err != nil {
		return fmt.Errorf("update case %q: %w", c.ID, err)
	}
	return nil
}

// AddAttachment records an attachment of a case; ENotFound if the case is absent, EConflict if
// the case already has an attachment with a.ID.
func (s *Store) AddAttachment(ctx context.Context, caseID string, a lanewatch.Attachment) error {
	id, ok := parseID(caseID)
	if !ok {
		return notFoundCase(caseID)
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO case_attachments
		(case_id, id, kind, url, content_type, size, sha256, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (case_id, id) DO NOTHING`,
		id, a.ID, a.Kind, a.URL, a.ContentType, a.Size, a.SHA256, a.CreatedAt)
	switch {
	case pgCode(err) == codeForeignKeyViolation:
		return notFoundCase(caseID)
	case err != nil:
		return fmt.Errorf("add attachment to case %q: %w", caseID, err)
	case tag.RowsAffected() == 0:
		return lanewatch.Errorf(lanewatch.EConflict, "case %s already has attachment %q", caseID, a.ID)
	}
	return nil
}

// SetRating stores the rating of a case; EConflict if it already has one, ENotFound if the case
// is absent.
func (s *Store) SetRating(ctx context.Context, caseID string, r lanewatch.Rating) error {
	id, ok := parseID(caseID)
	if !ok {
		return notFoundCase(caseID)
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO case_ratings (case_id, score, comment, at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (case_id) DO NOTHING`, id, r.Score, r.Comment, r.At)
	switch {
	case pgCode(err) == codeForeignKeyViolation:
		return notFoundCase(caseID)
	case err != nil:
		return fmt.Errorf("rate case %q: %w", caseID, err)
	case tag.RowsAffected() == 0:
		return lanewatch.Errorf(lanewatch.EConflict, "case %s is already rated", caseID)
	}
	return nil
}

// CountCases returns the number of cases per status; statuses without cases are absent.
func (s *Store) CountCases(ctx context.Context) (map[lanewatch.CaseStatus]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT status, COUNT(*) FROM cases GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("count cases: %w", err)
	}
	defer rows.Close()
	out := make(map[lanewatch.CaseStatus]int)
	for rows.Next() {
		var (
			st string
			n  int
		)
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("count cases: %w", err)
		}
		out[lanewatch.CaseStatus(st)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count cases: %w", err)
	}
	return out, nil
}
