package inspections

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
)

// placeHeader is the header of the per-place table (CSV and the XLSX sheet 地点 places).
var placeHeader = []string{"place", "name", "kind", "district", "community", "groups", "visits",
	"person_visits", "problems", "rectified", "on_time", "last_visit"}

func placeRecord(p PlaceRow) []string {
	last := ""
	if p.LastVisit != nil {
		last = p.LastVisit.Format(time.RFC3339)
	}
	return []string{p.ID, p.Name, p.Kind, p.District, p.Community, strings.Join(p.Groups, " "),
		strconv.Itoa(p.Visits), strconv.Itoa(p.PersonVisits), strconv.Itoa(p.Problems),
		strconv.Itoa(p.Rectified), strconv.Itoa(p.OnTime), last}
}

// WriteCSV writes the report's places in scope, one row each (the figures every total of the
// report adds up from), with a header row; UTF-8 with a byte-order mark so spreadsheet
// programs read the Chinese names.
func WriteCSV(w io.Writer, r *Report) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(placeHeader); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	for _, p := range r.Places {
		if err := cw.Write(safeCells(placeRecord(p))); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// safeCells keeps a spreadsheet from reading a cell as a formula (CSV injection): a text cell
// starting with = + - @ gets a leading apostrophe.
func safeCells(rec []string) []string {
	for i, s := range rec {
		if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
			rec[i] = "'" + s
		}
	}
	return rec
}

func rate(p *float64) any {
	if p == nil {
		return "—"
	}
	return *p
}

// WriteXLSX writes the report as a workbook: 汇总 summary, 按类型 by kind, 按镇街 by district,
// 轮次 rounds, 小组 groups and 地点 places; rates as numbers formatted as percentages.
func WriteXLSX(w io.Writer, r *Report) error {
	f := excelize.NewFile()
	defer f.Close()
	pct, err := f.NewStyle(&excelize.Style{NumFmt: 10}) // 0.00%
	if err != nil {
		return fmt.Errorf("xlsx style: %w", err)
	}
	head, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return fmt.Errorf("xlsx style: %w", err)
	}
	first := true
	sheet := func(name string, header []string, rows [][]any, pctCols ...int) error {
		if first {
			if err := f.SetSheetName("Sheet1", name); err != nil {
				return err
			}
			first = false
		} else if _, err := f.NewSheet(name); err != nil {
			return err
		}
		all := append([][]any{toAny(header)}, rows...)
		for i, row := range all {
			cell, _ := excelize.CoordinatesToCellName(1, i+1)
			if err := f.SetSheetRow(name, cell, &row); err != nil {
				return err
			}
		}
		last, _ := excelize.CoordinatesToCellName(len(header), 1)
		if err := f.SetCellStyle(name, "A1", last, head); err != nil {
			return err
		}
		for _, c := range pctCols {
			from, _ := excelize.CoordinatesToCellName(c, 2)
			to, _ := excelize.CoordinatesToCellName(c, len(all))
			if err := f.SetCellStyle(name, from, to, pct); err != nil {
				return err
			}
		}
		return nil
	}
	summary := [][]any{
		{"活动 campaign", r.Campaign}, {"名称 name", r.NameZH + " " + r.NameEN}, {"开始 start", r.Start}, {"结束 end", r.End},
		{"频次 cadence", r.Cadence}, {"统计时间 computed at", r.At.Format(time.RFC3339)},
		{"应检查地点 places in scope", r.PlacesInScope}, {"已覆盖地点 places covered", r.PlacesCovered},
		{"覆盖率 coverage", rate(r.Coverage)}, {"检查次数 visits", r.Visits}, {"无问题次数 pass visits", r.PassVisits},
		{"人次 person-visits", r.PersonVisits}, {"发现问题 problems", r.Problems}, {"已整改 rectified", r.Rectified},
		{"整改率 rectification rate", rate(r.RectificationRate)}, {"按期整改 on time", r.OnTime},
		{"按期率 on-time rate", rate(r.OnTimeRate)},
	}
	if err := sheet("汇总 summary", []string{"项目 item", "值 value"}, summary); err != nil {
		return fmt.Errorf("xlsx summary: %w", err)
	}
	for _, cell := range []string{"B10", "B16", "B18"} {
		if err := f.SetCellStyle("汇总 summary", cell, cell, pct); err != nil {
			return fmt.Errorf("xlsx summary: %w", err)
		}
	}
	rowHeader := []string{"key", "places_in_scope", "places_covered", "coverage", "visits", "person_visits",
		"problems", "rectified", "rectification_rate", "on_time", "on_time_rate"}
	rowsOf := func(rs []Row) [][]any {
		out := make([][]any, 0, len(rs))
		for _, x := range rs {
			out = append(out, []any{x.Key, x.PlacesInScope, x.PlacesCovered, rate(x.Coverage), x.Visits, x.PersonVisits,
				x.Problems, x.Rectified, rate(x.RectificationRate), x.OnTime, rate(x.OnTimeRate)})
		}
		return out
	}
	for _, t := range []struct {
		name string
		rows []Row
	}{{"按类型 by kind", r.ByKind}, {"按镇街 by district", r.ByDistrict}, {"小组 groups", r.Groups}} {
		if err := sheet(t.name, rowHeader, rowsOf(t.rows), 4, 9, 11); err != nil {
			return fmt.Errorf("xlsx %s: %w", t.name, err)
		}
	}
	var rounds [][]any
	for _, rd := range r.Rounds {
		rounds = append(rounds, []any{rd.Start.Format(time.RFC3339), rd.End.Format(time.RFC3339), rd.Visits, rd.PlacesCovered, rate(rd.Coverage)})
	}
	if err := sheet("轮次 rounds", []string{"start", "end", "visits", "places_covered", "coverage"}, rounds, 5); err != nil {
		return fmt.Errorf("xlsx rounds: %w", err)
	}
	var places [][]any
	for _, p := range r.Places {
		rec := placeRecord(p)
		row := toAny(rec)
		for i := 6; i <= 10; i++ { // counts as numbers
			n, _ := strconv.Atoi(rec[i])
			row[i] = n
		}
		places = append(places, row)
	}
	if err := sheet("地点 places", placeHeader, places); err != nil {
		return fmt.Errorf("xlsx places: %w", err)
	}
	if err := f.Write(w); err != nil {
		return fmt.Errorf("write xlsx: %w", err)
	}
	return nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
