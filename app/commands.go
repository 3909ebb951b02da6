package app

import (
	"context"
	"errors"

	"github.com/lanewatch/lanewatch/commands"
	"github.com/lanewatch/lanewatch/gateway"
	"github.com/lanewatch/lanewatch/rules"
	"github.com/lanewatch/lanewatch/store/sqlstore"
)

// commandWiring joins the command service and the broker, which each need the other: the
// broker reports subscriptions and responses to the service, the service publishes through
// the broker. The broker is set once it is built (before anything runs).
type commandWiring struct {
	svc    *commands.Service
	broker *gateway.Broker
	jt     jt808Port // JT/T 808 terminals (jt808.go)
}

var (
	_ gateway.CommandSink = (*commandWiring)(nil)
	_ commands.Publisher  = (*commandWiring)(nil)
	_ commands.Presence   = (*commandWiring)(nil)
)

func (w *commandWiring) CommandsSubscribed(id string) { w.svc.CommandsSubscribed(id) }

func (w *commandWiring) CommandResponse(ctx context.Context, id, cmd string, payload []byte) error {
	return w.svc.CommandResponse(ctx, id, cmd, payload)
}

func (w *commandWiring) Publish(topic string, payload []byte, retain bool, qos byte) error {
	if w.broker == nil {
		return errors.New("broker not started")
	}
	return w.broker.Publish(topic, payload, retain, qos)
}

// connected lists the devices connected to this node (MQTT and JT/T 808).
func (w *commandWiring) connected() []string {
	var out []string
	if w.broker != nil {
		out = w.broker.ConnectedUsernames()
	}
	if w.jt.s != nil {
		out = append(out, w.jt.s.Connected()...)
	}
	return out
}

func (w *commandWiring) CommandSubscriber(id string) bool {
	return w.broker != nil && w.broker.CommandSubscriber(id)
}

// setupCommands builds the command service (SPEC 3.1); the broker is attached by New later.
func (a *App) setupCommands() error {
	a.cmds = &commandWiring{}
	o := commands.Options{Store: a.store, Publisher: a.cmds, Presence: a.cmds,
		Transports: []commands.Transport{&a.cmds.jt}, Registerer: a.reg, Logger: a.logger, Now: a.now,
		Connected: a.cmds.connected}
	if pg, ok := a.store.(*sqlstore.Postgres); ok {
		o.Bus = pg // a command queued here reaches its device on whichever node holds it
	}
	svc, err := commands.New(o)
	if err != nil {
		return err
	}
	a.cmds.svc = svc
	return nil
}

// commandOpener sends the command of a firing (rules' command action) and passes the firing
// on to the case opener when it has a case.
type commandOpener struct {
	next rules.Opener
	cmds *commands.Service
	a    *App
}

func (o *commandOpener) OpenRuleCase(ctx context.Context, f rules.Firing) error {
	if f.Shadow || f.Command == nil {
		return o.next.OpenRuleCase(ctx, f)
	}
	if f.Category != "" {
		// The case first: a failure there is retried with the whole firing, before any command.
		if err := o.next.OpenRuleCase(ctx, f); err != nil {
			return err
		}
	}
	if f.DeviceID == "" {
		o.a.logger.Warn("rule command without a device", "rule", f.Rule, "key", f.Key)
		return nil
	}
	_, err := o.cmds.Send(ctx, f.DeviceID, f.Command.Name, f.Command.Params, f.Command.TTL, "rule:"+f.Rule)
	if err != nil && f.Category != "" {
		// Not returned: a retry would count the case's occurrence again.
		o.a.logger.Warn("rule command", "rule", f.Rule, "device", f.DeviceID, "err", err)
		return nil
	}
	return err
}
