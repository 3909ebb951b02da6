package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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
	body, _ := json.Marshal(map[string]any{"key": m.Key, "event": m.Event, "case_id": m.CaseID,
		"recipient": m.Recipient, "text": text, "vars": m.Vars})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.Recipient, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", m.Key)
	if n.c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+n.c.Token)
	}
	resp, err := n.http.Do(req)
	if err != nil {
		return true, fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode/100 != 2 {
		return notify.Retryable(resp.StatusCode), fmt.Errorf("webhook: %s answered %d: %.200s", m.Recipient, resp.StatusCode, data)
	}
	return false, nil
}
