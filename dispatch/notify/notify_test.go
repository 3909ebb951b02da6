package notify_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lanewatch/lanewatch/dispatch/notify"
	"github.com/lanewatch/lanewatch/dispatch/notify/sms"
	"github.com/lanewatch/lanewatch/dispatch/notify/webhook"
	"github.com/lanewatch/lanewatch/dispatch/notify/wechat"
	"github.com/lanewatch/lanewatch/store"
	"github.com/lanewatch/lanewatch/store/sqlstore"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

var vars = []byte(`{"case_id":"42","title":"暴露垃圾","deadline":"2025-03-12 10:00","district":"xiqu"}`)

func enqueue(t *testing.T, st store.Store, key, ch, to string, now time.Time) {
	t.Helper()
	if _, err := st.EnqueueNotification(context.Background(), &store.Notification{Key: key, Channel: ch, Recipient: to,
		Event: "dispatched", CaseID: "42", Payload: vars, NextAttempt: now, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
}

// smsGateway fails the first `fail` requests with 503, then accepts; it records request ids.
type smsGateway struct {
	mu   sync.Mutex
	fail int
	got  []map[string]any
}

func (g *smsGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer s3cret" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if g.fail > 0 {
		g.fail--
		http.Error(w, `{"code":"BUSY"}`, http.StatusServiceUnavailable)
		return
	}
	var m map[string]any
	_ = json.NewDecoder(r.Body).Decode(&m)
	g.got = append(g.got, m)
	_, _ = w.Write([]byte(`{"code":0,"message":"ok"}`))
}

// wechatAPI speaks the token and template-send endpoints; the first send answers 40001.
type wechatAPI struct {
	mu       sync.Mutex
	tokens   int
	sends    []map[string]any
	expireOn bool
}

func (w *wechatAPI) handler(t *testing.T) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cgi-bin/token", func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		defer w.mu.Unlock()
		q := r.URL.Query()
		if q.Get("grant_type") != "client_credential" || q.Get("appid") != "wxapp" || q.Get("secret") != "wxsecret" {
			_, _ = rw.Write([]byte(`{"errcode":40013,"errmsg":"invalid appid"}`))
			return
		}
		w.tokens++
		_, _ = rw.Write([]byte(`{"access_token":"TOKEN` + string(rune('0'+w.tokens)) + `","expires_in":7200}`))
	})
	mux.HandleFunc("POST /cgi-bin/message/template/send", func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		defer w.mu.Unlock()
		tok := r.URL.Query().Get("access_token")
		if w.expireOn && tok == "TOKEN1" {
			_, _ = rw.Write([]byte(`{"errcode":40001,"errmsg":"invalid credential, access_token is invalid or not latest"}`))
			return
		}
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			t.Errorf("wechat body: %v", err)
		}
		w.sends = append(w.sends, m)
		_, _ = rw.Write([]byte(`{"errcode":0,"errmsg":"ok","msgid":200228332}`))
	})
	return mux
}

func TestDeliveryAcrossChannelsFailuresAndRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "db.sqlite")
	st, err := sqlstore.OpenSQLite(ctx, sqlstore.SQLiteOptions{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2025, 3, 12, 2, 0, 0, 0, time.UTC)}

	gw := &smsGateway{fail: 2}
	smsSrv := httptest.NewServer(gw)
	defer smsSrv.Close()
	wx := &wechatAPI{expireOn: true}
	wxSrv := httptest.NewServer(wx.handler(t))
	defer wxSrv.Close()
	var hookMu sync.Mutex
	var hookKeys []string
	hookSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hookMu.Lock()
		hookKeys = append(hookKeys, r.Header.Get("Idempotency-Key"))
		hookMu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hookSrv.Close()
	deadSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest) // permanent
	}))
	defer deadSrv.Close()

	smsN, err := sms.New(sms.Config{URL: smsSrv.URL, Token: "s3cret", TemplateCodes: map[string]string{"dispatched": "SMS_1"}}, smsSrv.Client())
	if err != nil {
		t.Fatal(err)
	}
	wxN, err := wechat.New(wechat.Config{BaseURL: wxSrv.URL, AppID: "wxapp", Secret: "wxsecret", TemplateID: "TPL"}, wxSrv.Client(), clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	hookN, err := webhook.New(webhook.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	notifiers := map[string]notify.Notifier{"sms": smsN, "wechat": wxN, "webhook": hookN}
	newDispatcher := func(st store.Store) (*notify.Dispatcher, *prometheus.Registry) {
		reg := prometheus.NewPedanticRegistry()
		d, err := notify.New(notify.Options{Outbox: st, Notifiers: notifiers, Backoff: time.Minute, MaxAttempts: 5,
			Registerer: reg, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		return d, reg
	}

	now := clk.Now()
	enqueue(t, st, "k-sms", "sms", "13800000001", now)
	enqueue(t, st, "k-wx", "wechat", "openid-1", now)
	enqueue(t, st, "k-hook", "webhook", hookSrv.URL, now)
	enqueue(t, st, "k-dead", "webhook", deadSrv.URL, now)
	enqueue(t, st, "k-none", "pager", "x", now)

	d, reg := newDispatcher(st)
	if n, err := d.Deliver(ctx); err != nil || n != 5 {
		t.Fatalf("first pass: %d %v", n, err)
	}
	res := func(reg *prometheus.Registry, ch, result string) float64 {
		mfs, _ := reg.Gather()
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				l := map[string]string{}
				for _, lp := range m.GetLabel() {
					l[lp.GetName()] = lp.GetValue()
				}
				if mf.GetName() == "lanewatch_notifications_total" && l["channel"] == ch && l["result"] == result {
					return m.GetCounter().GetValue()
				}
			}
		}
		return 0
	}
	if res(reg, "sms", "retry") != 1 || res(reg, "wechat", "retry") != 1 || res(reg, "webhook", "sent") != 1 ||
		res(reg, "webhook", "failed") != 1 || res(reg, "pager", "failed") != 1 {
		t.Fatalf("metrics after pass 1: %v", testutil.CollectAndCount(reg))
	}
	for key, want := range map[string]string{"k-sms": store.NotificationPending, "k-wx": store.NotificationPending,
		"k-hook": store.NotificationSent, "k-dead": store.NotificationFailed, "k-none": store.NotificationFailed} {
		n, err := st.GetNotification(ctx, key)
		if err != nil || n.Status != want {
			t.Fatalf("%s: %v %v, want %s", key, n, err, want)
		}
	}

	// Nothing is due before the backoff.
	if n, _ := d.Deliver(ctx); n != 0 {
		t.Fatalf("delivered %d before backoff", n)
	}
	// Restart: close the store, open it again, new dispatcher.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = sqlstore.OpenSQLite(ctx, sqlstore.SQLiteOptions{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d, reg = newDispatcher(st)
	clk.Add(time.Minute)
	if n, err := d.Deliver(ctx); err != nil || n != 2 {
		t.Fatalf("after restart: %d %v", n, err)
	}
	// SMS failed twice (503): second retry waits 2 minutes.
	if n, _ := st.GetNotification(ctx, "k-sms"); n.Status != store.NotificationPending || n.Attempts != 2 {
		t.Fatalf("sms after 2 failures: %+v", n)
	}
	if n, _ := st.GetNotification(ctx, "k-wx"); n.Status != store.NotificationSent {
		t.Fatalf("wechat after token refresh: %+v", n)
	}
	clk.Add(2 * time.Minute)
	if n, err := d.Deliver(ctx); err != nil || n != 1 {
		t.Fatalf("third sms attempt: %d %v", n, err)
	}
	if n, _ := st.GetNotification(ctx, "k-sms"); n.Status != store.NotificationSent || n.Attempts != 3 || n.SentAt == nil {
		t.Fatalf("sms: %+v", n)
	}
	if res(reg, "sms", "sent") != 1 || res(reg, "wechat", "sent") != 1 {
		t.Fatal("sent not counted after restart")
	}
	gw.mu.Lock()
	if len(gw.got) != 1 || gw.got[0]["request_id"] != "k-sms" || gw.got[0]["to"] != "13800000001" || gw.got[0]["template"] != "SMS_1" {
		t.Errorf("sms requests = %v", gw.got)
	}
	if c, _ := gw.got[0]["content"].(string); c == "" || !strings.Contains(c, "42") {
		t.Errorf("sms content = %q", c)
	}
	gw.mu.Unlock()
	wx.mu.Lock()
	if wx.tokens != 2 || len(wx.sends) != 1 || wx.sends[0]["touser"] != "openid-1" || wx.sends[0]["template_id"] != "TPL" {
		t.Errorf("wechat: tokens %d sends %v", wx.tokens, wx.sends)
	}
	wx.mu.Unlock()
	hookMu.Lock()
	if len(hookKeys) != 1 || hookKeys[0] != "k-hook" {
		t.Errorf("webhook keys = %v", hookKeys)
	}
	hookMu.Unlock()
}

func TestGiveUpAfterMaxAttempts(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, sqlstore.SQLiteOptions{Path: filepath.Join(t.TempDir(), "db.sqlite")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clk := &clock{t: time.Date(2025, 3, 12, 2, 0, 0, 0, time.UTC)}
	calls := 0
	flaky := notify.NotifierFunc(func(context.Context, notify.Message) (bool, error) {
		calls++
		return true, context.DeadlineExceeded
	})
	d, err := notify.New(notify.Options{Outbox: st, Notifiers: map[string]notify.Notifier{"sms": flaky}, Backoff: time.Second,
		MaxBackoff: 4 * time.Second, MaxAttempts: 4, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	enqueue(t, st, "k", "sms", "1", clk.Now())
	for i := 0; i < 10; i++ {
		_, _ = d.Deliver(ctx)
		clk.Add(5 * time.Second)
	}
	n, _ := st.GetNotification(ctx, "k")
	if calls != 4 || n.Status != store.NotificationFailed || n.Attempts != 4 {
		t.Fatalf("calls %d, notification %+v", calls, n)
	}
}
