package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/lanewatch/lanewatch/dispatch/notify"
)

// Config of the official account.
type Config struct {
	// BaseURL of the API; default https://api.weixin.qq.com.
	BaseURL string `yaml:"base_url"`
	AppID   string `yaml:"app_id"`
	Secret  string `yaml:"secret"`
	// Templates maps events to template ids; events without one are sent with TemplateID.
	Templates  map[string]string `yaml:"templates"`
	TemplateID string            `yaml:"template_id"`
	// LinkURL, when set, is the message's link with {case_id} replaced.
	LinkURL string `yaml:"link_url"`
	// Texts override the built-in texts per event (the "first" field).
	Texts map[string]string `yaml:"texts"`
}

// Notifier sends template messages.
type Notifier struct {
	c    Config
	tpl  *notify.Templates
	http *http.Client
	now  func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
}

// New returns a notifier; client nil means http.DefaultClient, now nil time.Now.
func New(c Config, client *http.Client, now func() time.Time) (*Notifier, error) {
	if c.BaseURL == "" {
		c.BaseURL = "https://api.weixin.qq.com"
	}
	if c.AppID == "" || c.Secret == "" {
		return nil, fmt.Errorf("wechat: app_id and secret are required")
	}
	tpl, err := notify.NewTemplates(c.Texts)
	if err != nil {
		return nil, fmt.Errorf("wechat: %w", err)
	}
	if client == nil {
		client = http.DefaultClient
	}
	if now == nil {
		now = time.Now
	}
	c.BaseURL = strings.TrimSuffix(c.BaseURL, "/")
	return &Notifier{c: c, tpl: tpl, http: client, now: now}, nil
}

type apiError struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

func (n *Notifier) accessToken(ctx context.Context) (string, bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.token != "" && n.now().Before(n.expires) {
		return n.token, false, nil
	}
	q := url.Values{"grant_type": {"client_credential"}, "appid": {n.c.AppID}, "secret": {n.c.Secret}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.c.BaseURL+"/cgi-bin/token?"+q.Encode(), nil)
	if err != nil {
		return "", false, err
	}
	resp, err := n.http.Do(req)
	if err != nil {
		return "", true, fmt.Errorf("wechat token: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return "", notify.Retryable(resp.StatusCode), fmt.Errorf("wechat token: HTTP %d", resp.StatusCode)
	}
	var r struct {
		apiError
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&r); err != nil {
		return "", true, fmt.Errorf("wechat token: %w", err)
	}
	if r.ErrCode != 0 || r.AccessToken == "" {
		return "", r.ErrCode == -1, fmt.Errorf("wechat token: errcode %d: %s", r.ErrCode, r.ErrMsg)
	}
	n.token = r.AccessToken
	n.expires = n.now().Add(time.Duration(max(r.ExpiresIn-300, 60)) * time.Second)
	return n.token, false, nil
}

func (n *Notifier) dropToken() {
	n.mu.Lock()
	n.token = ""
	n.mu.Unlock()
}

type value struct {
	Value string `json:"value"`
}

// Notify sends one template message to the openid in m.Recipient.
func (n *Notifier) Notify(ctx context.Context, m notify.Message) (bool, error) {
	text, err := n.tpl.Render(m)
	if err != nil {
		return false, err
	}
	tid := n.c.Templates[m.Event]
	if tid == "" {
		tid = n.c.TemplateID
	}
	if tid == "" {
		return false, fmt.Errorf("wechat: no template id for event %q", m.Event)
	}
	tok, retry, err := n.accessToken(ctx)
	if err != nil {
		return retry, err
	}
	v := m.Vars
	msg := map[string]any{"touser": m.Recipient, "template_id": tid, "data": map[string]value{
		"first": {text}, "keyword1": {v["case_id"]}, "keyword2": {v["title"]}, "keyword3": {v["deadline"]},
		"keyword4": {v["district"]}, "remark": {v["note"]}}}
	if n.c.LinkURL != "" {
		msg["url"] = strings.ReplaceAll(n.c.LinkURL, "{case_id}", v["case_id"])
	}
	body, _ := json.Marshal(msg)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		n.c.BaseURL+"/cgi-bin/message/template/send?access_token="+url.QueryEscape(tok), bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.http.Do(req)
	if err != nil {
		return true, fmt.Errorf("wechat send: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return notify.Retryable(resp.StatusCode), fmt.Errorf("wechat send: HTTP %d", resp.StatusCode)
	}
	var r apiError
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&r); err != nil {
		return true, fmt.Errorf("wechat send: %w", err)
	}
	switch r.ErrCode {
	case 0:
		return false, nil
	case 40001, 40014, 42001:
		n.dropToken()
		return true, fmt.Errorf("wechat send: errcode %d: %s", r.ErrCode, r.ErrMsg)
	case -1, 45009:
		return true, fmt.Errorf("wechat send: errcode %d: %s", r.ErrCode, r.ErrMsg)
	}
	return false, fmt.Errorf("wechat send: errcode %d: %s", r.ErrCode, r.ErrMsg)
}
