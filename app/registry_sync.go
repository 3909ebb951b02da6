package app

import (
	"context"
	"strings"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/api"
	"github.com/lanewatch/lanewatch/devices"
	"github.com/lanewatch/lanewatch/plaques"
)

// RegistryChannel is the PostgreSQL NOTIFY channel on which a node announces a change it made
// to a registry every node caches: "<node id> device <device id>" or "<node id> plaques".
const RegistryChannel = "lanewatch_registry"

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

// announcingDevices is the API's device registry: each change is announced to the other nodes.
type announcingDevices struct {
	*devices.Registry
	a *App
}

func (d announcingDevices) Create(ctx context.Context, dev *lanewatch.Device, password string) error {
	if err := d.Registry.Create(ctx, dev, password); err != nil {
		return err
	}
	d.a.announceRegistry(ctx, "device "+dev.ID)
	return nil
}

func (d announcingDevices) Update(ctx context.Context, dev *lanewatch.Device, password string) error {
	if err := d.Registry.Update(ctx, dev, password); err != nil {
		return err
	}
	d.a.announceRegistry(ctx, "device "+dev.ID)
	return nil
}

func (d announcingDevices) SetPassword(ctx context.Context, id, password string) error {
	if err := d.Registry.SetPassword(ctx, id, password); err != nil {
		return err
	}
	d.a.announceRegistry(ctx, "device "+id)
	return nil
}

func (d announcingDevices) Delete(ctx context.Context, id string) error {
	if err := d.Registry.Delete(ctx, id); err != nil {
		return err
	}
	d.a.announceRegistry(ctx, "device "+id)
	return nil
}

// announcingPlaques is the API's plaque service: registry changes are announced.
type announcingPlaques struct {
	*plaques.Service
	a *App
}

func (p announcingPlaques) Create(ctx context.Context, pl plaques.Plaque) (*plaques.Plaque, error) {
	out, err := p.Service.Create(ctx, pl)
	if err == nil {
		p.a.announceRegistry(ctx, "plaques")
	}
	return out, err
}

func (p announcingPlaques) Update(ctx context.Context, id string, pl plaques.Plaque) (*plaques.Plaque, error) {
	out, err := p.Service.Update(ctx, id, pl)
	if err == nil {
		p.a.announceRegistry(ctx, "plaques")
	}
	return out, err
}

func (p announcingPlaques) Delete(ctx context.Context, id string) error {
	err := p.Service.Delete(ctx, id)
	if err == nil {
		p.a.announceRegistry(ctx, "plaques")
	}
	return err
}

var (
	_ api.Devices        = announcingDevices{}
	_ api.PlaqueRegistry = announcingPlaques{}
	_ api.Plaques        = announcingPlaques{}
)
