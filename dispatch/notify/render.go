package notify

import (
	"fmt"
	"strings"
	"text/template"
)

// Templates renders message text per event from Go text/template sources with the message
// variables as data ({{.case_id}}, {{.title}}, {{.deadline}}, ...).
type Templates struct{ byEvent map[string]*template.Template }

// DefaultTexts are the built-in texts per event.
var DefaultTexts = map[string]string{
	"dispatched": "【城管派遣】案件{{.case_id}} {{.title}}（{{or .district_name .district}}）已派遣至您单位，请于{{.deadline}}前签收。",
	"rework":     "【城管返工】案件{{.case_id}} {{.title}} 核查未通过，请于{{.deadline}}前重新签收处置。",
	"remind":     "【城管提醒】案件{{.case_id}} {{.title}} 即将到期（{{.deadline}}），请尽快处理。",
	"overdue":    "【城管超期】案件{{.case_id}} {{.title}} 已超过{{.deadline}}期限，请立即处理。",
	"escalate":   "【城管督办】{{or .department_name .department}}的案件{{.case_id}} {{.title}} 已超过{{.deadline}}期限，请督办。",
	"result":     "【城管回复】您反映的问题（案件{{.case_id}}）已处理：{{.status}}。{{.note}}{{if .rate_url}} 请为处理结果评分：{{.rate_url}}{{end}}",
	"duplicate":  "【城管回复】您反映的问题已由案件{{.duplicate_of}}受理，感谢您的参与。",
	"urge":       "【城管催办】案件{{.case_id}} {{.title}} 请尽快处理{{if .deadline}}（期限{{.deadline}}）{{end}}。{{.note}}",
	"reassigned": "【城管改派】案件{{.case_id}} {{.title}} 已改派至{{or .department_name .department}}，您单位无需再处理。",
	"deferred":   "【城管缓办】案件{{.case_id}} {{.title}} 已批准缓办，暂停计时至恢复办理。{{.note}}",
	"resumed":    "【城管恢复办理】案件{{.case_id}} {{.title}} 缓办结束，请于{{.deadline}}前处理。{{.note}}",
}

// NewTemplates parses texts (event -> template), falling back to DefaultTexts per event.
func NewTemplates(texts map[string]string) (*Templates, error) {
	t := &Templates{byEvent: map[string]*template.Template{}}
	for ev, src := range DefaultTexts {
		if s, ok := texts[ev]; ok {
			src = s
		}
		tpl, err := template.New(ev).Option("missingkey=zero").Parse(src)
		if err != nil {
			return nil, fmt.Errorf("template %q: %w", ev, err)
		}
		t.byEvent[ev] = tpl
	}
	for ev, src := range texts {
		if t.byEvent[ev] != nil {
			continue
		}
		tpl, err := template.New(ev).Option("missingkey=zero").Parse(src)
		if err != nil {
			return nil, fmt.Errorf("template %q: %w", ev, err)
		}
		t.byEvent[ev] = tpl
	}
	return t, nil
}

// Render returns the text of m.
func (t *Templates) Render(m Message) (string, error) {
	tpl := t.byEvent[m.Event]
	if tpl == nil {
		return "", fmt.Errorf("no template for event %q", m.Event)
	}
	var b strings.Builder
	if err := tpl.Execute(&b, m.Vars); err != nil {
		return "", fmt.Errorf("render %q: %w", m.Event, err)
	}
	return strings.ReplaceAll(b.String(), "<no value>", ""), nil
}

// Retryable reports whether an HTTP status is worth retrying (408, 425, 429, 5xx).
func Retryable(status int) bool {
	return status == 408 || status == 425 || status == 429 || status >= 500
}
