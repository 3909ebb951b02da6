package dispatch

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// Notification channels.
const (
	ChannelSMS     = "sms"
	ChannelWeChat  = "wechat"
	ChannelWebhook = "webhook"
)

// vars are the template variables of a notification about c.
func (s *Service) vars(event string, c *lanewatch.Case, deadline time.Time, note string) map[string]string {
	cat, _ := s.o.Catalog.Get(c.Category)
	v := map[string]string{
		"event": event, "case_id": c.ID, "category": c.Category, "category_name": cat.NameZH,
		"title": c.Title, "district": c.District, "department": c.Department, "status": string(c.Status),
		"urgency": c.Urgency, "note": note,
		"location": fmt.Sprintf("%.6f,%.6f", c.Location.Lat, c.Location.Lon),
	}
	if d, ok := s.router.Department(c.Department); ok {
		v["department_name"] = d.Name
	}
	if d, ok := s.router.Department(c.Contractor); ok {
		v["contractor"], v["contractor_name"] = c.Contractor, d.Name
	}
	if n := s.o.Districts.Name(c.District, "zh"); n != "" {
		v["district_name"] = n
	}
	if c.DuplicateOf != "" {
		v["duplicate_of"] = c.DuplicateOf
	}
	if !deadline.IsZero() {
		v["deadline"] = deadline.In(s.cal.Location()).Format("2006-01-02 15:04")
	}
	if v["title"] == "" {
		v["title"] = cat.NameZH
	}
	return v
}

func (s *Service) channelOn(ch string) bool { return slices.Contains(s.o.Channels, ch) }

// enqueue writes one notification per recipient; key makes it idempotent.
func (s *Service) enqueue(ctx context.Context, key, event string, c *lanewatch.Case, ch, to string, payload []byte) {
	if !s.channelOn(ch) || to == "" {
		return
	}
	now := s.o.Now().UTC()
	n := &store.Notification{Key: key + ":" + ch + ":" + to, Channel: ch, Recipient: to, Event: event,
		CaseID: c.ID, Payload: payload, NextAttempt: now, CreatedAt: now}
	if _, err := s.o.Store.EnqueueNotification(ctx, n); err != nil {
		s.logger.Warn("enqueue notification", "case", c.ID, "event", event, "channel", ch, "err", err)
	}
}

// notifyDepartment enqueues event to every contact of a department. The key includes the
// deadline, so the same step notifies once and a new deadline notifies again.
func (s *Service) notifyDepartment(ctx context.Context, event string, c *lanewatch.Case, dep string, deadline time.Time, note string) {
	s.notifyParty(ctx, fmt.Sprintf("%s:%s:%s:%d", event, c.ID, dep, deadline.Unix()), event, c, dep, deadline, note)
}

// notifyParty enqueues event to every contact of a department or contractor under key.
func (s *Service) notifyParty(ctx context.Context, key, event string, c *lanewatch.Case, dep string, deadline time.Time, note string) {
	d, ok := s.router.Department(dep)
	if !ok {
		return
	}
	payload := marshalVars(s.vars(event, c, deadline, note))
	for _, p := range d.Contacts.SMS {
		s.enqueue(ctx, key, event, c, ChannelSMS, p, payload)
	}
	for _, o := range d.Contacts.WeChat {
		s.enqueue(ctx, key, event, c, ChannelWeChat, o, payload)
	}
	s.enqueue(ctx, key, event, c, ChannelWebhook, d.Contacts.Webhook, payload)
}

// notifyReporter tells the reporter (by SMS) of a result or a duplicate.
func (s *Service) notifyReporter(ctx context.Context, event string, c *lanewatch.Case, note string) {
	if c.Reporter == nil || c.Reporter.Phone == "" {
		return
	}
	v := s.vars(event, c, time.Time{}, note)
	if event == "result" && c.Status == lanewatch.StatusClosed && c.Rating == nil {
		if u := s.RatingURL(c.ID); u != "" {
			v["rate_url"] = u
		}
	}
	s.enqueue(ctx, fmt.Sprintf("%s:%s:%s", event, c.ID, c.Status), event, c, ChannelSMS, c.Reporter.Phone, marshalVars(v))
}
