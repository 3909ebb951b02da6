package app

import (
	"context"
	"strings"
	"time"
)

// RegistryChannel is the PostgreSQL NOTIFY channel on which a node announces a change it made
// to a registry every node caches: "<node id> device <device id>" or "<node id> plaques".
const RegistryChannel = "lanewatch_registry"

// announceDevice and announcePlaques are the registries' OnChange hooks: they tell the other
// nodes of a change made here (nothing on a single node).
func (a *App) announceDevice(ctx context.Context, id string) { a.announceRegistry(ctx, "device "+id) }

func (a *App) announcePlaques(ctx context.Context, _ string) { a.announceRegistry(ctx, "plaques") }

// announceRegistry tells the other nodes of a registry change (nothing on a single node).
func (a *App) announceRegistry(ctx context.Context, what string) {
	c := a.cluster
	if c == nil || c.bus == nil {
		return
	}
	nctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := c.bus.Notify(nctx, RegistryChannel, c.id+" "+what); err != nil {
		c.logger.Warn("announce registry change; other nodes see it when the device reconnects or the node restarts", "what", what, "err", err)
	}
}

// listenRegistry applies the other nodes' registry changes to this node's caches: a changed
// device is forgotten (read again from the store at its next message), a plaque change reloads
// the plaque registry. After a reconnection of the listener every cache is dropped, since a
// notification may have been missed.
func (a *App) listenRegistry(ctx context.Context) {
	c := a.cluster
	first := true
	_ = c.bus.Listen(ctx, RegistryChannel, 2*time.Second, c.logger, func(payload string) {
		if payload == "" {
			if first {
				first = false
				return
			}
			a.registry.ForgetAll()
			a.reloadPlaques(ctx, "listener reconnect")
			return
		}
		from, what, _ := strings.Cut(payload, " ")
		if from == c.id {
			return
		}
		kind, id, _ := strings.Cut(what, " ")
		switch kind {
		case "device":
			a.registry.Forget(id)
		case "plaques":
			a.reloadPlaques(ctx, from)
		}
	})
}

func (a *App) reloadPlaques(ctx context.Context, from string) {
	if a.cams == nil || a.cams.plaques == nil {
		return
	}
	if _, err := a.cams.plaques.Load(ctx); err != nil && ctx.Err() == nil {
		a.cluster.logger.Warn("reload plaque registry", "from", from, "err", err)
	}
}
