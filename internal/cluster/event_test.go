package cluster

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/chat"
)

func TestEncodeKeepsPayloadsUnderPostgresLimit(t *testing.T) {
	t.Parallel()
	conv := uuid.New()
	msg := func(content string) Event {
		m := chat.Message{ID: uuid.New(), ConversationID: conv, Seq: 7, Sender: chat.SenderUser, Content: content, CreatedAt: time.Now()}
		data, err := m.MarshalJSON()
		require.NoError(t, err)
		return Event{Kind: KindMessage, Node: "n1", N: 1, Conversation: conv, Seq: 7, Socket: "s1", Data: data}
	}

	// A message that fits travels whole.
	p, err := encode(msg("hello"))
	require.NoError(t, err)
	e, err := decode(p)
	require.NoError(t, err)
	var got chat.Message
	require.NoError(t, json.Unmarshal(e.Data, &got))
	require.Equal(t, "hello", got.Content)

	// 4,000 code points of 3 bytes do not: the event keeps only where the
	// message is, and receivers read it.
	p, err = encode(msg(strings.Repeat("€", 4000)))
	require.NoError(t, err)
	require.LessOrEqual(t, len(p), MaxPayload)
	e, err = decode(p)
	require.NoError(t, err)
	require.Empty(t, e.Data)
	require.Equal(t, conv, e.Conversation)
	require.Equal(t, int64(7), e.Seq)
	require.Equal(t, "s1", e.Socket)

	// So does an inbox item too large to fit: only its conversation travels.
	big := json.RawMessage(`{"lastMessage":{"content":"` + strings.Repeat("日", 4000) + `"}}`)
	p, err = encode(Event{Kind: KindConversationActivity, Node: "n1", N: 2, Conversation: conv, Data: big})
	require.NoError(t, err)
	require.LessOrEqual(t, len(p), MaxPayload)
	e, err = decode(p)
	require.NoError(t, err)
	require.Empty(t, e.Data)
	require.Equal(t, conv, e.Conversation)

	// Other kinds are never cut: too large is an error.
	_, err = encode(Event{Kind: KindTyping, Node: "n1", Data: json.RawMessage(`"` + strings.Repeat("a", 8000) + `"`)})
	require.Error(t, err)

	_, err = decode([]byte(`{"k":"message"}`))
	require.Error(t, err, "an event without its node is refused")
}

func TestOwnEventsAreRecognisedWithoutDecoding(t *testing.T) {
	t.Parallel()
	b := NewBus(Config{Node: "node-1"})
	p, err := encode(Event{Kind: KindTyping, Node: "node-1", N: 3, Data: json.RawMessage(`{"typing":true}`)})
	require.NoError(t, err)
	require.True(t, b.own(p))
	for _, other := range []string{"node-10", "node-", "xnode-1"} {
		p, err := encode(Event{Kind: KindTyping, Node: other, N: 3})
		require.NoError(t, err)
		require.False(t, b.own(p), other)
	}
}

func TestMessageEncodingIsWhatJSONWouldWrite(t *testing.T) {
	t.Parallel()
	m := chat.Message{ID: uuid.New(), ConversationID: uuid.New(), Seq: 42, Sender: chat.SenderBot, Content: "a \"quoted\" é", CreatedAt: time.Now()}
	data, err := m.MarshalJSON()
	require.NoError(t, err)
	for _, socket := range []string{"", "Ab_-9xyz"} {
		e := Event{Kind: KindMessage, Node: "node-1", N: 9, Conversation: m.ConversationID, Seq: 42, Socket: socket, Data: data}
		want, err := json.Marshal(e)
		require.NoError(t, err)
		got, err := encode(e)
		require.NoError(t, err)
		require.JSONEq(t, string(want), string(got))
		require.Equal(t, string(want), string(got))
	}
}
