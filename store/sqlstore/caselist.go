package sqlstore

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// stepDeadline is the deadline of a case's current step (store.SortUrgent): lanewatch.Case.StepDue in
// SQL (the cursor is built from StepDue, so the two must agree).
const stepDeadline = `(CASE WHEN status IN ('reported', 'registered') THEN dispatch_by
	WHEN status = 'dispatched' THEN sign_by WHEN status IN ('signed', 'in_progress') THEN handle_by END)`

// caseOrder is the ORDER BY clause of each sort; every one ends on id so pages are stable.
// afterKey is the same order as a condition: change both together.
func caseOrder(s store.CaseSort) string {
	switch s {
	case store.SortOldest:
		return `id ASC`
	case store.SortUrgent:
		return `overdue DESC, (` + stepDeadline + ` IS NULL), ` + stepDeadline + ` ASC, id DESC`
	case store.SortDeadline:
		return `(` + stepDeadline + ` IS NULL), ` + stepDeadline + ` ASC, id DESC`
	case store.SortUpdated:
		return `updated_at DESC, id DESC`
	case store.SortUpdatedAsc:
		return `updated_at ASC, id ASC`
	}
	return `id DESC`
}

// caseWhere returns the conditions and arguments of f; the status part only when withStatus.
func (s *Store) caseWhere(f store.CaseFilter, withStatus bool) ([]string, []any) {
	var (
		where []string
		args  []any
	)
	if withStatus && len(f.Status) > 0 {
		where = append(where, "status IN ("+placeholders(len(f.Status))+")")
		for _, st := range f.Status {
			args = append(args, string(st))
		}
	}
	switch f.Source {
	case "":
	case lanewatch.SourceCamera:
		// Camera cases are those a camera pushed and those a camera's events opened by rule.
		where = append(where, `(source = ? OR (source = ? AND device_id IN (SELECT id FROM devices WHERE type = ?)))`)
		args = append(args, lanewatch.SourceCamera, lanewatch.SourceRule, string(lanewatch.DeviceCamera))
	default:
		where, args = append(where, "source = ?"), append(args, f.Source)
	}
	for _, eq := range []struct{ col, v string }{
		{"category", f.Category}, {"district", f.District}, {"department", f.Department},
		{"contractor", f.Contractor}, {"rule", f.Rule},
	} {
		if eq.v != "" {
			where, args = append(where, eq.col+" = ?"), append(args, eq.v)
		}
	}
	if f.Overdue != nil {
		where, args = append(where, "overdue = ?"), append(args, *f.Overdue)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, s.d.t(f.Since))
	}
	if !f.Until.IsZero() {
		where, args = append(where, "created_at < ?"), append(args, s.d.t(f.Until))
	}
	if !f.UpdatedSince.IsZero() {
		where, args = append(where, "updated_at >= ?"), append(args, s.d.t(f.UpdatedSince))
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		like := "%" + likeEscape(strings.ToLower(q)) + "%"
		or := []string{"device_id = ?",
			`LOWER(COALESCE(reporter_phone, '')) LIKE ? ESCAPE '\'`,
			`LOWER(title) LIKE ? ESCAPE '\'`,
			`LOWER(description) LIKE ? ESCAPE '\'`,
			`device_id IN (SELECT id FROM devices WHERE plate <> '' AND LOWER(plate) LIKE ? ESCAPE '\')`}
		args = append(args, q, like, like, like, like)
		if id, err := strconv.ParseInt(q, 10, 64); err == nil && id > 0 {
			or = append(or, "id = ?")
			args = append(args, id)
		}
		where = append(where, "("+strings.Join(or, " OR ")+")")
	}
	return where, args
}

// likeEscape escapes the LIKE wildcards of a search term (ESCAPE '\').
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// listCasesQuery builds the SELECT of ListCases for one page: limit+1 rows after the cursor.
func (s *Store) listCasesQuery(f store.CaseFilter, limit int) (query string, args []any, err error) {
	if !f.Sort.Valid() {
		return "", nil, lanewatch.Errorf(lanewatch.EInvalid, "sort: %q is not a case order", f.Sort)
	}
	where, args := s.caseWhere(f, true)
	if f.Sort == store.SortNewest {
		cursor, err := parseCursor(f.Cursor)
		if err != nil {
			return "", nil, err
		}
		if cursor > 0 {
			where, args = append(where, "id < ?"), append(args, cursor)
		}
	} else if f.Cursor != "" {
		k, err := parseCaseCursor(f.Sort, f.Cursor)
		if err != nil {
			return "", nil, err
		}
		cond, kargs := s.afterKey(f.Sort, k)
		where, args = append(where, cond), append(args, kargs...)
	}
	query = `SELECT ` + caseCols + ` FROM cases`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY ` + caseOrder(f.Sort) + ` LIMIT ?`
	return query, append(args, limit+1), nil
}

// caseKey is the sort key of a listed case, what a keyset cursor holds: the fields of the
// sort's ORDER BY (caseOrder), of which each sort uses its own.
type caseKey struct {
	overdue bool
	due     *time.Time // the current step's deadline (stepDeadline); nil is none
	updated time.Time
	id      int64
}

// afterKey is the condition "after k in sort's order" (every sort but newest): the
// lexicographic comparison of caseOrder's columns as an OR chain, each column compared in its
// ORDER BY direction, cases without a deadline after those with one.
func (s *Store) afterKey(sort store.CaseSort, k caseKey) (string, []any) {
	switch sort {
	case store.SortOldest:
		return `id > ?`, []any{k.id}
	case store.SortUpdated:
		u := s.d.t(k.updated)
		return `(updated_at < ? OR (updated_at = ? AND id < ?))`, []any{u, u, k.id}
	case store.SortUpdatedAsc:
		u := s.d.t(k.updated)
		return `(updated_at > ? OR (updated_at = ? AND id > ?))`, []any{u, u, k.id}
	case store.SortDeadline:
		return s.afterDue(k)
	case store.SortUrgent:
		// overdue DESC: the overdue cases, then the others.
		cond, args := s.afterDue(k)
		cond, args = `(overdue = ? AND `+cond+`)`, append([]any{k.overdue}, args...)
		if k.overdue {
			cond, args = `(`+cond+` OR overdue = ?)`, append(args, false)
		}
		return cond, args
	}
	return `id < ?`, []any{k.id}
}

// afterDue is "after k" in (deadline IS NULL) ASC, deadline ASC, id DESC.
func (s *Store) afterDue(k caseKey) (string, []any) {
	if k.due == nil {
		return `(` + stepDeadline + ` IS NULL AND id < ?)`, []any{k.id}
	}
	d := s.d.t(*k.due)
	return `(` + stepDeadline + ` > ? OR (` + stepDeadline + ` = ? AND id < ?) OR ` + stepDeadline + ` IS NULL)`,
		[]any{d, d, k.id}
}

// maxCursorLen bounds a case cursor; the longest the store writes is under 100 bytes.
const maxCursorLen = 256

// caseCursor encodes the key of a page's last case for sort (every sort but newest): the
// sort's name and the key's fields, times as RFC 3339 with nanoseconds (exactly as stored on
// either engine), in URL-safe base64. The next page starts after this key, so a case created
// or changed meanwhile moves no other case across the page boundary.
func caseCursor(sort store.CaseSort, k caseKey) string {
	fields := []string{string(sort)}
	switch sort {
	case store.SortUrgent:
		fields = append(fields, strconv.FormatBool(k.overdue), formatDue(k.due))
	case store.SortDeadline:
		fields = append(fields, formatDue(k.due))
	case store.SortUpdated, store.SortUpdatedAsc:
		fields = append(fields, k.updated.UTC().Format(time.RFC3339Nano))
	}
	fields = append(fields, strconv.FormatInt(k.id, 10))
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Join(fields, ",")))
}

func formatDue(due *time.Time) string {
	if due == nil {
		return "-"
	}
	return due.UTC().Format(time.RFC3339Nano)
}

// parseCaseCursor decodes a caseCursor of sort; EInvalid naming the cursor for anything else
// (another sort's cursor, an offset cursor of earlier versions, a malformed one).
func parseCaseCursor(sort store.CaseSort, cursor string) (caseKey, error) {
	bad := func(why string) (caseKey, error) {
		return caseKey{}, lanewatch.Errorf(lanewatch.EInvalid, "cursor: %q is not a valid cursor for sort %q: %s", cursor, sort, why)
	}
	if len(cursor) > maxCursorLen {
		return bad("too long")
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || !utf8.Valid(raw) {
		return bad("not a case list cursor")
	}
	fields := strings.Split(string(raw), ",")
	if fields[0] != string(sort) {
		if store.CaseSort(fields[0]).Valid() && fields[0] != "" {
			return bad(fmt.Sprintf("it is a cursor of sort %q", fields[0]))
		}
		return bad("not a case list cursor")
	}
	want := 2
	switch sort {
	case store.SortUrgent:
		want = 4
	case store.SortDeadline, store.SortUpdated, store.SortUpdatedAsc:
		want = 3
	}
	if len(fields) != want {
		return bad(fmt.Sprintf("%d fields, want %d", len(fields), want))
	}
	var k caseKey
	var ok bool
	if k.id, ok = parseID(fields[want-1]); !ok {
		return bad("the case id is not a positive number")
	}
	switch sort {
	case store.SortUrgent:
		switch fields[1] {
		case "true":
			k.overdue = true
		case "false":
		default:
			return bad("overdue is not true or false")
		}
		if k.due, err = parseDue(fields[2]); err != nil {
			return bad(err.Error())
		}
	case store.SortDeadline:
		if k.due, err = parseDue(fields[1]); err != nil {
			return bad(err.Error())
		}
	case store.SortUpdated, store.SortUpdatedAsc:
		if k.updated, err = parseTime(fields[1]); err != nil {
			return bad("updated_at: " + err.Error())
		}
	}
	return k, nil
}

// parseDue decodes formatDue.
func parseDue(v string) (*time.Time, error) {
	if v == "-" {
		return nil, nil
	}
	t, err := parseTime(v)
	if err != nil {
		return nil, fmt.Errorf("the deadline: %w", err)
	}
	return &t, nil
}

// parseTime decodes a cursor's time: RFC 3339, the zero time or one SQLite's unix nanoseconds
// can hold (as every stored time is).
func parseTime(v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, errors.New("not an RFC 3339 time")
	}
	if !t.IsZero() && !time.Unix(0, t.UnixNano()).Equal(t) {
		return time.Time{}, errors.New("out of range")
	}
	return t, nil
}

// nextCaseCursor is the cursor after a full page: the last id for newest, the last case's key
// (caseCursor) for the other sorts.
func nextCaseCursor(sort store.CaseSort, last *lanewatch.Case) string {
	if sort == store.SortNewest {
		return last.ID
	}
	id, _ := parseID(last.ID) // the store's own id
	return caseCursor(sort, caseKey{overdue: last.Overdue, due: last.StepDue(), updated: last.UpdatedAt, id: id})
}

// CaseCounts counts the cases of f: ByStatus without f's status part, Total and Overdue with it.
func (s *Store) CaseCounts(ctx context.Context, f store.CaseFilter) (*store.CaseCounts, error) {
	where, args := s.caseWhere(f, false)
	query := `SELECT status, COUNT(*), SUM(CASE WHEN overdue THEN 1 ELSE 0 END) FROM cases`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` GROUP BY status`
	out := &store.CaseCounts{ByStatus: map[lanewatch.CaseStatus]int{}}
	selected := make(map[lanewatch.CaseStatus]bool, len(f.Status))
	for _, st := range f.Status {
		selected[st] = true
	}
	err := each(s.r().query(ctx, query, args...), func(row scanner) error {
		var (
			st       string
			n, overd int
		)
		if err := row.Scan(&st, &n, &overd); err != nil {
			return err
		}
		out.ByStatus[lanewatch.CaseStatus(st)] = n
		if len(selected) == 0 || selected[lanewatch.CaseStatus(st)] {
			out.Total += n
			out.Overdue += overd
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count cases: %w", err)
	}
	return out, nil
}
