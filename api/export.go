package api

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/xuri/excelize/v2"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// MaxExportRows bounds one export; a larger filter is refused (413) with a message saying so.
const MaxExportRows = 20000

// exportColumns are the columns of an export, with their Chinese and English headers.
var exportColumns = [][2]string{
	{"编号", "ID"}, {"标题", "Title"}, {"状态", "Status"}, {"类别", "Category"}, {"紧急程度", "Urgency"},
	{"来源", "Source"}, {"镇街", "District"}, {"处置部门", "Department"}, {"作业单位", "Contractor"},
	{"设备", "Device"}, {"上报时间", "Reported"}, {"当前时限", "Deadline"}, {"超期", "Overdue"},
	{"更新时间", "Updated"}, {"纬度", "Latitude"}, {"经度", "Longitude"},
}

// exportLabels are the Chinese labels of status, source and urgency codes; English keeps codes.
var exportLabels = map[string]string{
	"reported": "已上报", "registered": "已立案", "rejected": "不予立案", "dispatched": "已派遣", "signed": "已签收",
	"in_progress": "处置中", "resolved": "已处置", "closed": "已结案",
	"rule": "规则", "camera": "摄像头", "plaque": "责任牌", "citizen": "市民", "inspection": "巡查", "operator": "值班员",
	"urgent": "特急", "high": "紧急", "normal": "一般", "low": "低",
}

// english reports whether the request prefers English (Accept-Language en first).
func english(c *gin.Context) bool {
	al := strings.ToLower(strings.TrimSpace(c.GetHeader("Accept-Language")))
	return strings.HasPrefix(al, "en")
}

func exportRow(cs *lanewatch.Case, en bool) []string {
	lab := func(code string) string {
		if v, ok := exportLabels[code]; ok && !en {
			return v
		}
		return code
	}
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format(time.RFC3339)
	}
	due := ""
	if d := cs.StepDue(); d != nil {
		due = ts(*d)
	}
	overdue := map[bool][2]string{true: {"是", "yes"}, false: {"否", "no"}}[cs.Overdue]
	lang := 0
	if en {
		lang = 1
	}
	return []string{cs.ID, cs.Title, lab(string(cs.Status)), cs.Category, lab(cs.Urgency), lab(cs.Source),
		cs.District, cs.Department, cs.Contractor, cs.DeviceID, ts(cs.CreatedAt), due, overdue[lang],
		ts(cs.UpdatedAt), strconv.FormatFloat(cs.Location.Lat, 'f', 6, 64), strconv.FormatFloat(cs.Location.Lon, 'f', 6, 64)}
}

// csvSafe defuses a cell that a spreadsheet would take for a formula (CSV injection): text
// from citizens' reports starting with = + - @ or a tab/CR is prefixed with a quote.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// exportCases answers GET /api/v1/cases/export?format=csv|xlsx with the list's filters: every
// case of the filter (in the list's order), at most MaxExportRows.
func (s *Server) exportCases(c *gin.Context) {
	format := c.DefaultQuery("format", "csv")
	if format != "csv" && format != "xlsx" {
		s.fail(c, invalid("format: %q is not csv or xlsx", format))
		return
	}
	if c.Query("cursor") != "" || c.Query("limit") != "" {
		s.fail(c, invalid("cursor: an export has every case of the filter; leave out cursor and limit"))
		return
	}
	f, err := caseFilter(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	if s.o.CaseCounts != nil {
		n, err := s.o.CaseCounts.CaseCounts(ctx, f)
		if err != nil {
			s.fail(c, err)
			return
		}
		if n.Total > MaxExportRows {
			s.fail(c, lanewatch.Errorf(lanewatch.ETooLarge, "the filter holds %d cases, an export at most %d: narrow it (since, until, status, district)", n.Total, MaxExportRows))
			return
		}
	}
	en := english(c)
	var rows [][]string
	f.Limit = store.MaxLimit
	for {
		items, next, err := s.o.Cases.List(ctx, f)
		if err != nil {
			s.fail(c, err)
			return
		}
		for _, cs := range items {
			rows = append(rows, exportRow(cs, en))
		}
		if len(rows) > MaxExportRows {
			s.fail(c, lanewatch.Errorf(lanewatch.ETooLarge, "the filter holds more than %d cases: narrow it (since, until, status, district)", MaxExportRows))
			return
		}
		if next == "" {
			break
		}
		f.Cursor = next
	}
	lang := 0
	if en {
		lang = 1
	}
	header := make([]string, len(exportColumns))
	for i, col := range exportColumns {
		header[i] = col[lang]
	}
	name := "cases-" + s.o.Now().Format("20060102-1504")
	switch format {
	case "csv":
		c.Header("Content-Type", "text/csv; charset=utf-8")
		c.Header("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		c.Status(http.StatusOK)
		_, _ = c.Writer.WriteString("\ufeff") // a BOM, so spreadsheet programs read UTF-8
		w := csv.NewWriter(c.Writer)
		_ = w.Write(header)
		for _, r := range rows {
			for i := range r {
				r[i] = csvSafe(r[i])
			}
			_ = w.Write(r)
		}
		w.Flush()
	case "xlsx":
		b, err := xlsx(header, rows, map[bool]string{true: "Cases", false: "案件"}[en])
		if err != nil {
			s.fail(c, lanewatch.Errorf(lanewatch.EInternal, "export: %v", err))
			return
		}
		c.Header("Content-Disposition", `attachment; filename="`+name+`.xlsx"`)
		c.Data(http.StatusOK, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b)
	}
}

// xlsx writes one sheet with a bold, frozen header row; every cell is a string (never a formula).
func xlsx(header []string, rows [][]string, sheet string) ([]byte, error) {
	x := excelize.NewFile()
	defer x.Close()
	if err := x.SetSheetName("Sheet1", sheet); err != nil {
		return nil, err
	}
	sw, err := x.NewStreamWriter(sheet)
	if err != nil {
		return nil, err
	}
	bold, err := x.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return nil, err
	}
	cells := func(r []string, style int) []any {
		out := make([]any, len(r))
		for i, v := range r {
			out[i] = excelize.Cell{Value: v, StyleID: style}
		}
		return out
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return nil, err
	}
	if err := sw.SetRow("A1", cells(header, bold)); err != nil {
		return nil, err
	}
	for i, r := range rows {
		if err := sw.SetRow(fmt.Sprintf("A%d", i+2), cells(r, 0)); err != nil {
			return nil, err
		}
	}
	if err := sw.Flush(); err != nil {
		return nil, err
	}
	buf, err := x.WriteToBuffer()
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
