package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/lanewatch/lanewatch/api"
	"github.com/lanewatch/lanewatch/internal/yamlx"
	"github.com/lanewatch/lanewatch/store"
	"github.com/lanewatch/lanewatch/store/sqlstore"
)

// RulesChannel is the PostgreSQL notification channel a node announces a changed rule set on.
const RulesChannel = "lanewatch_rules"

// NodeConfig is the `node` section of lanewatch.yaml: this process's identity in a cluster of
// nodes sharing one PostgreSQL (ARCHITECTURE.md, Multi-node; docs/DEPLOYMENT.md).
type NodeConfig struct {
	// ID names the node (LANEWATCH_NODE_ID); default hostname plus a random suffix, new at
	// each start.
	ID string `yaml:"id"`
	// HTTPAddr and MQTTAddr are the addresses advertised in GET /api/v1/cluster; default the
	// listen addresses.
	HTTPAddr string `yaml:"http_addr"`
	MQTTAddr string `yaml:"mqtt_addr"`
	// Heartbeat is the interval of the node's row update; a node not seen for three
	// heartbeats is not listed. Default 5s.
	Heartbeat yamlx.Duration `yaml:"heartbeat"`
	// CoverageRefresh is how often the node merges the other nodes' coverage from the store
	// into memory (PostgreSQL only); default 10s.
	CoverageRefresh yamlx.Duration `yaml:"coverage_refresh"`
}

// elector decides which node runs the cluster-wide singletons (*sqlstore.Leader).
type elector interface {
	IsLeader() bool
	Run(ctx context.Context, onChange func(leading bool)) error
}

// notifyBus is PostgreSQL LISTEN/NOTIFY (*sqlstore.Postgres).
type notifyBus interface {
	Notify(ctx context.Context, channel, payload string) error
	Listen(ctx context.Context, channel string, retry time.Duration, logger *slog.Logger, fn func(payload string)) error
}

// cluster is a node's membership: identity, heartbeat, leadership and the rules channel.
type cluster struct {
	id        string
	started   time.Time
	heartbeat time.Duration
	refresh   time.Duration
	logger    *slog.Logger
	elector   elector   // nil: this node is always the leader (SQLite, single node)
	bus       notifyBus // nil: no other nodes to tell

	mu      sync.Mutex
	leading bool
	changed chan struct{} // closed and replaced at every change of leading
	// announced is the rule-set hash last announced or adopted from another node.
	announced string
}

// setupCluster gives the node its identity and, on PostgreSQL, its leader election and
// notification bus.
func (a *App) setupCluster() error {
	nc := a.cfg.Node
	id := nc.ID
	if id == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "node"
		}
		var b [3]byte
		if _, err := rand.Read(b[:]); err != nil {
			return fmt.Errorf("node id: %w", err)
		}
		id = host + "-" + hex.EncodeToString(b[:])
	}
	c := &cluster{id: id, started: a.now().UTC(), heartbeat: time.Duration(nc.Heartbeat), refresh: time.Duration(nc.CoverageRefresh),
		logger: a.logger.With("component", "cluster", "node", id), changed: make(chan struct{})}
	if c.heartbeat <= 0 {
		c.heartbeat = 5 * time.Second
	}
	if c.refresh <= 0 {
		c.refresh = 10 * time.Second
	}
	if pg, ok := a.store.(*sqlstore.Postgres); ok {
		c.elector = pg.NewLeader("singletons", 2*time.Second, a.logger)
		c.bus = pg
	} else {
		c.leading = true
	}
	a.cluster = c
	a.logger.Info("node identity", "node", id, "multi_node", c.bus != nil)
	return nil
}

// state returns whether this node leads now and a channel closed at the next change.
func (c *cluster) state() (bool, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leading, c.changed
}

func (c *cluster) setLeading(v bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.leading == v {
		return
	}
	c.leading = v
	close(c.changed)
	c.changed = make(chan struct{})
}

// whileLeader runs fn whenever this node is the leader, cancelling fn's context when it stops
// being the leader, until ctx ends. Work that must happen once cluster-wide goes through it.
func (a *App) whileLeader(ctx context.Context, name string, fn func(ctx context.Context)) {
	if a.cluster == nil {
		fn(ctx)
		return
	}
	for {
		leading, changed := a.cluster.state()
		if !leading {
			select {
			case <-ctx.Done():
				return
			case <-changed:
				continue
			}
		}
		a.cluster.logger.Info("leader: starting singleton", "singleton", name)
		fctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			fn(fctx)
		}()
		select {
		case <-ctx.Done():
		case <-changed:
			a.cluster.logger.Info("leadership lost: stopping singleton", "singleton", name)
		}
		cancel()
		<-done
		if ctx.Err() != nil {
			return
		}
	}
}

// runCluster runs the node's heartbeat, leader election, rule-set announcements and coverage
// refresh until ctx ends; then it removes the node's row.
func (a *App) runCluster(ctx context.Context) {
	c := a.cluster
	var wg sync.WaitGroup
	if c.elector != nil {
		wg.Go(func() { _ = c.elector.Run(ctx, c.setLeading) })
	}
	if c.bus != nil {
		c.mu.Lock()
		c.announced = a.rules.Current().Hash
		c.mu.Unlock()
		wg.Go(func() { a.listenRules(ctx) })
		wg.Go(func() { a.listenRegistry(ctx) })
		wg.Go(func() { a.announceRules(ctx) })
		if a.coverage != nil {
			wg.Go(func() { a.refreshCoverage(ctx) })
		}
	}
	a.heartbeat(ctx)
	wg.Wait()
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := a.store.DeleteNode(dctx, c.id); err != nil {
		c.logger.Warn("remove node row", "err", err)
	}
}

func (a *App) nodeRow() store.Node {
	c := a.cluster
	httpAddr, mqttAddr := a.cfg.Node.HTTPAddr, a.cfg.Node.MQTTAddr
	if httpAddr == "" {
		httpAddr = a.HTTPAddr()
	}
	if mqttAddr == "" {
		mqttAddr = a.cfg.MQTT.Addr
	}
	return store.Node{ID: c.id, HTTPAddr: httpAddr, MQTTAddr: mqttAddr, StartedAt: c.started,
		LastSeen: a.now().UTC(), Devices: a.broker.ConnectedUsernames()}
}

func (a *App) heartbeat(ctx context.Context) {
	t := time.NewTicker(a.cluster.heartbeat)
	defer t.Stop()
	for {
		if err := a.store.HeartbeatNode(ctx, a.nodeRow()); err != nil && ctx.Err() == nil {
			a.cluster.logger.Warn("node heartbeat", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// announceRules tells the other nodes when this node's rule set changed (file watch, SIGHUP,
// API reload): NOTIFY lanewatch_rules "<node id> <hash>".
func (a *App) announceRules(ctx context.Context) {
	c := a.cluster
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h := a.rules.Current().Hash
		c.mu.Lock()
		fresh := h != "" && h != c.announced
		if fresh {
			c.announced = h
		}
		c.mu.Unlock()
		if !fresh {
			continue
		}
		if err := c.bus.Notify(ctx, RulesChannel, c.id+" "+h); err != nil && ctx.Err() == nil {
			c.logger.Warn("announce rule set", "err", err)
			c.mu.Lock()
			c.announced = "" // try again at the next tick
			c.mu.Unlock()
		}
	}
}

// listenRules reloads this node's rule files when another node announces a rule set that
// differs from this node's, and after each (re)connection of the listener but the first (a
// notification may have been missed meanwhile).
func (a *App) listenRules(ctx context.Context) {
	c := a.cluster
	first := true
	_ = c.bus.Listen(ctx, RulesChannel, 2*time.Second, c.logger, func(payload string) {
		from, hash, _ := strings.Cut(payload, " ")
		switch {
		case payload == "" && first:
			first = false
			return
		case payload == "":
			from = "listener reconnect"
		case from == c.id || hash == a.rules.Current().Hash:
			return
		}
		if a.cfg.RulesDir == "" {
			return
		}
		res, err := a.rules.Reload(ctx, "cluster:"+from)
		if err != nil {
			return // logged and counted by the manager
		}
		c.mu.Lock()
		c.announced = res.Version.Hash
		c.mu.Unlock()
		if hash != "" && res.Version.Hash != hash {
			c.logger.Warn("rule files on this node differ from the announcing node's; deploy the same rule files to every node",
				"from", from, "their_hash", hash, "our_hash", res.Version.Hash)
			return
		}
		c.logger.Info("rule set reloaded on another node's announcement", "from", from, "hash", res.Version.Hash)
	})
}

// refreshCoverage merges the other nodes' coverage into this node's memory periodically.
func (a *App) refreshCoverage(ctx context.Context) {
	t := time.NewTicker(a.cluster.refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.coverage.Refresh(ctx); err != nil && ctx.Err() == nil {
				a.cluster.logger.Warn("coverage refresh", "err", err)
			}
		}
	}
}

// clusterView is the api.Cluster of the app.
type clusterView struct{ a *App }

var _ api.Cluster = clusterView{}

// Nodes lists the nodes seen within three heartbeats.
func (v clusterView) Nodes(ctx context.Context) (api.ClusterInfo, error) {
	c := v.a.cluster
	since := v.a.now().Add(-3 * c.heartbeat)
	nodes, err := v.a.store.ListNodes(ctx, since)
	if err != nil {
		return api.ClusterInfo{}, err
	}
	leading, _ := c.state()
	info := api.ClusterInfo{Node: c.id, Leader: leading, Items: make([]api.ClusterNode, 0, len(nodes))}
	for _, n := range nodes {
		devs := n.Devices
		if devs == nil {
			devs = []string{}
		}
		info.Items = append(info.Items, api.ClusterNode{ID: n.ID, HTTPAddr: n.HTTPAddr, MQTTAddr: n.MQTTAddr,
			StartedAt: n.StartedAt, LastSeen: n.LastSeen, Connected: len(devs), Devices: devs, Self: n.ID == c.id})
	}
	return info, nil
}

// refreshCoverageOnce merges the other nodes' coverage before this node starts reporting
// and emitting shortfalls as the new leader (no-op on a single node).
func (a *App) refreshCoverageOnce(ctx context.Context) {
	if a.cluster == nil || a.cluster.bus == nil {
		return
	}
	if err := a.coverage.Refresh(ctx); err != nil && ctx.Err() == nil {
		a.cluster.logger.Warn("coverage refresh", "err", err)
	}
}
