package sms

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/lanewatch/lanewatch/dispatch/notify"
)

// Config of the gateway.
type Config struct {
	URL   string `yaml:"url"`
	Token string `yaml:"token"`
	// TemplateCodes maps events to the gateway's registered template ids (短信模板), sent as
	// "template"; the rendered text goes in "content".
	TemplateCodes map[string]string `yaml:"template_codes"`
	// Texts override the built-in texts per event (Go templates).
	Texts map[string]string `yaml:"texts"`
}

// Notifier sends SMS.
type Notifier struct {
	c    Config
	tpl  *notify.Templates
	http *http.Client
}

// New returns a notifier; client nil means http.DefaultClient.
func New(c Config, client *http.Client) (*Notifier, error) {
	if c.URL == "" {
		return nil, fmt.Errorf("sms: url is required")
	}
	tpl, err := notify.NewTemplates(c.Texts)
	if err != nil {
		return nil, fmt.Errorf("sms: %w", err)
	}
	if client == nil {
		client = http.DefaultClient
	}
	return &Notifier{c: c, tpl: tpl, http: client}, nil
}

type request struct {
	To        string            `json:"to"`
	Template  string            `json:"template,omitempty"`
	Content   string            `json:"content"`
	Params    map[string]string `json:"params"`
	RequestID string            `json:"request_id"`
}

// Notify sends one SMS.
func (n *Notifier) Notify(ctx context.Context, m notify.Message) (bool, error) {
	text, err := n.tpl.Render(m)
	if err != nil {
		return false, err
	}
	data, retry, err := notify.PostJSON(ctx, n.http, "sms", n.c.URL, n.c.Token, m.Key,
		request{To: m.Recipient, Template: n.c.TemplateCodes[m.Event], Content: text, Params: m.Vars, RequestID: m.Key})
	if err != nil {
		return retry, err
	}
	var r struct {
		OK      *bool  `json:"ok"`
		Code    any    `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &r) == nil {
		if (r.OK != nil && !*r.OK) || (r.Code != nil && fmt.Sprint(r.Code) != "0" && fmt.Sprint(r.Code) != "OK") {
			return false, fmt.Errorf("sms: gateway refused: code %v: %s", r.Code, r.Message)
		}
	}
	return false, nil
}
