package webhook

import (
	"context"
	"fmt"
	"net/http"

	"github.com/lanewatch/lanewatch/dispatch/notify"
)

// Config of the webhook channel.
type Config struct {
	// Texts override the built-in texts per event.
	Texts map[string]string `yaml:"texts"`
	// Token, when set, is sent as a bearer token.
	Token string `yaml:"token"`
}

// Notifier posts to the recipient URL.
type Notifier struct {
	c    Config
	tpl  *notify.Templates
	http *http.Client
}

// New returns a notifier; client nil means http.DefaultClient.
func New(c Config, client *http.Client) (*Notifier, error) {
	tpl, err := notify.NewTemplates(c.Texts)
	if err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	if client == nil {
		client = http.DefaultClient
	}
	return &Notifier{c: c, tpl: tpl, http: client}, nil
}

// Notify posts one message.
func (n *Notifier) Notify(ctx context.Context, m notify.Message) (bool, error) {
	text, err := n.tpl.Render(m)
	if err != nil {
		return false, err
	}
	_, retry, err := notify.PostJSON(ctx, n.http, "webhook", m.Recipient, n.c.Token, m.Key,
		map[string]any{"key": m.Key, "event": m.Event, "case_id": m.CaseID, "recipient": m.Recipient, "text": text, "vars": m.Vars})
	if err != nil {
		return retry, err
	}
	return false, nil
}
