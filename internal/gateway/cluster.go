package gateway

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Cluster is what the gateway needs of the other nodes (cluster.Bus and
// cluster.Membership, adapted by the app): a bus for what their sockets
// must see, and the cluster-wide socket registry.
type Cluster interface {
	// Node is this node's id.
	Node() string
	// Typing publishes a local socket's typing indicator.
	Typing(conv uuid.UUID, socketID string, body json.RawMessage)
	// ConversationEvent publishes conversation-updated or
	// conversation-activity.
	ConversationEvent(kind string, conv uuid.UUID, body json.RawMessage)
	// ReplaceSocket asks node to replace its socket.
	ReplaceSocket(node, socketID string)
	// Register records a local socket of identity and returns the sockets
	// of that identity beyond max, oldest first, which it has removed
	// from the registry.
	Register(ctx context.Context, socketID, identity string, max int) (connectedAt time.Time, evicted []ClusterSocket, err error)
	// Unregister forgets a local socket.
	Unregister(ctx context.Context, socketID string) error
	// RegisterAll records local sockets again (the database forgot them).
	RegisterAll(ctx context.Context, sockets []ClusterSocket) error
}

// ClusterSocket is a socket in the cluster registry.
type ClusterSocket struct {
	ID          string
	Node        string
	Identity    string
	ConnectedAt time.Time
}

// registration is a socket's state in the cluster registry.
type registration struct {
	mu          sync.Mutex
	state       registrationState
	connectedAt time.Time
}

type registrationState int

const (
	regNone registrationState = iota
	regPending
	regDone
	regClosed // disconnected: register no more, unregister what was
)

// registerCluster records a new socket in the cluster registry and
// replaces the sockets of its identity beyond MAX_SOCKETS_PER_IDENTITY on
// whichever node holds them. It runs in the handshake (one round trip), so
// the database's clock orders sockets as they connect. Should the database
// refuse, the socket counts only once the node registers its sockets again
// (Reregister).
func (g *Gateway) registerCluster(sess *session) {
	if g.cfg.Cluster == nil {
		return
	}
	reg := &sess.registration
	reg.mu.Lock()
	if reg.state != regNone {
		reg.mu.Unlock()
		return
	}
	reg.state = regPending
	reg.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), g.cfg.EventTimeout)
	defer cancel()
	at, evicted, err := g.cfg.Cluster.Register(ctx, string(sess.id), sess.identity.RegistryKey(), g.cfg.MaxSocketsPerIdentity)
	reg.mu.Lock()
	closed := reg.state == regClosed
	switch {
	case err != nil && !closed:
		reg.state = regNone
	case err == nil && !closed:
		reg.state, reg.connectedAt = regDone, at
	}
	reg.mu.Unlock()
	if err != nil {
		sess.log.Warn("cluster registry unavailable; the socket is registered at the next heartbeat", "error", err)
		return
	}
	if closed {
		// It left while we registered it.
		_ = g.cfg.Cluster.Unregister(ctx, string(sess.id))
	}
	for _, old := range evicted {
		if old.Node == g.cfg.Cluster.Node() {
			g.ReplaceSocket(old.ID)
		} else {
			g.cfg.Cluster.ReplaceSocket(old.Node, old.ID)
		}
	}
}

// unregisterCluster forgets a socket that disconnected.
func (g *Gateway) unregisterCluster(sess *session) {
	if g.cfg.Cluster == nil {
		return
	}
	reg := &sess.registration
	reg.mu.Lock()
	was := reg.state
	reg.state = regClosed
	reg.mu.Unlock()
	if was != regDone {
		return // never registered, or registerCluster unregisters it
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), g.cfg.EventTimeout)
		defer cancel()
		if err := g.cfg.Cluster.Unregister(ctx, string(sess.id)); err != nil {
			sess.log.Warn("cluster registry: could not unregister the socket (its node's purge will)", "error", err)
		}
	}()
}

// Reregister records every local socket again: the database forgot this
// node (it restarted, or this node was silent long enough to be purged).
func (g *Gateway) Reregister() {
	if g.cfg.Cluster == nil {
		return
	}
	var socks []ClusterSocket
	for _, sess := range g.hub.sessions() {
		reg := &sess.registration
		reg.mu.Lock()
		if reg.state == regNone {
			reg.state, reg.connectedAt = regDone, time.Now()
		}
		if reg.state == regDone {
			socks = append(socks, ClusterSocket{ID: string(sess.id), Identity: sess.identity.RegistryKey(), ConnectedAt: reg.connectedAt})
		}
		reg.mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(context.Background(), g.cfg.EventTimeout)
	defer cancel()
	if err := g.cfg.Cluster.RegisterAll(ctx, socks); err != nil {
		g.log.Warn("cluster registry: could not register the sockets again", "error", err)
	}
}

// ReplaceSocket sends session-replaced to a local socket and disconnects
// it (the cluster registry found it the oldest of its identity beyond the
// limit).
func (g *Gateway) ReplaceSocket(socketID string) {
	sess := g.hub.socket(socketID)
	if sess == nil || sess.socket == nil {
		return
	}
	g.replace(sess)
}

// remoteTyping holds the typing indicators other nodes' sockets have on
// here, so they can be turned off when their node goes silent (it would
// never send typing:false).
type remoteTyping struct {
	mu sync.Mutex
	on map[remoteTypingKey]json.RawMessage
}

type remoteTypingKey struct {
	node, socket string
	conv         uuid.UUID
}

// RemoteTyping shows another node's socket's typing indicator to the
// conversation's sockets here.
func (g *Gateway) RemoteTyping(node string, conv uuid.UUID, socketID string, body json.RawMessage) {
	var b struct {
		Typing bool `json:"typing"`
	}
	if json.Unmarshal(body, &b) != nil {
		return
	}
	key := remoteTypingKey{node, socketID, conv}
	rt := &g.remoteTyping
	rt.mu.Lock()
	if b.Typing {
		if rt.on == nil {
			rt.on = make(map[remoteTypingKey]json.RawMessage)
		}
		rt.on[key] = body
	} else {
		delete(rt.on, key)
	}
	// Emitted under the lock, so on and off reach sockets in order.
	g.emitRoom(conv, "typing", body)
	rt.mu.Unlock()
}

// NodesSilent turns off the typing indicators of nodes gone silent.
func (g *Gateway) NodesSilent(nodes []string) {
	rt := &g.remoteTyping
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for key, body := range rt.on {
		for _, n := range nodes {
			if key.node != n {
				continue
			}
			delete(rt.on, key)
			var m map[string]any
			if json.Unmarshal(body, &m) == nil {
				m["typing"] = false
				off, _ := json.Marshal(m)
				g.emitRoom(key.conv, "typing", off)
			}
		}
	}
}

// ConversationEvent emits conversation-updated (to the conversation's
// room) or conversation-activity on this node and on every other: the
// hook the status and inbox features call.
func (g *Gateway) ConversationEvent(kind string, conv uuid.UUID, body json.RawMessage) {
	g.deliverConversationEvent(kind, conv, body)
	if g.cfg.Cluster != nil {
		g.cfg.Cluster.ConversationEvent(kind, conv, body)
	}
}

// RemoteConversationEvent delivers another node's ConversationEvent.
func (g *Gateway) RemoteConversationEvent(kind string, conv uuid.UUID, body json.RawMessage) {
	g.deliverConversationEvent(kind, conv, body)
}

func (g *Gateway) deliverConversationEvent(kind string, conv uuid.UUID, body json.RawMessage) {
	switch kind {
	case "conversation-updated":
		g.emitRoom(conv, kind, body)
	case "conversation-activity":
		g.emitToInbox(body)
	default:
		g.log.Warn("unknown conversation event", "kind", kind)
	}
}

// emitRoom sends an event to every connected socket of a conversation's
// room on this node.
func (g *Gateway) emitRoom(conv uuid.UUID, event string, body json.RawMessage) {
	for _, m := range g.hub.members(conv) {
		if m.sess.socket.Connected() {
			_ = m.sess.socket.Emit(event, body)
		}
	}
}
