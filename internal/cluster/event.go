package cluster

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/google/uuid"
)

// Kind is what an event carries; it is also the kind label of
// chatgw_bus_events_total.
type Kind string

const (
	// KindMessage is a committed message (Data is the message JSON, or
	// empty when it would not fit in a notification: receivers then read it
	// from the database, knowing its seq).
	KindMessage Kind = "message"
	// KindTyping is a typing indicator (Data is the `typing` body).
	KindTyping Kind = "typing"
	// KindConversationUpdated is a status change (Data is the
	// `conversation-updated` body).
	KindConversationUpdated Kind = "conversation-updated"
	// KindConversationActivity feeds the technicians' inbox (Data is the
	// `conversation-activity` item, or empty when it would not fit: its
	// metadata and last message can be kilobytes of multibyte text, so
	// receivers then read the item of Conversation from the database).
	KindConversationActivity Kind = "conversation-activity"
	// KindSessionReplaced asks Node to replace its socket Socket.
	KindSessionReplaced Kind = "session-replaced"
)

// MaxPayload is the largest notification payload PostgreSQL accepts
// (8,000 bytes is refused).
const MaxPayload = 7999

// Event is one notification on the bus. Field names are short: every byte
// counts against MaxPayload.
type Event struct {
	Kind Kind `json:"k"`
	// Node is the publishing node (receivers skip their own events).
	Node string `json:"n"`
	// N numbers the node's events, so two equal events in one batch are
	// not folded into one by PostgreSQL.
	N uint64 `json:"i"`
	// Conversation and Seq locate a message (or the conversation of a
	// typing or status event).
	Conversation uuid.UUID `json:"c,omitzero"`
	Seq          int64     `json:"s,omitempty"`
	// Socket is the socket concerned: the sender to leave out of a
	// message's fan-out, the typist, or the socket to replace.
	Socket string `json:"x,omitempty"`
	// Target is the node that holds Socket (session-replaced).
	Target string          `json:"t,omitempty"`
	Data   json.RawMessage `json:"d,omitempty"`
}

// encode returns the notification payload of e. A message or an inbox
// item that does not fit travels without its body (a reference); any
// other event that does not fit is an error (they are small by
// construction).
func encode(e Event) ([]byte, error) {
	if e.Kind == KindMessage && len(e.Data) > 0 && plain(e.Node) && plain(e.Socket) {
		if b := encodeMessage(e); len(b) <= MaxPayload {
			return b, nil
		}
		e.Data = nil
	}
	b, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	if len(b) <= MaxPayload {
		return b, nil
	}
	if e.Kind == KindMessage || e.Kind == KindConversationActivity {
		e.Data = nil
		return json.Marshal(e)
	}
	return nil, fmt.Errorf("bus event %s of %d bytes is too large", e.Kind, len(b))
}

// encodeMessage is encode for the hottest event, a message whose Data is
// already compact JSON (chat.Message's encoding), without reflection or
// re-compacting Data; the fields are those json.Marshal writes, in order.
func encodeMessage(e Event) []byte {
	b := make([]byte, 0, 96+len(e.Node)+len(e.Socket)+len(e.Data))
	b = append(b, `{"k":"message","n":"`...)
	b = append(b, e.Node...)
	b = append(b, `","i":`...)
	b = strconv.AppendUint(b, e.N, 10)
	b = append(b, `,"c":"`...)
	b = append(b, e.Conversation.String()...)
	b = append(b, `","s":`...)
	b = strconv.AppendInt(b, e.Seq, 10)
	if e.Socket != "" {
		b = append(b, `,"x":"`...)
		b = append(b, e.Socket...)
		b = append(b, '"')
	}
	b = append(b, `,"d":`...)
	b = append(b, e.Data...)
	return append(b, '}')
}

// plain reports whether s needs no escaping in a JSON string.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= 0x80 {
			return false
		}
	}
	return true
}

func decode(p []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(p, &e); err != nil {
		return Event{}, fmt.Errorf("bus event: %w", err)
	}
	if e.Kind == "" || e.Node == "" {
		return Event{}, fmt.Errorf("bus event without kind or node")
	}
	return e, nil
}
