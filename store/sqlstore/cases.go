package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

const caseCols = `id, status, category, urgency, source, rule, key, device_id, district, department,
	contractor, lat, lon, title, description, confidence, reporter_name, reporter_phone,
	created_at, updated_at, dispatch_by, sign_by, handle_by, overdue, duplicate_of, occurrences,
	last_seen_at, rework_count, address, deferred_at`

// insertCaseSQL inserts one case; the dialect's openCase adds its conflict handling and
// RETURNING clause. Its arguments are caseArgs.
const insertCaseSQL = `INSERT INTO cases (status, category, urgency, source, rule,
	key, device_id, district, department, contractor, lat, lon, title, description,
	confidence, reporter_name, reporter_phone, created_at, updated_at, dispatch_by, sign_by,
	handle_by, overdue, duplicate_of, occurrences, last_seen_at, rework_count, address, deferred_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func caseArgs(d *dialect, c *lanewatch.Case, occurrences int, lastSeen time.Time) []any {
	var repName, repPhone sql.NullString
	if rep := c.Reporter; rep != nil {
		repName = sql.NullString{String: rep.Name, Valid: true}
		repPhone = sql.NullString{String: rep.Phone, Valid: true}
	}
	return []any{string(c.Status), c.Category, c.Urgency, c.Source, c.Rule, c.Key, c.DeviceID,
		c.District, c.Department, c.Contractor, c.Location.Lat, c.Location.Lon, c.Title,
		c.Description, c.Confidence, repName, repPhone, d.t(c.CreatedAt), d.t(c.UpdatedAt),
		d.tp(c.Deadlines.DispatchBy), d.tp(c.Deadlines.SignBy), d.tp(c.Deadlines.HandleBy),
		c.Overdue, c.DuplicateOf, occurrences, d.t(lastSeen), c.ReworkCount, c.Address, d.tp(c.DeferredAt)}
}

func scanCase(row scanner) (*lanewatch.Case, error) {
	var (
		c                 lanewatch.Case
		id                int64
		status            string
		repName, repPhone sql.NullString
	)
	if err := row.Scan(&id, &status, &c.Category, &c.Urgency, &c.Source, &c.Rule, &c.Key,
		&c.DeviceID, &c.District, &c.Department, &c.Contractor, &c.Location.Lat, &c.Location.Lon,
		&c.Title, &c.Description, &c.Confidence, &repName, &repPhone, scanT(&c.CreatedAt), scanT(&c.UpdatedAt),
		scanTP(&c.Deadlines.DispatchBy), scanTP(&c.Deadlines.SignBy), scanTP(&c.Deadlines.HandleBy),
		&c.Overdue, &c.DuplicateOf, &c.Occurrences, scanT(&c.LastSeenAt), &c.ReworkCount, &c.Address,
		scanTP(&c.DeferredAt)); err != nil {
		return nil, err
	}
	c.ID = strconv.FormatInt(id, 10)
	c.Status = lanewatch.CaseStatus(status)
	if repName.Valid {
		c.Reporter = &lanewatch.Reporter{Name: repName.String, Phone: repPhone.String}
	}
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
	err := s.inTx(ctx, func(tx conn) error {
		var (
			inserted bool
			err      error
		)
		id, inserted, err = s.d.openCase(ctx, s.d, tx, c, occurrences, lastSeen)
		if err != nil {
			return err
		}
		if !inserted {
			existing, err = getCase(ctx, tx, id)
			return err
		}
		return s.insertTimeline(ctx, tx, id, 1, c.Timeline)
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

// insertTimeline appends entries as seq, seq+1, ... with one statement per 100 entries.
func (s *Store) insertTimeline(ctx context.Context, tx conn, caseID int64, seq int, entries []lanewatch.TimelineEntry) error {
	const chunk = 100
	for len(entries) > 0 {
		n := min(len(entries), chunk)
		args := make([]any, 0, 10*n)
		for i, e := range entries[:n] {
			args = append(args, caseID, seq+i, e.Action, e.Actor, s.d.t(e.At), string(e.From), string(e.To), e.Note,
				e.Code, paramsText(e.Params))
		}
		if _, err := tx.exec(ctx, `INSERT INTO case_timeline
			(case_id, seq, action, actor, at, from_status, to_status, note, code, params) VALUES `+rows(n, 10), args...); err != nil {
			return fmt.Errorf("append timeline: %w", err)
		}
		entries, seq = entries[n:], seq+n
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
	c, err := getCase(ctx, s.r(), n)
	if err != nil {
		return nil, fmt.Errorf("get case %q: %w", id, err)
	}
	return c, nil
}

func scanTimelineEntry(row scanner) (lanewatch.TimelineEntry, error) {
	var (
		e                lanewatch.TimelineEntry
		from, to, params string
	)
	err := row.Scan(&e.Action, &e.Actor, scanT(&e.At), &from, &to, &e.Note, &e.Code, &params)
	e.From, e.To = lanewatch.CaseStatus(from), lanewatch.CaseStatus(to)
	e.Params = parseParams(params)
	return e, err
}

// withID scans a leading case id column, then the rest as row would.
type withID struct {
	row scanner
	id  *int64
}

func (w withID) Scan(dest ...any) error { return w.row.Scan(append([]any{w.id}, dest...)...) }

// timelineCols are the columns scanTimelineEntry reads.
const timelineCols = `action, actor, at, from_status, to_status, note, code, params`

// paramsText encodes a timeline entry's note parameters ("" for none).
func paramsText(p map[string]string) string {
	if len(p) == 0 {
		return ""
	}
	b, _ := json.Marshal(p)
	return string(b)
}

// parseParams decodes paramsText (nil for "" or a value that is not an object of strings).
func parseParams(s string) map[string]string {
	if s == "" {
		return nil
	}
	var p map[string]string
	if json.Unmarshal([]byte(s), &p) != nil {
		return nil
	}
	return p
}

func getCase(ctx context.Context, q conn, id int64) (*lanewatch.Case, error) {
	c, err := scanCase(q.queryRow(ctx, `SELECT `+caseCols+` FROM cases WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, notFoundCase(strconv.FormatInt(id, 10))
	}
	if err != nil {
		return nil, err
	}
	c.Timeline, err = collect(q.query(ctx, `SELECT `+timelineCols+`
		FROM case_timeline WHERE case_id = ? ORDER BY seq`, id), scanTimelineEntry)
	if err != nil {
		return nil, err
	}
	c.Attachments, err = collect(q.query(ctx, `SELECT id, kind, url, content_type, size, sha256, created_at
		FROM case_attachments WHERE case_id = ? ORDER BY seq`, id), func(row scanner) (lanewatch.Attachment, error) {
		var a lanewatch.Attachment
		err := row.Scan(&a.ID, &a.Kind, &a.URL, &a.ContentType, &a.Size, &a.SHA256, scanT(&a.CreatedAt))
		return a, err
	})
	if err != nil {
		return nil, err
	}
	var r lanewatch.Rating
	err = q.queryRow(ctx, `SELECT score, comment, at FROM case_ratings WHERE case_id = ?`, id).
		Scan(&r.Score, &r.Comment, scanT(&r.At))
	switch {
	case err == nil:
		c.Rating = &r
	case !isNoRows(err):
		return nil, err
	}
	return c, nil
}

// ListCases returns cases matching f in f.Sort's order (newest, highest id, first by default),
// without timelines, attachments or ratings, and the cursor of the next page ("" at the end).
// Every cursor is a keyset cursor: the newest-first one is the last id, the others hold the last
// case's sort key (caseCursor), and the next page is the cases after that key. A cursor thus
// survives cases created or changed between the fetches: none is listed twice or skipped because
// another moved (a case whose own key crosses the boundary shows up where its new key puts it).
func (s *Store) ListCases(ctx context.Context, f store.CaseFilter) ([]*lanewatch.Case, string, error) {
	limit := store.ClampLimit(f.Limit)
	query, args, err := s.listCasesQuery(f, limit)
	if err != nil {
		return nil, "", err
	}
	out, err := collect(s.r().query(ctx, query, args...), scanCase)
	if err != nil {
		return nil, "", fmt.Errorf("list cases: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = nextCaseCursor(f.Sort, out[len(out)-1])
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
	if len(ids) == 0 {
		return nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	in := placeholders(len(args))
	err := each(s.r().query(ctx, `SELECT case_id, `+timelineCols+`
		FROM case_timeline WHERE case_id IN (`+in+`) ORDER BY case_id, seq`, args...), func(row scanner) error {
		var id int64
		e, err := scanTimelineEntry(withID{row, &id})
		if err != nil {
			return err
		}
		byID[id].Timeline = append(byID[id].Timeline, e)
		return nil
	})
	if err != nil {
		return err
	}
	err = each(s.r().query(ctx, `SELECT case_id, score, comment, at FROM case_ratings
		WHERE case_id IN (`+in+`)`, args...), func(row scanner) error {
		var (
			id int64
			r  lanewatch.Rating
		)
		if err := row.Scan(&id, &r.Score, &r.Comment, scanT(&r.At)); err != nil {
			return err
		}
		byID[id].Rating = &r
		return nil
	})
	return err
}

// UpdateCase stores c's mutable fields and appends entries to its timeline in one transaction,
// provided the stored status still equals from and the stored deferral state (deferred or not)
// is c's; EConflict otherwise, ENotFound if absent. The conditional UPDATE locks the row, so
// concurrent updates from one status serialize and all but the first fail.
func (s *Store) UpdateCase(ctx context.Context, c *lanewatch.Case, from lanewatch.CaseStatus, entries ...lanewatch.TimelineEntry) error {
	deferred := c.DeferredAt != nil
	return s.updateCase(ctx, c, from, false, deferred, entries)
}

// SetDeferral stores c's mutable fields and its deferral (c.DeferredAt: set, the deferral
// begins; nil, it ends) and appends entries, in one transaction, provided the stored status
// still equals from and the stored case is not deferred (when c.DeferredAt is set) or is (when
// nil); EConflict otherwise, ENotFound if absent.
func (s *Store) SetDeferral(ctx context.Context, c *lanewatch.Case, from lanewatch.CaseStatus, entries ...lanewatch.TimelineEntry) error {
	return s.updateCase(ctx, c, from, true, c.DeferredAt == nil, entries)
}

// updateCase writes c (and its deferred_at when setDeferral) where the status is from and the
// stored case is deferred (wasDeferred) or not.
func (s *Store) updateCase(ctx context.Context, c *lanewatch.Case, from lanewatch.CaseStatus, setDeferral, wasDeferred bool, entries []lanewatch.TimelineEntry) error {
	id, ok := parseID(c.ID)
	if !ok {
		return notFoundCase(c.ID)
	}
	d := s.d
	set, cond := "", " AND deferred_at IS NULL"
	args := []any{string(c.Status), c.Department, c.District, d.tp(c.Deadlines.DispatchBy),
		d.tp(c.Deadlines.SignBy), d.tp(c.Deadlines.HandleBy), c.Overdue,
		c.Urgency, c.Title, c.Description, c.DuplicateOf, c.ReworkCount, c.Contractor,
		d.t(c.UpdatedAt)}
	if setDeferral {
		set, args = ", deferred_at = ?", append(args, d.tp(c.DeferredAt))
	}
	if wasDeferred {
		cond = " AND deferred_at IS NOT NULL"
	}
	args = append(args, id, string(from))
	err := s.inTx(ctx, func(tx conn) error {
		n, err := affected(tx.exec(ctx, `UPDATE cases SET status = ?, department = ?, district = ?,
			dispatch_by = ?, sign_by = ?, handle_by = ?, overdue = ?, urgency = ?, title = ?,
			description = ?, duplicate_of = ?, rework_count = ?, contractor = ?, updated_at = ?`+set+`
			WHERE id = ? AND status = ?`+cond, args...))
		if d.constraint(err) == uniqueViolation {
			return lanewatch.Errorf(lanewatch.EConflict,
				"case %s: another case for rule %q and key %q is open", c.ID, c.Rule, c.Key)
		}
		if err != nil {
			return err
		}
		if n == 0 {
			var (
				status string
				at     *time.Time
			)
			err := tx.queryRow(ctx, `SELECT status, deferred_at FROM cases WHERE id = ?`, id).Scan(&status, scanTP(&at))
			if isNoRows(err) {
				return notFoundCase(c.ID)
			}
			if err != nil {
				return err
			}
			if status == string(from) && at != nil {
				return lanewatch.Errorf(lanewatch.EConflict, "case %s is deferred (缓办) since %s", c.ID, at.UTC().Format(time.RFC3339))
			}
			if status == string(from) {
				return lanewatch.Errorf(lanewatch.EConflict, "case %s is not deferred", c.ID)
			}
			return lanewatch.Errorf(lanewatch.EConflict, "case %s is %s, not %s", c.ID, status, from)
		}
		if len(entries) == 0 {
			return nil
		}
		var last int
		if err := tx.queryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM case_timeline
			WHERE case_id = ?`, id).Scan(&last); err != nil {
			return err
		}
		return s.insertTimeline(ctx, tx, id, last+1, entries)
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
	n, err := affected(s.w().exec(ctx, `INSERT INTO case_attachments
		(case_id, id, kind, url, content_type, size, sha256, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (case_id, id) DO NOTHING`,
		id, a.ID, a.Kind, a.URL, a.ContentType, a.Size, a.SHA256, s.d.t(a.CreatedAt)))
	switch {
	case s.d.constraint(err) == foreignKeyViolation:
		return notFoundCase(caseID)
	case err != nil:
		return fmt.Errorf("add attachment to case %q: %w", caseID, err)
	case n == 0:
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
	n, err := affected(s.w().exec(ctx, `INSERT INTO case_ratings (case_id, score, comment, at)
		VALUES (?, ?, ?, ?) ON CONFLICT (case_id) DO NOTHING`, id, r.Score, r.Comment, s.d.t(r.At)))
	switch {
	case s.d.constraint(err) == foreignKeyViolation:
		return notFoundCase(caseID)
	case err != nil:
		return fmt.Errorf("rate case %q: %w", caseID, err)
	case n == 0:
		return lanewatch.Errorf(lanewatch.EConflict, "case %s is already rated", caseID)
	}
	return nil
}

// CountCases returns the number of cases per status; statuses without cases are absent.
func (s *Store) CountCases(ctx context.Context) (map[lanewatch.CaseStatus]int, error) {
	out := make(map[lanewatch.CaseStatus]int)
	err := each(s.r().query(ctx, `SELECT status, COUNT(*) FROM cases GROUP BY status`), func(row scanner) error {
		var (
			st string
			n  int
		)
		err := row.Scan(&st, &n)
		out[lanewatch.CaseStatus(st)] = n
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("count cases: %w", err)
	}
	return out, nil
}
