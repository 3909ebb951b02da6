package dispatch

import (
	"strings"
	"time"

	"github.com/lanewatch/lanewatch"
)

// Codes of the timeline notes lanewatch writes itself. An entry stores the code and its
// parameters (times in RFC 3339 UTC, departments and districts as ids); readers get the note
// rendered in their language and the calendar's time zone (RenderNotes).
const (
	NoteAutoAccept   = "auto_accept"   // no params
	NoteAutoDispatch = "auto_dispatch" // department
	NoteDispatched   = "dispatched"    // department
	NoteDuplicate    = "duplicate"     // case
	NoteOverdue      = "overdue"       // step (dispatch, sign, handle), deadline
	NoteReassigned   = "reassigned"    // from, to
	NoteExtended     = "extended"      // text (reason and note), handle_by
	NoteRated        = "rated"         // score, comment
	// NoteResumed ends a 缓办: since (when it was deferred), step and deadline (the current
	// step's deadline after the shift), text (the operator's note).
	NoteResumed = "resumed"
)

// noteTexts are the note templates per language; {name} is a parameter.
var noteTexts = map[string]map[string]string{
	"zh": {
		NoteAutoAccept:   "系统自动立案",
		NoteAutoDispatch: "系统自动派遣至{department}",
		NoteDispatched:   "派遣至{department}",
		NoteDuplicate:    "与案件{case}重复，已并入该案件",
		NoteOverdue:      "{step}期限{deadline}已过",
		NoteReassigned:   "由{from}改派至{to}",
		NoteExtended:     "{text}\n新处置期限{handle_by}",
		NoteRated:        "评分{score}：{comment}",
		NoteResumed:      "缓办结束（{since}起），恢复办理；{step}期限{deadline}\n{text}",
	},
	"en": {
		NoteAutoAccept:   "registered automatically",
		NoteAutoDispatch: "dispatched automatically to {department}",
		NoteDispatched:   "dispatched to {department}",
		NoteDuplicate:    "duplicate of case {case}",
		NoteOverdue:      "{step} deadline {deadline} passed",
		NoteReassigned:   "reassigned from {from} to {to}",
		NoteExtended:     "{text}\nnew handling deadline {handle_by}",
		NoteRated:        "score {score}: {comment}",
		NoteResumed:      "resumed after deferral since {since}; {step} deadline {deadline}\n{text}",
	},
}

var stepNames = map[string]map[string]string{
	"zh": {"dispatch": "派遣", "sign": "签收", "handle": "处置"},
	"en": {"dispatch": "dispatch", "sign": "sign", "handle": "handling"},
}

// noteEntry is a timeline entry with a coded note; Note is the English text, kept for readers
// of the raw store.
func (s *Service) noteEntry(action, actor, code string, params map[string]string) lanewatch.TimelineEntry {
	e := lanewatch.TimelineEntry{Action: action, Actor: actor, Code: code, Params: params}
	e.Note = s.renderNote(e, "en")
	return e
}

// Lang maps an Accept-Language header to "en" when English is its first choice, else "zh".
func Lang(acceptLanguage string) string {
	first, _, _ := strings.Cut(acceptLanguage, ",")
	first, _, _ = strings.Cut(first, ";")
	if t := strings.ToLower(strings.TrimSpace(first)); t == "en" || strings.HasPrefix(t, "en-") {
		return "en"
	}
	return "zh"
}

// RenderNotes renders the coded notes of c's timeline in place in lang: "en", "zh" or an
// Accept-Language header (see Lang). Notes without a code (people's notes) stay as written.
func (s *Service) RenderNotes(c *lanewatch.Case, lang string) {
	if c == nil {
		return
	}
	lang = Lang(lang)
	for i := range c.Timeline {
		if c.Timeline[i].Code != "" {
			c.Timeline[i].Note = s.renderNote(c.Timeline[i], lang)
		}
	}
}

func (s *Service) renderNote(e lanewatch.TimelineEntry, lang string) string {
	if lang != "en" {
		lang = "zh"
	}
	tpl, ok := noteTexts[lang][e.Code]
	if !ok {
		return e.Note
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(tpl, '{')
		j := strings.IndexByte(tpl[i+1:], '}')
		if i < 0 || j < 0 {
			b.WriteString(tpl)
			return strings.TrimSpace(b.String())
		}
		b.WriteString(tpl[:i])
		b.WriteString(s.renderParam(tpl[i+1:i+1+j], e.Params[tpl[i+1:i+1+j]], lang))
		tpl = tpl[i+j+2:]
	}
}

// renderParam shows a parameter to a reader: times in the calendar's zone, departments and
// contractors by name, steps in the reader's words.
func (s *Service) renderParam(name, v, lang string) string {
	switch name {
	case "deadline", "handle_by", "since":
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t.In(s.cal.Location()).Format("2006-01-02 15:04")
		}
	case "department", "from", "to":
		if d, ok := s.router.Department(v); ok && d.Name != "" && lang == "zh" {
			return d.Name
		}
	case "step":
		if n := stepNames[lang][v]; n != "" {
			return n
		}
	}
	return v
}
