package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// stepDeadline is the deadline of a case's current step (store.SortUrgent).
const stepDeadline = `(CASE WHEN status IN ('reported', 'registered') THEN dispatch_by
	WHEN status = 'dispatched' THEN sign_by WHEN status IN ('signed', 'in_progress') THEN handle_by END)`

// caseOrder is the ORDER BY clause of each sort; every one ends on id so pages are stable.
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

// offsetCursor is the cursor prefix of the sorts paged by offset (every sort but newest, whose
// cursor is the last id and so survives inserts).
const offsetCursor = "o"

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

// listCasesQuery builds the SELECT of ListCases for one page: limit+1 rows from the cursor.
func (s *Store) listCasesQuery(f store.CaseFilter, limit int) (query string, args []any, offset int64, err error) {
	if !f.Sort.Valid() {
		return "", nil, 0, lanewatch.Errorf(lanewatch.EInvalid, "sort: %q is not a case order", f.Sort)
	}
	where, args := s.caseWhere(f, true)
	if f.Sort == store.SortNewest {
		cursor, err := parseCursor(f.Cursor)
		if err != nil {
			return "", nil, 0, err
		}
		if cursor > 0 {
			where, args = append(where, "id < ?"), append(args, cursor)
		}
	} else if f.Cursor != "" {
		n, perr := strconv.ParseInt(strings.TrimPrefix(f.Cursor, offsetCursor), 10, 64)
		if !strings.HasPrefix(f.Cursor, offsetCursor) || perr != nil || n < 0 {
			return "", nil, 0, lanewatch.Errorf(lanewatch.EInvalid, "cursor: %q is not a valid cursor for sort %q", f.Cursor, f.Sort)
		}
		offset = n
	}
	query = `SELECT ` + caseCols + ` FROM cases`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY ` + caseOrder(f.Sort) + ` LIMIT ? OFFSET ?`
	return query, append(args, limit+1, offset), offset, nil
}

// nextCaseCursor is the cursor after a full page.
func nextCaseCursor(f store.CaseFilter, page []*lanewatch.Case, offset int64) string {
	if f.Sort == store.SortNewest {
		return page[len(page)-1].ID
	}
	return offsetCursor + strconv.FormatInt(offset+int64(len(page)), 10)
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
