package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

const caseCols = `id, status, category, urgency, source, rule, key, device_id, district, department,
	contractor, lat, lon, title, description, confidence, reporter_name, reporter_phone,
	created_at, updated_at, dispatch_by, sign_by, handle_by, overdue, duplicate_of, occurrences,
	last_seen_at, rework_count`

func scanCase(row interface{ Scan(...any) error }) (*lanewatch.Case, error) {
	var (
		c                              lanewatch.Case
		id                             int64
		status                         string
		repName, repPhone              sql.NullString
		createdAt, updatedAt, lastSeen int64
		dispatchBy, signBy, handleBy   sql.NullInt64
		overdue                        int
	)
	if err := row.Scan(&id, &status, &c.Category, &c.Urgency, &c.Source, &c.Rule, &c.Key,
		&c.DeviceID, &c.District, &c.Department, &c.Contractor, &c.Location.Lat, &c.Location.Lon,
		&c.Title, &c.Description, &c.Confidence, &repName, &repPhone, &createdAt, &updatedAt,
		&dispatchBy, &signBy, &handleBy, &overdue, &c.DuplicateOf, &c.Occurrences, &lastSeen,
		&c.ReworkCount); err != nil {
		return nil, err
	}
	c.ID = strconv.FormatInt(id, 10)
	c.Status = lanewatch.CaseStatus(status)
	if repName.Valid {
		c.Reporter = &lanewatch.Reporter{Name: repName.String, Phone: repPhone.String}
	}
	c.CreatedAt = decTime(createdAt)
	c.UpdatedAt = decTime(updatedAt)
	c.LastSeenAt = decTime(lastSeen)
	c.Deadlines = lanewatch.Deadlines{
		DispatchBy: decTimePtr(dispatchBy),
		SignBy:     decTimePtr(signBy),
		HandleBy:   decTimePtr(handleBy),
	}
	c.Overdue = overdue != 0
	return &c, nil
}

// CreateCase inserts c with its timeline and writes the assigned ID back into c; a zero
// Occurrences is stored as 1 and a zero LastSeenAt as CreatedAt. For a rule case whose
// (Rule, Key) already has an open case, it increments that case's Occurrences, sets its
// LastSeenAt to c.LastSeenAt and returns it with created = false, leaving c untouched.
// When created is true, the returned case is c.
func (s *Store) CreateCase(ctx context.Context, c *lanewatch.Case) (*lanewatch.Case, bool, error) {
	occurrences, lastSeen := max(c.Occurrences, 1), c.LastSeenAt
	if lastSeen.IsZero() {
		lastSeen = c.CreatedAt
	}
	var (
		existing *lanewatch.Case
		id       int64
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if c.Rule != "" {
			var openID int64
			err := tx.QueryRowContext(ctx, `UPDATE cases SET occurrences = occurrences + 1,
				last_seen_at = ? WHERE rule = ? AND key = ? AND status NOT IN ('closed', 'rejected')
				RETURNING id`, encTime(lastSeen), c.Rule, c.Key).Scan(&openID)
			switch {
			case err == nil:
				existing, err = getCase(ctx, tx, openID)
				return err
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}
		var rep *lanewatch.Reporter
		repName, repPhone := sql.NullString{}, sql.NullString{}
		if rep = c.Reporter; rep != nil {
			repName = sql.NullString{String: rep.Name, Valid: true}
			repPhone = sql.NullString{String: rep.Phone, Valid: true}
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO cases (status, category, urgency, source, rule,
			key, device_id, district, department, contractor, lat, lon, title, description,
			confidence, reporter_name, reporter_phone, created_at, updated_at, dispatch_by, sign_by,
			handle_by, overdue, duplicate_of, occurrences, last_seen_at, rework_count)
			VALUES (`+placeholders(27)+`) RETURNING id`,
			string(c.Status), c.Category, c.Urgency, c.Source, c.Rule, c.Key, c.DeviceID,
			c.District, c.Department, c.Contractor, c.Location.Lat, c.Location.Lon, c.Title,
			c.Description, c.Confidence, repName, repPhone, encTime(c.CreatedAt),
			encTime(c.UpdatedAt), encTimePtr(c.Deadlines.DispatchBy), encTimePtr(c.Deadlines.SignBy),
			encTimePtr(c.Deadlines.HandleBy), boolInt(c.Overdue), c.DuplicateOf, occurrences,
			encTime(lastSeen), c.ReworkCount).Scan(&id)
		if err != nil {
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

func insertTimeline(ctx context.Context, tx *sql.Tx, caseID int64, seq int, entries []lanewatch.TimelineEntry) error {
	if len(entries) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO case_timeline
		(case_id, seq, action, actor, at, from_status, to_status, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i, e := range entries {
		if _, err := stmt.ExecContext(ctx, caseID, seq+i, e.Action, e.Actor, encTime(e.At),
			string(e.From), string(e.To), e.Note); err != nil {
			return fmt.Errorf("append timeline: %w", err)
		}
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
	c, err := getCase(ctx, s.r, n)
	if err != nil {
		return nil, fmt.Errorf("get case %q: %w", id, err)
	}
	return c, nil
}

func getCase(ctx context.Context, q queryer, id int64) (*lanewatch.Case, error) {
	c, err := scanCase(q.QueryRowContext(ctx, `SELECT `+caseCols+` FROM cases WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundCase(strconv.FormatInt(id, 10))
	}
	if err != nil {
		return nil, err
	}

	rows, err := q.QueryContext(ctx, `SELECT action, actor, at, from_status, to_status, note
		FROM case_timeline WHERE case_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	c.Timeline = []lanewatch.TimelineEntry{}
	for rows.Next() {
		var (
			e        lanewatch.TimelineEntry
			at       int64
			from, to string
		)
		if err := rows.Scan(&e.Action, &e.Actor, &at, &from, &to, &e.Note); err != nil {
			return nil, err
		}
		e.At, e.From, e.To = decTime(at), lanewatch.CaseStatus(from), lanewatch.CaseStatus(to)
		c.Timeline = append(c.Timeline, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	_ = rows.Close()

	rows, err = q.QueryContext(ctx, `SELECT id, kind, url, content_type, size, sha256, created_at
		FROM case_attachments WHERE case_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	c.Attachments = []lanewatch.Attachment{}
	for rows.Next() {
		var (
			a  lanewatch.Attachment
			at int64
		)
		if err := rows.Scan(&a.ID, &a.Kind, &a.URL, &a.ContentType, &a.Size, &a.SHA256, &at); err != nil {
			return nil, err
		}
		a.CreatedAt = decTime(at)
		c.Attachments = append(c.Attachments, a)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}

	var (
		r  lanewatch.Rating
		at int64
	)
	err = q.QueryRowContext(ctx, `SELECT score, comment, at FROM case_ratings WHERE case_id = ?`, id).
		Scan(&r.Score, &r.Comment, &at)
	switch {
	case err == nil:
		r.At = decTime(at)
		c.Rating = &r
	case !errors.Is(err, sql.ErrNoRows):
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
	var (
		where []string
		args  []any
	)
	if cursor > 0 {
		where, args = append(where, "id < ?"), append(args, cursor)
	}
	if len(f.Status) > 0 {
		where = append(where, "status IN ("+placeholders(len(f.Status))+")")
		for _, st := range f.Status {
			args = append(args, string(st))
		}
	}
	for _, eq := range []struct{ col, v string }{
		{"category", f.Category}, {"district", f.District}, {"department", f.Department},
		{"contractor", f.Contractor}, {"source", f.Source}, {"rule", f.Rule},
	} {
		if eq.v != "" {
			where, args = append(where, eq.col+" = ?"), append(args, eq.v)
		}
	}
	if f.Overdue != nil {
		where, args = append(where, "overdue = ?"), append(args, boolInt(*f.Overdue))
	}
	if !f.Since.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, encTime(f.Since))
	}
	if !f.Until.IsZero() {
		where, args = append(where, "created_at < ?"), append(args, encTime(f.Until))
	}
	query := `SELECT ` + caseCols + ` FROM cases`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit+1)

	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list cases: %w", err)
	}
	defer rows.Close()
	out := make([]*lanewatch.Case, 0, min(limit, 64))
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, "", fmt.Errorf("list cases: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list cases: %w", err)
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
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	in := placeholders(len(args))
	rows, err := s.r.QueryContext(ctx, `SELECT case_id, action, actor, at, from_status, to_status, note
		FROM case_timeline WHERE case_id IN (`+in+`) ORDER BY case_id, seq`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id       int64
			e        lanewatch.TimelineEntry
			at       int64
			from, to string
		)
		if err := rows.Scan(&id, &e.Action, &e.Actor, &at, &from, &to, &e.Note); err != nil {
			return err
		}
		e.At, e.From, e.To = decTime(at), lanewatch.CaseStatus(from), lanewatch.CaseStatus(to)
		byID[id].Timeline = append(byID[id].Timeline, e)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	_ = rows.Close()
	rows, err = s.r.QueryContext(ctx, `SELECT case_id, score, comment, at FROM case_ratings WHERE case_id IN (`+in+`)`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id int64
			r  lanewatch.Rating
			at int64
		)
		if err := rows.Scan(&id, &r.Score, &r.Comment, &at); err != nil {
			return err
		}
		r.At = decTime(at)
		byID[id].Rating = &r
	}
	return rows.Err()
}

// UpdateCase stores c's mutable fields and appends entries to its timeline in one transaction,
// provided the stored status still equals from; EConflict otherwise, ENotFound if absent.
func (s *Store) UpdateCase(ctx context.Context, c *lanewatch.Case, from lanewatch.CaseStatus, entries ...lanewatch.TimelineEntry) error {
	id, ok := parseID(c.ID)
	if !ok {
		return notFoundCase(c.ID)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE cases SET status = ?, department = ?, district = ?,
			dispatch_by = ?, sign_by = ?, handle_by = ?, overdue = ?, urgency = ?, title = ?,
			description = ?, duplicate_of = ?, rework_count = ?, contractor = ?, updated_at = ?
			WHERE id = ? AND status = ?`,
			string(c.Status), c.Department, c.District, encTimePtr(c.Deadlines.DispatchBy),
			encTimePtr(c.Deadlines.SignBy), encTimePtr(c.Deadlines.HandleBy), boolInt(c.Overdue),
			c.Urgency, c.Title, c.Description, c.DuplicateOf, c.ReworkCount, c.Contractor,
			encTime(c.UpdatedAt), id, string(from))
		if isUniqueViolation(err) {
			return lanewatch.Errorf(lanewatch.EConflict,
				"case %s: another case for rule %q and key %q is open", c.ID, c.Rule, c.Key)
		}
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			var status string
			err := tx.QueryRowContext(ctx, `SELECT status FROM cases WHERE id = ?`, id).Scan(&status)
			if errors.Is(err, sql.ErrNoRows) {
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
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM case_timeline
			WHERE case_id = ?`, id).Scan(&last); err != nil {
			return err
		}
		return insertTimeline(ctx, tx, id, last+1, entries)
	})
	if err != nil {
		return fmt.Errorf("update case %q: %w", c.ID, err)
	}
	return nil
}

// caseExists reports whether the case exists, inside tx.
func caseExists(ctx context.Context, tx *sql.Tx, id int64) (bool, error) {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM cases WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// AddAttachment records an attachment of a case; ENotFound if the case is absent, EConflict if
// the case already has an attachment with a.ID.
func (s *Store) AddAttachment(ctx context.Context, caseID string, a lanewatch.Attachment) error {
	id, ok := parseID(caseID)
	if !ok {
		return notFoundCase(caseID)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if ok, err := caseExists(ctx, tx, id); err != nil {
			return err
		} else if !ok {
			return notFoundCase(caseID)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO case_attachments
			(case_id, id, kind, url, content_type, size, sha256, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (case_id, id) DO NOTHING`,
			id, a.ID, a.Kind, a.URL, a.ContentType, a.Size, a.SHA256, encTime(a.CreatedAt))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return lanewatch.Errorf(lanewatch.EConflict, "case %s already has attachment %q", caseID, a.ID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add attachment to case %q: %w", caseID, err)
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
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if ok, err := caseExists(ctx, tx, id); err != nil {
			return err
		} else if !ok {
			return notFoundCase(caseID)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO case_ratings (case_id, score, comment, at)
			VALUES (?, ?, ?, ?) ON CONFLICT (case_id) DO NOTHING`, id, r.Score, r.Comment, encTime(r.At))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return lanewatch.Errorf(lanewatch.EConflict, "case %s is already rated", caseID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("rate case %q: %w", caseID, err)
	}
	return nil
}

// CountCases returns the number of cases per status; statuses without cases are absent.
func (s *Store) CountCases(ctx context.Context) (map[lanewatch.CaseStatus]int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT status, COUNT(*) FROM cases GROUP BY status`)
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
