package app

import (
	"context"

	"github.com/lanewatch/lanewatch/bridge"
	"github.com/lanewatch/lanewatch/gateway"
)

// fanoutPort lets the broker export through the bridge, which is built after it (the bridge
// needs the broker to import); nil until then, and without bridge.nats_url.
type fanoutPort struct{ b *bridge.Bridge }

var _ gateway.Fanout = (*fanoutPort)(nil)

func (f *fanoutPort) Export(topic string, payload []byte, qos byte, retain bool) {
	if f.b != nil {
		f.b.Export(topic, payload, qos, retain)
	}
}

// setupBridge connects the node to the NATS fan-out when bridge.nats_url is set.
func (a *App) setupBridge() error {
	if a.cfg.Bridge.NATSURL == "" {
		return nil
	}
	b, err := bridge.New(bridge.Options{Config: a.cfg.Bridge, Node: a.cluster.ID(), Registerer: a.reg, Logger: a.logger})
	if err != nil {
		return err
	}
	a.fanout.b = b
	return nil
}

// bridgeReady reports the NATS connection of the fan-out (ok when there is none).
func (a *App) bridgeReady(context.Context) error {
	if a.fanout.b == nil {
		return nil
	}
	return a.fanout.b.Ready()
}

// runBridge delivers the other nodes' messages to this node's subscribers until ctx ends.
func (a *App) runBridge(ctx context.Context) error {
	if a.fanout.b == nil {
		return nil
	}
	return a.fanout.b.Run(ctx, a.broker)
}
