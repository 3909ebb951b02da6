package app

import (
	"time"

	"context"

	"github.com/lanewatch/lanewatch/api"
	"github.com/lanewatch/lanewatch/cluster"
	"github.com/lanewatch/lanewatch/rules"
	"github.com/lanewatch/lanewatch/store/sqlstore"
)

// setupCluster gives the node its identity and, on PostgreSQL, its leader election and
// notification bus.
func (a *App) setupCluster() error {
	o := cluster.Options{Config: a.cfg.Node, Store: a.store, Logger: a.logger, Now: a.now}
	if pg, ok := a.store.(*sqlstore.Postgres); ok {
		o.Elector = pg.NewLeader("singletons", 2*time.Second, a.logger)
		o.Bus = pg
	}
	c, err := cluster.New(o)
	if err != nil {
		return err
	}
	a.cluster = c
	return nil
}

// runCluster runs the node's membership, following this node's rules, device and plaque
// caches and coverage.
func (a *App) runCluster(ctx context.Context) error {
	f := cluster.Followers{Devices: a.registry, Self: func() cluster.Self {
		return cluster.Self{HTTPAddr: a.HTTPAddr(), MQTTAddr: a.cfg.MQTT.Addr, Devices: a.broker.ConnectedUsernames()}
	}}
	if a.cfg.RulesDir != "" {
		f.Rules = ruleSet{a.rules}
	}
	if a.coverage != nil {
		f.Coverage = a.coverage
	}
	if a.cams != nil && a.cams.plaques != nil {
		f.ReloadPlaques = func(ctx context.Context) error {
			_, err := a.cams.plaques.Load(ctx)
			return err
		}
	}
	return a.cluster.Run(ctx, f)
}

// ruleSet is the rules manager as the cluster's rule set.
type ruleSet struct{ m *rules.Manager }

func (r ruleSet) Hash() string { return r.m.Current().Hash }

func (r ruleSet) Reload(ctx context.Context, reason string) (string, error) {
	res, err := r.m.Reload(ctx, reason)
	return res.Version.Hash, err
}

// clusterView is the api.Cluster of the app.
type clusterView struct{ c *cluster.Node }

var _ api.Cluster = clusterView{}

// Nodes lists the nodes seen within three heartbeats.
func (v clusterView) Nodes(ctx context.Context) (api.ClusterInfo, error) {
	in, err := v.c.Nodes(ctx)
	if err != nil {
		return api.ClusterInfo{}, err
	}
	info := api.ClusterInfo{Node: in.Node, Leader: in.Leader, Items: make([]api.ClusterNode, 0, len(in.Nodes))}
	for _, n := range in.Nodes {
		devs := n.Devices
		if devs == nil {
			devs = []string{}
		}
		info.Items = append(info.Items, api.ClusterNode{ID: n.ID, HTTPAddr: n.HTTPAddr, MQTTAddr: n.MQTTAddr,
			StartedAt: n.StartedAt, LastSeen: n.LastSeen, Connected: len(devs), Devices: devs, Self: n.ID == in.Node})
	}
	return info, nil
}
