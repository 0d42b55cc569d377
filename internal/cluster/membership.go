package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// MembershipConfig configures a Membership. Zero values mean the defaults.
type MembershipConfig struct {
	Pool    *pgxpool.Pool
	Node    string
	Logger  *slog.Logger
	Metrics *Metrics
	// Interval between heartbeats. Default 2s.
	Interval time.Duration
	// NodeTimeout: a node silent this long is gone; its row and its
	// sockets' rows are purged. Default 15s.
	NodeTimeout time.Duration
	// TypingSilence: a node silent this long has its typing indicators
	// turned off elsewhere (contract: within 10 s). Default 6s.
	TypingSilence time.Duration
	// OnSilent is told the nodes that just went silent.
	OnSilent func(nodes []string)
	// OnForgotten is called when the database no longer knew this node
	// (it was restarted, or this node was silent long enough to be
	// purged): the node registers its sockets again.
	OnForgotten func()
	// OnTick is called after every heartbeat, successful or not (the
	// gateway's periodic gap check rides on it).
	OnTick func()
}

func (c MembershipConfig) withDefaults() MembershipConfig {
	if c.Interval <= 0 {
		c.Interval = 2 * time.Second
	}
	if c.NodeTimeout <= 0 {
		c.NodeTimeout = 15 * time.Second
	}
	if c.TypingSilence <= 0 {
		c.TypingSilence = 6 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics(noRegistry{})
	}
	return c
}

// Membership is a node's place in the cluster: its heartbeat row, the
// purge of nodes gone silent, chatgw_cluster_nodes, and the registry of
// the sockets it holds.
type Membership struct {
	cfg MembershipConfig

	mu     sync.Mutex
	silent map[string]bool // nodes already reported silent
	known  map[string]bool // nodes present at the last survey

	cancel context.CancelFunc
	done   chan struct{}
}

// NewMembership returns a Membership; Start it.
func NewMembership(cfg MembershipConfig) *Membership {
	return &Membership{cfg: cfg.withDefaults(), silent: map[string]bool{}, known: map[string]bool{}}
}

// Start writes the node's row and starts the heartbeat.
func (m *Membership) Start(ctx context.Context) error {
	// A database not migrated yet (MIGRATE_ON_START=false) or not up does
	// not stop the node: the heartbeat writes its row once it can.
	if _, err := m.beat(ctx); err != nil {
		m.cfg.Logger.Warn("cluster: could not register this node yet; retrying at every heartbeat", "error", err)
	} else if err := m.survey(ctx); err != nil {
		m.cfg.Logger.Warn("cluster: could not list the nodes yet", "error", err)
	}
	hctx, cancel := context.WithCancel(context.Background())
	m.mu.Lock()
	m.cancel = cancel
	m.mu.Unlock()
	m.done = make(chan struct{})
	go m.run(hctx)
	return nil
}

// Stop ends the heartbeat and removes the node's row, and with it its
// sockets' registrations.
func (m *Membership) Stop(ctx context.Context) error {
	m.mu.Lock()
	cancel := m.cancel
	m.cancel = nil // a second Stop does nothing
	m.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	<-m.done
	_, err := m.cfg.Pool.Exec(ctx, "DELETE FROM cluster_nodes WHERE node_id = $1", m.cfg.Node)
	if err != nil {
		return fmt.Errorf("cluster: unregister node: %w", err)
	}
	return nil
}

func (m *Membership) run(ctx context.Context) {
	defer close(m.done)
	t := time.NewTicker(m.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		bctx, cancel := context.WithTimeout(ctx, m.cfg.Interval)
		inserted, err := m.beat(bctx)
		if err == nil && inserted {
			m.cfg.Logger.Warn("the database had forgotten this node; registering its sockets again")
			if m.cfg.OnForgotten != nil {
				m.cfg.OnForgotten()
			}
		}
		if err == nil {
			err = m.survey(bctx)
		}
		cancel()
		if err != nil && ctx.Err() == nil {
			m.cfg.Logger.Warn("cluster heartbeat failed", "error", err)
		}
		if m.cfg.OnTick != nil {
			m.cfg.OnTick()
		}
	}
}

// beat upserts the node's row; inserted is true when it was not there.
func (m *Membership) beat(ctx context.Context) (inserted bool, err error) {
	err = m.cfg.Pool.QueryRow(ctx, `
INSERT INTO cluster_nodes (node_id) VALUES ($1)
ON CONFLICT (node_id) DO UPDATE SET seen_at = clock_timestamp()
RETURNING xmax = 0`, m.cfg.Node).Scan(&inserted)
	return inserted, err
}

// survey purges the nodes silent for NodeTimeout (their sockets' rows go
// with them), sets chatgw_cluster_nodes, and reports nodes newly silent.
func (m *Membership) survey(ctx context.Context) error {
	b := &pgx.Batch{}
	b.Queue("DELETE FROM cluster_nodes WHERE seen_at < clock_timestamp() - make_interval(secs => $1)", m.cfg.NodeTimeout.Seconds())
	b.Queue("SELECT node_id, seen_at < clock_timestamp() - make_interval(secs => $1) FROM cluster_nodes", m.cfg.TypingSilence.Seconds())
	res := m.cfg.Pool.SendBatch(ctx, b)
	defer res.Close()
	if _, err := res.Exec(); err != nil {
		return err
	}
	rows, err := res.Query()
	if err != nil {
		return err
	}
	present := map[string]bool{}
	var newlySilent []string
	m.mu.Lock()
	for rows.Next() {
		var node string
		var quiet bool
		if err := rows.Scan(&node, &quiet); err != nil {
			m.mu.Unlock()
			return err
		}
		present[node] = true
		if node == m.cfg.Node {
			continue
		}
		if quiet && !m.silent[node] {
			m.silent[node] = true
			newlySilent = append(newlySilent, node)
		} else if !quiet {
			delete(m.silent, node)
		}
	}
	for node := range m.known {
		// Purged (by another node) before this one saw it quiet.
		if !present[node] && !m.silent[node] && node != m.cfg.Node {
			newlySilent = append(newlySilent, node)
		}
	}
	for node := range m.silent {
		if !present[node] {
			delete(m.silent, node)
		}
	}
	m.known = present
	m.mu.Unlock()
	if err := rows.Err(); err != nil {
		return err
	}
	m.cfg.Metrics.Nodes.Set(float64(len(present)))
	if len(newlySilent) > 0 && m.cfg.OnSilent != nil {
		m.cfg.OnSilent(newlySilent)
	}
	return nil
}

// Registration is one socket in the cluster registry.
type Registration struct {
	SocketID    string
	Node        string
	Identity    string
	ConnectedAt time.Time
}

// Register records a socket of identity held by this node and returns the
// sockets of that identity beyond max, oldest first by the database's
// clock, which it removes from the registry: the caller has them replaced
// (locally, or through the bus by the node holding them). One round trip:
// the three statements run as one implicit transaction, serialised per
// identity by an advisory lock.
func (m *Membership) Register(ctx context.Context, socketID, identity string, max int) (connectedAt time.Time, evicted []Registration, err error) {
	b := &pgx.Batch{}
	b.Queue("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", identity)
	b.Queue(`INSERT INTO cluster_sockets (socket_id, node_id, identity) VALUES ($1, $2, $3)
ON CONFLICT (socket_id) DO UPDATE SET node_id = EXCLUDED.node_id RETURNING connected_at`, socketID, m.cfg.Node, identity)
	b.Queue(`DELETE FROM cluster_sockets WHERE socket_id IN (
    SELECT socket_id FROM cluster_sockets WHERE identity = $1
    ORDER BY connected_at DESC, socket_id DESC OFFSET $2)
RETURNING socket_id, node_id, connected_at`, identity, max)
	res := m.cfg.Pool.SendBatch(ctx, b)
	defer res.Close()
	if _, err := res.Exec(); err != nil {
		return time.Time{}, nil, fmt.Errorf("cluster register: lock: %w", err)
	}
	if err := res.QueryRow().Scan(&connectedAt); err != nil {
		return time.Time{}, nil, fmt.Errorf("cluster register: %w", err)
	}
	rows, err := res.Query()
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("cluster register: evict: %w", err)
	}
	for rows.Next() {
		r := Registration{Identity: identity}
		if err := rows.Scan(&r.SocketID, &r.Node, &r.ConnectedAt); err != nil {
			return time.Time{}, nil, err
		}
		evicted = append(evicted, r)
	}
	if err := rows.Err(); err != nil {
		return time.Time{}, nil, fmt.Errorf("cluster register: evict: %w", err)
	}
	slices.SortFunc(evicted, func(a, b Registration) int { return a.ConnectedAt.Compare(b.ConnectedAt) })
	return connectedAt, evicted, nil
}

// Unregister forgets a socket of this node.
func (m *Membership) Unregister(ctx context.Context, socketID string) error {
	_, err := m.cfg.Pool.Exec(ctx, "DELETE FROM cluster_sockets WHERE socket_id = $1 AND node_id = $2", socketID, m.cfg.Node)
	return err
}

// RegisterAll records again the sockets this node holds, with the times
// they were first registered (after the database forgot them).
func (m *Membership) RegisterAll(ctx context.Context, regs []Registration) error {
	if len(regs) == 0 {
		return nil
	}
	ids := make([]string, len(regs))
	idents := make([]string, len(regs))
	times := make([]time.Time, len(regs))
	for i, r := range regs {
		ids[i], idents[i], times[i] = r.SocketID, r.Identity, r.ConnectedAt
	}
	_, err := m.cfg.Pool.Exec(ctx, `
INSERT INTO cluster_sockets (socket_id, node_id, identity, connected_at)
SELECT unnest($1::text[]), $2, unnest($3::text[]), unnest($4::timestamptz[])
ON CONFLICT (socket_id) DO NOTHING`, ids, m.cfg.Node, idents, times)
	if err != nil {
		return fmt.Errorf("cluster: register sockets again: %w", err)
	}
	return nil
}
