package notify

import (
	"strings"
	"testing"
)

// Every event dispatch enqueues has a text, and the texts read right with the variables
// dispatch sends (issue 15: the duplicate SMS read "已由案件duplicate of case 14受理").
func TestDefaultTexts(t *testing.T) {
	tp, err := NewTemplates(nil)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"case_id": "15", "title": "暴露垃圾", "district": "xiqu", "district_name": "西区街道",
		"department": "xiqu-office", "department_name": "西区街道城管办", "deadline": "2026-12-01 10:00",
		"duplicate_of": "14", "note": "请尽快处理", "status": "closed"}
	for ev, want := range map[string]string{
		"duplicate":  "您反映的问题已由案件14受理",
		"dispatched": "（西区街道）已派遣至您单位",
		"urge":       "【城管催办】案件15 暴露垃圾 请尽快处理（期限2026-12-01 10:00）。请尽快处理",
		"reassigned": "已改派至西区街道城管办",
		"escalate":   "西区街道城管办的案件15",
		"deferred":   "【城管缓办】案件15 暴露垃圾 已批准缓办，暂停计时至恢复办理。请尽快处理",
		"resumed":    "【城管恢复办理】案件15 暴露垃圾 缓办结束，请于2026-12-01 10:00前处理。请尽快处理",
	} {
		got, err := tp.Render(Message{Event: ev, Vars: vars})
		if err != nil || !strings.Contains(got, want) {
			t.Errorf("%s: %q (%v), want it to contain %q", ev, got, err, want)
		}
	}
	delete(vars, "district_name")
	if got, _ := tp.Render(Message{Event: "dispatched", Vars: vars}); !strings.Contains(got, "（xiqu）") {
		t.Errorf("dispatched without a district name: %q", got)
	}
}
