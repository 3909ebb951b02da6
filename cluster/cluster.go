package cluster

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

	"github.com/lanewatch/lanewatch/store"
)

// RulesChannel is the PostgreSQL notification channel a node announces a changed rule set on:
// "<node id> <hash>".
const RulesChannel = "lanewatch_rules"

// RegistryChannel is the PostgreSQL NOTIFY channel on which a node announces a change it made
// to a registry every node caches: "<node id> device <device id>" or "<node id> plaques".
const RegistryChannel = "lanewatch_registry"

// listenRetry is the delay before a lost listener connects again.
const listenRetry = 2 * time.Second

// Store keeps the node list (store.Nodes).
type Store interface {
	HeartbeatNode(ctx context.Context, n store.Node) error
	ListNodes(ctx context.Context, since time.Time) ([]store.Node, error)
	DeleteNode(ctx context.Context, id string) error
}

// Bus is PostgreSQL LISTEN/NOTIFY (*sqlstore.Postgres). Listen calls fn with "" after each
// (re)connection and with each payload received, until ctx ends.
type Bus interface {
	Notify(ctx context.Context, channel, payload string) error
	Listen(ctx context.Context, channel string, retry time.Duration, logger *slog.Logger, fn func(payload string)) error
}

// Elector decides which node runs the cluster-wide singletons (*sqlstore.Leader).
type Elector interface {
	Run(ctx context.Context, onChange func(leading bool)) error
}

// RuleSet is this node's rule files (*rules.Manager through an adapter).
type RuleSet interface {
	// Hash identifies the running rule set ("" before one is loaded).
	Hash() string
	// Reload reads the rule files again and returns the hash of the running set.
	Reload(ctx context.Context, reason string) (hash string, err error)
}

// Caches is a registry cache another node's change invalidates (*devices.Registry).
type Caches interface {
	Forget(id string)
	ForgetAll()
}

// Refresher merges the other nodes' coverage into memory (*coverage.Tracker).
type Refresher interface {
	Refresh(ctx context.Context) error
}

// Options configure a Node.
type Options struct {
	Config Config
	Store  Store
	// Bus and Elector are nil on a single node (SQLite): it is always the leader and has no
	// one to tell.
	Bus     Bus
	Elector Elector
	Logger  *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Followers are the components a running node keeps in step with the other nodes; any may be
// nil (not followed).
type Followers struct {
	// Rules are announced when their hash changes and reloaded on another node's announcement.
	Rules RuleSet
	// Devices drops a device another node changed.
	Devices Caches
	// ReloadPlaques reloads the plaque registry another node changed.
	ReloadPlaques func(ctx context.Context) error
	// Coverage is re-read every coverage_refresh.
	Coverage Refresher
	// Self describes this node for its heartbeat row: listen addresses (the configured
	// http_addr and mqtt_addr take precedence) and connected devices.
	Self func() Self
}

// Self is what a node reports of itself in its heartbeat.
type Self struct {
	HTTPAddr, MQTTAddr string
	Devices            []string
}

// Info is the node list as this node sees it.
type Info struct {
	// Node is this node's id; Leader whether it runs the cluster singletons.
	Node   string
	Leader bool
	// Nodes were seen within three heartbeats, ordered by id.
	Nodes []store.Node
}

// Node is this process's membership. Safe for concurrent use.
type Node struct {
	o       Options
	id      string
	started time.Time
	logger  *slog.Logger

	mu      sync.Mutex
	leading bool
	changed chan struct{} // closed and replaced at every change of leading
	// announced is the rule-set hash last announced or adopted from another node.
	announced string
}

// New gives the node its identity (Config.ID, or the hostname plus a random suffix).
func New(o Options) (*Node, error) {
	if o.Store == nil {
		return nil, fmt.Errorf("cluster: Store is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Config.Defaults()
	if err := o.Config.Validate(); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	id := o.Config.ID
	if id == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "node"
		}
		var b [3]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("node id: %w", err)
		}
		id = host + "-" + hex.EncodeToString(b[:])
	}
	n := &Node{o: o, id: id, started: o.Now().UTC(), logger: o.Logger.With("component", "cluster", "node", id),
		changed: make(chan struct{}), leading: o.Elector == nil}
	n.logger.Info("node identity", "multi_node", o.Bus != nil)
	return n, nil
}

// ID is the node's id.
func (n *Node) ID() string { return n.id }

// MultiNode reports whether other nodes may share the store (a notification bus is set).
func (n *Node) MultiNode() bool { return n.o.Bus != nil }

// state returns whether this node leads now and a channel closed at the next change.
func (n *Node) state() (bool, <-chan struct{}) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.leading, n.changed
}

// Leading reports whether this node runs the cluster-wide singletons now.
func (n *Node) Leading() bool {
	l, _ := n.state()
	return l
}

func (n *Node) setLeading(v bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.leading == v {
		return
	}
	n.leading = v
	close(n.changed)
	n.changed = make(chan struct{})
}

// WhileLeader runs fn whenever this node is the leader, cancelling fn's context when it stops
// being the leader, until ctx ends. Work that must happen once cluster-wide goes through it.
func (n *Node) WhileLeader(ctx context.Context, name string, fn func(ctx context.Context)) {
	for {
		leading, changed := n.state()
		if !leading {
			select {
			case <-ctx.Done():
				return
			case <-changed:
				continue
			}
		}
		n.logger.Info("leader: starting singleton", "singleton", name)
		fctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			fn(fctx)
		}()
		select {
		case <-ctx.Done():
		case <-changed:
			n.logger.Info("leadership lost: stopping singleton", "singleton", name)
		}
		cancel()
		<-done
		if ctx.Err() != nil {
			return
		}
	}
}

// Run runs the node's heartbeat, leader election, announcements, listeners and coverage
// refresh until ctx ends; then it removes the node's row. It returns nil: failures of the
// store or the bus are logged and retried (a node keeps serving its devices without them).
func (n *Node) Run(ctx context.Context, f Followers) error {
	var wg sync.WaitGroup
	if n.o.Elector != nil {
		wg.Go(func() {
			if err := n.o.Elector.Run(ctx, n.setLeading); err != nil && ctx.Err() == nil {
				n.logger.Warn("leader election stopped", "err", err)
			}
		})
	}
	if n.o.Bus != nil {
		if f.Rules != nil {
			n.mu.Lock()
			n.announced = f.Rules.Hash()
			n.mu.Unlock()
			wg.Go(func() { n.listenRules(ctx, f.Rules) })
			wg.Go(func() { n.announceRules(ctx, f.Rules) })
		}
		wg.Go(func() { n.listenRegistry(ctx, f) })
		if f.Coverage != nil {
			wg.Go(func() { n.refreshCoverage(ctx, f.Coverage) })
		}
	}
	n.heartbeat(ctx, f.Self)
	wg.Wait()
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := n.o.Store.DeleteNode(dctx, n.id); err != nil {
		n.logger.Warn("remove node row", "err", err)
	}
	return nil
}

func (n *Node) row(self func() Self) store.Node {
	var s Self
	if self != nil {
		s = self()
	}
	if n.o.Config.HTTPAddr != "" {
		s.HTTPAddr = n.o.Config.HTTPAddr
	}
	if n.o.Config.MQTTAddr != "" {
		s.MQTTAddr = n.o.Config.MQTTAddr
	}
	return store.Node{ID: n.id, HTTPAddr: s.HTTPAddr, MQTTAddr: s.MQTTAddr, StartedAt: n.started,
		LastSeen: n.o.Now().UTC(), Devices: s.Devices}
}

func (n *Node) heartbeat(ctx context.Context, self func() Self) {
	t := time.NewTicker(time.Duration(n.o.Config.Heartbeat))
	defer t.Stop()
	for {
		if err := n.o.Store.HeartbeatNode(ctx, n.row(self)); err != nil && ctx.Err() == nil {
			n.logger.Warn("node heartbeat", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// announceRules tells the other nodes when this node's rule set changed (file watch, SIGHUP,
// API reload): NOTIFY lanewatch_rules "<node id> <hash>". It looks once a second.
func (n *Node) announceRules(ctx context.Context, rs RuleSet) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h := rs.Hash()
		n.mu.Lock()
		fresh := h != "" && h != n.announced
		if fresh {
			n.announced = h
		}
		n.mu.Unlock()
		if !fresh {
			continue
		}
		if err := n.o.Bus.Notify(ctx, RulesChannel, n.id+" "+h); err != nil && ctx.Err() == nil {
			n.logger.Warn("announce rule set", "err", err)
			n.mu.Lock()
			n.announced = "" // try again at the next tick
			n.mu.Unlock()
		}
	}
}

// listenRules reloads this node's rule files when another node announces a rule set that
// differs from this node's, and after each (re)connection of the listener but the first (a
// notification may have been missed meanwhile).
func (n *Node) listenRules(ctx context.Context, rs RuleSet) {
	first := true
	_ = n.o.Bus.Listen(ctx, RulesChannel, listenRetry, n.logger, func(payload string) {
		from, hash, _ := strings.Cut(payload, " ")
		switch {
		case payload == "" && first:
			first = false
			return
		case payload == "":
			from = "listener reconnect"
		case from == n.id || hash == rs.Hash():
			return
		}
		got, err := rs.Reload(ctx, "cluster:"+from)
		if err != nil {
			return // logged and counted by the rules manager
		}
		n.mu.Lock()
		n.announced = got
		n.mu.Unlock()
		if hash != "" && got != hash {
			n.logger.Warn("rule files on this node differ from the announcing node's; deploy the same rule files to every node",
				"from", from, "their_hash", hash, "our_hash", got)
			return
		}
		n.logger.Info("rule set reloaded on another node's announcement", "from", from, "hash", got)
	})
}

// AnnounceDevice and AnnouncePlaques are the registries' OnChange hooks: they tell the other
// nodes of a change made here (nothing on a single node).
func (n *Node) AnnounceDevice(ctx context.Context, id string) { n.announceRegistry(ctx, "device "+id) }

// AnnouncePlaques tells the other nodes that the plaque registry changed here.
func (n *Node) AnnouncePlaques(ctx context.Context, _ string) { n.announceRegistry(ctx, "plaques") }

func (n *Node) announceRegistry(ctx context.Context, what string) {
	if n == nil || n.o.Bus == nil {
		return
	}
	nctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := n.o.Bus.Notify(nctx, RegistryChannel, n.id+" "+what); err != nil {
		n.logger.Warn("announce registry change; other nodes see it when the device reconnects or the node restarts", "what", what, "err", err)
	}
}

// listenRegistry applies the other nodes' registry changes to this node's caches: a changed
// device is forgotten (read again from the store at its next message), a plaque change reloads
// the plaque registry. After a reconnection of the listener every cache is dropped, since a
// notification may have been missed.
func (n *Node) listenRegistry(ctx context.Context, f Followers) {
	first := true
	reloadPlaques := func(from string) {
		if f.ReloadPlaques == nil {
			return
		}
		if err := f.ReloadPlaques(ctx); err != nil && ctx.Err() == nil {
			n.logger.Warn("reload plaque registry", "from", from, "err", err)
		}
	}
	_ = n.o.Bus.Listen(ctx, RegistryChannel, listenRetry, n.logger, func(payload string) {
		if payload == "" {
			if first {
				first = false
				return
			}
			if f.Devices != nil {
				f.Devices.ForgetAll()
			}
			reloadPlaques("listener reconnect")
			return
		}
		from, what, _ := strings.Cut(payload, " ")
		if from == n.id {
			return
		}
		kind, id, _ := strings.Cut(what, " ")
		switch kind {
		case "device":
			if f.Devices != nil {
				f.Devices.Forget(id)
			}
		case "plaques":
			reloadPlaques(from)
		}
	})
}

// refreshCoverage merges the other nodes' coverage into this node's memory periodically.
func (n *Node) refreshCoverage(ctx context.Context, r Refresher) {
	t := time.NewTicker(time.Duration(n.o.Config.CoverageRefresh))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.Refresh(ctx); err != nil && ctx.Err() == nil {
				n.logger.Warn("coverage refresh", "err", err)
			}
		}
	}
}

// RefreshOnce merges the other nodes' coverage now (before this node starts reporting and
// emitting shortfalls as the new leader); a no-op on a single node.
func (n *Node) RefreshOnce(ctx context.Context, r Refresher) {
	if n.o.Bus == nil || r == nil {
		return
	}
	if err := r.Refresh(ctx); err != nil && ctx.Err() == nil {
		n.logger.Warn("coverage refresh", "err", err)
	}
}

// Nodes lists the nodes seen within three heartbeats.
func (n *Node) Nodes(ctx context.Context) (Info, error) {
	since := n.o.Now().Add(-3 * time.Duration(n.o.Config.Heartbeat))
	nodes, err := n.o.Store.ListNodes(ctx, since)
	if err != nil {
		return Info{}, fmt.Errorf("list nodes: %w", err)
	}
	return Info{Node: n.id, Leader: n.Leading(), Nodes: nodes}, nil
}
