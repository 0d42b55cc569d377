package gateway

import (
	"sync"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/zishang520/socket.io/servers/socket/v3"

	"github.com/chatgw/chatgw/internal/chat"
)

// hub is the gateway's registry of connected sockets: by socket id (the
// source of chatgw_sockets_connected), by identity (for
// MAX_SOCKETS_PER_IDENTITY) and by conversation (the rooms messages and
// typing indicators fan out to).
//
// The gateway keeps its own rooms rather than Socket.IO's because a
// socket's delivery of messages must be filtered and ordered per socket
// while it replays missed messages (see stream); a Socket.IO room
// broadcast writes straight into every socket's queue.
type hub struct {
	maxPerIdentity int
	gauge          prometheus.Gauge

	mu         sync.Mutex
	nextOrder  uint64
	sockets    map[socket.SocketId]*session
	byIdentity map[string][]*session // oldest first
	rooms      map[uuid.UUID]*room
	changed    chan struct{} // closed and replaced on every change
	// inbox holds the technicians' sockets that follow every conversation's
	// activity (client-join-inbox).
	inbox map[*session]struct{}
	// newRoom is called (under mu) for every room created, so its cursor
	// can learn where the conversation stands.
	newRoom func(r *room)
}

// room is a conversation with sockets on this node: its members (guarded
// by hub.mu) and the cursor that puts its messages in seq order.
type room struct {
	conv    uuid.UUID
	members map[*session]*stream
	cursor  *cursor
}

func newHub(maxPerIdentity int, gauge prometheus.Gauge) *hub {
	return &hub{
		maxPerIdentity: maxPerIdentity,
		gauge:          gauge,
		sockets:        make(map[socket.SocketId]*session),
		byIdentity:     make(map[string][]*session),
		rooms:          make(map[uuid.UUID]*room),
		inbox:          make(map[*session]struct{}),
		changed:        make(chan struct{}),
	}
}

// stream is one socket's membership of one conversation. While the socket
// replays the messages it missed (auth.lastSeq), live messages wait in
// pending, then go out after the replay; messages at or below watermark
// (the last seq the client has, from its lastSeq or the replay) are
// dropped, so no message is sent twice or out of order with the replay.
type stream struct {
	mu        sync.Mutex
	replaying bool
	watermark int64
	pending   []chat.Message
}

// register adds sess and returns the sockets of the same identity that now
// exceed the limit, oldest first; they are no longer counted against the
// identity, and the caller tells them and disconnects them.
func (h *hub) register(sess *session) (evicted []*session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.nextOrder++
	sess.order = h.nextOrder
	h.sockets[sess.id] = sess
	h.gauge.Set(float64(len(h.sockets)))
	key := sess.identity.RegistryKey()
	list := append(h.byIdentity[key], sess)
	if over := len(list) - h.maxPerIdentity; over > 0 {
		evicted = append(evicted, list[:over]...)
		list = append([]*session(nil), list[over:]...)
	}
	h.byIdentity[key] = list
	h.signal()
	return evicted
}

// unregister removes every trace of sess. It is idempotent: the disconnect
// handler and the check after installing it may both call it.
func (h *hub) unregister(sess *session) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.sockets[sess.id]; !ok {
		return false
	}
	delete(h.sockets, sess.id)
	h.gauge.Set(float64(len(h.sockets)))
	key := sess.identity.RegistryKey()
	list := h.byIdentity[key]
	for i, other := range list {
		if other == sess {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(h.byIdentity, key)
	} else {
		h.byIdentity[key] = list
	}
	for conv := range sess.rooms {
		h.removeMember(conv, sess)
	}
	sess.rooms = nil
	delete(h.inbox, sess)
	h.signal()
	return true
}

// join puts sess in the conversation's room. A new membership buffers
// live messages when replayFrom is set (its watermark is *replayFrom)
// until finishReplay; joining again keeps the existing membership. It returns nil when sess is no
// longer registered (it disconnected meanwhile), so nothing is left behind.
//
// known, when set, is the conversation's last seq read before this join: a
// room created here starts its cursor after it at once (see
// Gateway.joinRoom); otherwise newRoom reads it.
func (h *hub) join(sess *session, conv uuid.UUID, replayFrom, known *int64) (st *stream, created bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.sockets[sess.id]; !ok {
		return nil, false
	}
	if st := sess.rooms[conv]; st != nil {
		return st, false
	}
	st = &stream{}
	if replayFrom != nil {
		st.replaying = true
		st.watermark = *replayFrom
	}
	if sess.rooms == nil {
		sess.rooms = make(map[uuid.UUID]*stream)
	}
	sess.rooms[conv] = st
	r := h.rooms[conv]
	if r == nil {
		r = &room{conv: conv, members: make(map[*session]*stream), cursor: &cursor{}}
		h.rooms[conv] = r
		if known != nil {
			r.cursor.next = *known + 1
		} else if h.newRoom != nil {
			h.newRoom(r)
		}
	}
	r.members[sess] = st
	h.signal()
	return st, true
}

func (h *hub) leave(sess *session, conv uuid.UUID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if sess.rooms[conv] == nil {
		return
	}
	delete(sess.rooms, conv)
	h.removeMember(conv, sess)
	h.signal()
}

// joinInbox adds sess to the inbox's followers; false when sess is no
// longer registered.
func (h *hub) joinInbox(sess *session) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.sockets[sess.id]; !ok {
		return false
	}
	h.inbox[sess] = struct{}{}
	h.signal()
	return true
}

func (h *hub) leaveInbox(sess *session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.inbox[sess]; ok {
		delete(h.inbox, sess)
		h.signal()
	}
}

// inboxFollowers returns a snapshot of the inbox's followers.
func (h *hub) inboxFollowers() []*session {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*session, 0, len(h.inbox))
	for sess := range h.inbox {
		out = append(out, sess)
	}
	return out
}

func (h *hub) isMember(sess *session, conv uuid.UUID) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return sess.rooms[conv] != nil
}

func (h *hub) removeMember(conv uuid.UUID, sess *session) {
	r := h.rooms[conv]
	if r == nil {
		return
	}
	delete(r.members, sess)
	if len(r.members) == 0 {
		delete(h.rooms, conv)
		r.cursor.close()
	}
}

// member is a snapshot of one socket in a room.
type member struct {
	sess   *session
	stream *stream
}

// members returns a snapshot of the conversation's room, so fan-out
// happens without the hub's lock.
func (h *hub) members(conv uuid.UUID) []member {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.rooms[conv]
	if r == nil {
		return nil
	}
	out := make([]member, 0, len(r.members))
	for sess, st := range r.members {
		out = append(out, member{sess, st})
	}
	return out
}

// room returns the conversation's room, nil when no local socket is in it.
func (h *hub) room(conv uuid.UUID) *room {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.rooms[conv]
}

// roomList returns a snapshot of every room.
func (h *hub) roomList() map[uuid.UUID]*room {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[uuid.UUID]*room, len(h.rooms))
	for conv, r := range h.rooms {
		out[conv] = r
	}
	return out
}

// socket returns the session of a local socket, nil when there is none.
func (h *hub) socket(id string) *session {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sockets[socket.SocketId(id)]
}

// sessions returns a snapshot of every local socket's session.
func (h *hub) sessions() []*session {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*session, 0, len(h.sockets))
	for _, s := range h.sockets {
		out = append(out, s)
	}
	return out
}

func (h *hub) signal() {
	close(h.changed)
	h.changed = make(chan struct{})
}

// Stats describes what the gateway holds, for tests and diagnostics.
type Stats struct {
	Sockets    int // connected sockets
	Identities int // identities with at least one socket
	Rooms      int // conversations with at least one socket in their room
	Inbox      int // sockets following the inbox
	Typing     int // typing indicators waiting to expire
}

func (h *hub) stats() (Stats, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return Stats{Sockets: len(h.sockets), Identities: len(h.byIdentity), Rooms: len(h.rooms), Inbox: len(h.inbox)}, h.changed
}

// touch signals a change that is not the hub's own (typing indicators), so
// Stats waiters wake up.
func (h *hub) touch() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.signal()
}
