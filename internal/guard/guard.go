// Package guard notices abuse that no single request shows (contract §6):
// an IP failing authentication over and over (it is then blocked for a
// while), and a conversation whose session token is being guessed or whose
// sends are flooding. Each crossing of a threshold is one warn line
// "anomaly" and one count in chatgw_anomalies_total{kind}.
//
// Its bookkeeping is bounded whatever the number of IPs or conversations:
// each table holds at most MaxKeys entries; when one is full, expired
// entries are swept, and if that frees nothing, a counter is forgotten at
// random (a block is kept before any counter).
package guard

import (
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Anomaly kinds, the values of chatgw_anomalies_total{kind}.
const (
	KindAuthFailures    = "auth_failures"
	KindSessionGuessing = "session_guessing"
	KindSendFlood       = "send_flood"
)

// Defaults of the contract.
const (
	DefaultAuthFailures     = 20
	DefaultAuthWindow       = 10 * time.Minute
	DefaultBlockDuration    = 15 * time.Minute
	DefaultSessionGuesses   = 5
	DefaultSessionWindow    = 10 * time.Minute
	DefaultSendFloodLimited = 50
	DefaultSendFloodWindow  = time.Minute
	DefaultMaxKeys          = 100_000
)

// Config configures a Guard. Zero means default.
type Config struct {
	// AuthFailures failed authentications from one IP within AuthWindow
	// block it for BlockDuration.
	AuthFailures  int
	AuthWindow    time.Duration
	BlockDuration time.Duration
	// SessionGuesses wrong session tokens for one conversation within
	// SessionWindow are a session_guessing anomaly.
	SessionGuesses int
	SessionWindow  time.Duration
	// SendFloodLimited refusals of one conversation's sends within
	// SendFloodWindow are a send_flood anomaly.
	SendFloodLimited int
	SendFloodWindow  time.Duration
	// MaxKeys bounds each table (IPs, blocks, conversations).
	MaxKeys int

	Logger    *slog.Logger
	Anomalies *prometheus.CounterVec // kind
	// Now is the clock (tests pass a fake one). Default time.Now.
	Now func() time.Time
}

// Guard keeps the counts. Its methods are safe for concurrent use; a nil
// *Guard notices nothing and blocks nobody.
type Guard struct {
	cfg Config

	mu       sync.Mutex
	failures *windowTable // by IP
	blocks   map[string]time.Time
	guesses  *windowTable // by conversation
	floods   *windowTable // by conversation
}

// New returns a Guard.
func New(cfg Config) *Guard {
	if cfg.AuthFailures <= 0 {
		cfg.AuthFailures = DefaultAuthFailures
	}
	if cfg.AuthWindow <= 0 {
		cfg.AuthWindow = DefaultAuthWindow
	}
	if cfg.BlockDuration <= 0 {
		cfg.BlockDuration = DefaultBlockDuration
	}
	if cfg.SessionGuesses <= 0 {
		cfg.SessionGuesses = DefaultSessionGuesses
	}
	if cfg.SessionWindow <= 0 {
		cfg.SessionWindow = DefaultSessionWindow
	}
	if cfg.SendFloodLimited <= 0 {
		cfg.SendFloodLimited = DefaultSendFloodLimited
	}
	if cfg.SendFloodWindow <= 0 {
		cfg.SendFloodWindow = DefaultSendFloodWindow
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = DefaultMaxKeys
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Guard{
		cfg:      cfg,
		failures: newWindowTable(cfg.AuthWindow, cfg.MaxKeys),
		blocks:   make(map[string]time.Time),
		guesses:  newWindowTable(cfg.SessionWindow, cfg.MaxKeys),
		floods:   newWindowTable(cfg.SendFloodWindow, cfg.MaxKeys),
	}
}

// Blocked says whether ip is blocked now, and for how much longer.
func (g *Guard) Blocked(ip string) (bool, time.Duration) {
	if g == nil {
		return false, 0
	}
	now := g.cfg.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	until, ok := g.blocks[ip]
	if !ok {
		return false, 0
	}
	if !now.Before(until) {
		delete(g.blocks, ip)
		return false, 0
	}
	return true, until.Sub(now)
}

// AuthFailed counts a failed authentication from ip (a handshake refused
// with SESSION_INVALID or TOKEN_INVALID, an HTTP 401 other than
// TOKEN_EXPIRED); the AuthFailures-th within AuthWindow blocks ip.
func (g *Guard) AuthFailed(ip string) {
	if g == nil || ip == "" {
		return
	}
	now := g.cfg.Now()
	g.mu.Lock()
	n := g.failures.add(ip, now)
	blocked := n >= g.cfg.AuthFailures
	if blocked {
		g.failures.forget(ip)
		g.block(ip, now)
	}
	g.mu.Unlock()
	if blocked {
		g.report(KindAuthFailures, "client_ip", ip, "block", g.cfg.BlockDuration.String())
	}
}

// block records ip's block; call with mu held.
func (g *Guard) block(ip string, now time.Time) {
	if _, ok := g.blocks[ip]; !ok && len(g.blocks) >= g.cfg.MaxKeys {
		// Blocks are made at most MaxKeys per AuthFailures failures, so
		// this sweep is rare.
		for k, until := range g.blocks {
			if !now.Before(until) {
				delete(g.blocks, k)
			}
		}
		if len(g.blocks) >= g.cfg.MaxKeys {
			// Full of live blocks: one leaves early (map order is random).
			for k := range g.blocks {
				delete(g.blocks, k)
				break
			}
		}
	}
	g.blocks[ip] = now.Add(g.cfg.BlockDuration)
}

// WrongSessionToken counts a wrong session token presented for
// conversation (in a handshake or in X-Session-Token).
func (g *Guard) WrongSessionToken(conversation string) {
	if g == nil || conversation == "" {
		return
	}
	g.count(g.guesses, g.cfg.SessionGuesses, KindSessionGuessing, conversation)
}

// RateLimited counts a send refused for conversation by a rate limit.
func (g *Guard) RateLimited(conversation string) {
	if g == nil || conversation == "" {
		return
	}
	g.count(g.floods, g.cfg.SendFloodLimited, KindSendFlood, conversation)
}

// count reports the anomaly once, when the threshold is crossed within a
// window; the next window starts counting again.
func (g *Guard) count(t *windowTable, threshold int, kind, conversation string) {
	now := g.cfg.Now()
	g.mu.Lock()
	n := t.add(conversation, now)
	g.mu.Unlock()
	if n == threshold {
		g.report(kind, "conversation_id", conversation)
	}
}

func (g *Guard) report(kind string, attrs ...any) {
	g.cfg.Logger.Warn("anomaly", append([]any{"kind", kind}, attrs...)...)
	if g.cfg.Anomalies != nil {
		g.cfg.Anomalies.WithLabelValues(kind).Inc()
	}
}

// Len is the number of entries kept, all tables together (for tests).
func (g *Guard) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.failures.m) + len(g.blocks) + len(g.guesses.m) + len(g.floods.m)
}

// windowTable counts events per key in fixed windows that start at a key's
// first event.
type windowTable struct {
	window    time.Duration
	maxKeys   int
	m         map[string]*window
	lastSweep time.Time
}

type window struct {
	start time.Time
	n     int
}

func newWindowTable(d time.Duration, maxKeys int) *windowTable {
	return &windowTable{window: d, maxKeys: maxKeys, m: make(map[string]*window)}
}

// add counts one event for key and returns the count of its window.
func (t *windowTable) add(key string, now time.Time) int {
	w := t.m[key]
	if w != nil && now.Sub(w.start) >= t.window {
		w.start, w.n = now, 0
	}
	if w == nil {
		if len(t.m) >= t.maxKeys {
			t.makeRoom(now)
		}
		w = &window{start: now}
		t.m[key] = w
	}
	w.n++
	return w.n
}

func (t *windowTable) forget(key string) { delete(t.m, key) }

// makeRoom drops expired windows (a full sweep at most once per window, so
// a flood of new keys does not make every call scan the table), or else one
// window at random (map order).
func (t *windowTable) makeRoom(now time.Time) {
	if now.Sub(t.lastSweep) >= t.window {
		t.lastSweep = now
		for k, w := range t.m {
			if now.Sub(w.start) >= t.window {
				delete(t.m, k)
			}
		}
		if len(t.m) < t.maxKeys {
			return
		}
	}
	for k := range t.m {
		delete(t.m, k)
		return
	}
}
