package app

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/devices"
	"github.com/lanewatch/lanewatch/jt808"
	"github.com/lanewatch/lanewatch/store"
)

// phoneIndex maps JT/T 808 phone numbers (device tag jt808_phone) to device ids for the
// jt808 listener, re-reading the registry on a miss at most every 10 s (so a device added
// through the API is found, and a flood of unknown numbers costs one scan per 10 s).
type phoneIndex struct {
	*devices.Registry
	now func() time.Time

	mu     sync.Mutex
	ids    map[string]string
	loaded time.Time
}

func (p *phoneIndex) ByPhone(ctx context.Context, phone string) (*lanewatch.Device, error) {
	p.mu.Lock()
	id, ok := p.ids[phone]
	if !ok && p.now().Sub(p.loaded) >= 10*time.Second {
		if err := p.reload(ctx); err != nil {
			p.mu.Unlock()
			return nil, err
		}
		id, ok = p.ids[phone]
	}
	p.mu.Unlock()
	if !ok {
		return nil, lanewatch.Errorf(lanewatch.ENotFound, "no device has jt808_phone %q", phone)
	}
	d, err := p.Lookup(ctx, id)
	if err != nil {
		return nil, err
	}
	if d.Tags["jt808_phone"] != phone { // retagged since the index was read
		p.mu.Lock()
		p.loaded = time.Time{}
		delete(p.ids, phone)
		p.mu.Unlock()
		return nil, lanewatch.Errorf(lanewatch.ENotFound, "no device has jt808_phone %q", phone)
	}
	return d, nil
}

// reload reads every device's jt808_phone tag; p.mu is held.
func (p *phoneIndex) reload(ctx context.Context) error {
	ids := map[string]string{}
	cursor := ""
	for {
		ds, next, err := p.List(ctx, store.DeviceFilter{Limit: store.MaxLimit, Cursor: cursor})
		if err != nil {
			return fmt.Errorf("read jt808 phone numbers: %w", err)
		}
		for _, d := range ds {
			if ph := d.Tags["jt808_phone"]; ph != "" {
				ids[ph] = d.ID
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	p.ids, p.loaded = ids, p.now()
	return nil
}

// jt808Port is the jt808 server as a command transport; the server is set once built.
type jt808Port struct{ s *jt808.Server }

func (j *jt808Port) CommandSubscriber(id string) bool { return j.s != nil && j.s.CommandSubscriber(id) }

func (j *jt808Port) DeliverCommand(id, cmd, name string, params json.RawMessage, ts time.Time) error {
	if j.s == nil {
		return fmt.Errorf("jt808 listener off")
	}
	return j.s.DeliverCommand(id, cmd, name, params, ts)
}

// setupJT808 builds the JT/T 808 listener when jt808.addr is set.
func (a *App) setupJT808() error {
	if a.cfg.JT808.Addr == "" {
		return nil
	}
	s, err := jt808.New(jt808.Options{Config: a.cfg.JT808, Devices: &phoneIndex{Registry: a.registry, now: a.now},
		Journal: a.broker, DeadLetters: a.store, Commands: a.cmds, Registerer: a.reg, Logger: a.logger, Now: a.now})
	if err != nil {
		return err
	}
	a.cmds.jt.s = s
	return nil
}

// runJT808 serves JT/T 808 terminals until ctx ends.
func (a *App) runJT808(ctx context.Context) error {
	s := a.cmds.jt.s
	if s == nil {
		return nil
	}
	if err := s.Start(); err != nil {
		return err
	}
	a.logger.Info("jt808 listening", "addr", s.Addr())
	<-ctx.Done()
	return s.Close()
}
