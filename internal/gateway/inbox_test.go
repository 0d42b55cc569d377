package gateway_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
	"github.com/chatgw/chatgw/internal/chat"
)

func TestJoinInboxTechniciansOnly(t *testing.T) {
	t.Parallel()
	srv := setup(t)
	visitor := srv.Connect(t, srv.CreateAnonymous(t).Auth())
	user := srv.Connect(t, map[string]any{"token": srv.Token(t, "alice")})
	tech := srv.Connect(t, map[string]any{"token": srv.Token(t, "tom", "tecnico")})
	admin := srv.Connect(t, map[string]any{"token": srv.Token(t, "ada", "admin")})

	for sock, want := range map[*apptest.Socket]string{visitor: "UNAUTHORIZED", user: "FORBIDDEN"} {
		ack := sock.Emit(t, "client-join-inbox", map[string]any{})
		require.Equal(t, false, ack["ok"])
		require.Equal(t, want, ack["error"].(map[string]any)["code"])
		require.Equal(t, want, sock.Events.WaitFor(t, "error", 1)[0]["code"])
	}
	for _, sock := range []*apptest.Socket{tech, admin} {
		ack := sock.Emit(t, "client-join-inbox", map[string]any{})
		require.Equal(t, true, ack["ok"], "%v", ack)
	}
	srv.waitInbox(t, 2)
	ack := visitor.Emit(t, "client-join-inbox", []any{})
	require.Equal(t, "VALIDATION_FAILED", ack["error"].(map[string]any)["code"], "the payload must be an object")

	// Refused sockets follow nothing: only the technicians get the creation.
	conv := srv.CreateAnonymous(t)
	for _, sock := range []*apptest.Socket{tech, admin} {
		got := sock.Events.WaitFor(t, "conversation-activity", 1)
		require.Equal(t, conv.ConversationID, got[0]["conversationId"])
	}
	require.Empty(t, visitor.Events.Named("conversation-activity"))
	require.Empty(t, user.Events.Named("conversation-activity"))
}

// Every creation, message and status change reaches every technician in
// the inbox, as an inbox item; the room gets conversation-updated; leaving
// the inbox stops the feed.
func TestInboxFeed(t *testing.T) {
	t.Parallel()
	srv := setup(t)
	ctx := context.Background()
	tina := srv.Connect(t, map[string]any{"token": srv.Token(t, "tina", "tecnico")})
	tom := srv.Connect(t, map[string]any{"token": srv.Token(t, "tom", "tecnico")})
	for _, s := range []*apptest.Socket{tina, tom} {
		require.Equal(t, true, s.Emit(t, "client-join-inbox", map[string]any{})["ok"])
	}
	srv.waitInbox(t, 2)

	conv := srv.CreateAnonymous(t)
	visitor := srv.Connect(t, conv.Auth())
	both := func(n int) map[string]any {
		t.Helper()
		a := tina.Events.WaitFor(t, "conversation-activity", n)[n-1]
		b := tom.Events.WaitFor(t, "conversation-activity", n)[n-1]
		require.Equal(t, a, b)
		require.Equal(t, conv.ConversationID, a["conversationId"])
		return a
	}
	created := both(1)
	require.Equal(t, "open", created["status"])
	require.Nil(t, created["lastMessage"])
	require.Equal(t, false, created["awaitingReply"])
	require.Equal(t, created["createdAt"], created["lastActivityAt"])

	msg := visitor.Send(t, map[string]any{"content": "hello?"})
	item := both(2)
	require.Equal(t, msg, item["lastMessage"])
	require.Equal(t, true, item["awaitingReply"])
	require.Equal(t, "open", item["status"])

	ack := tina.Emit(t, "client-send-tecnico", map[string]any{"conversationId": conv.ConversationID, "content": "hi!"})
	require.Equal(t, true, ack["ok"])
	item = both(3)
	require.Equal(t, false, item["awaitingReply"], "answered")
	require.Equal(t, "hi!", item["lastMessage"].(map[string]any)["content"])

	techID := chat.Identity{Kind: chat.IdentityUser, UserID: "tina", Technician: true}
	convID := apptest.ParseUUID(t, conv.ConversationID)
	_, err := srv.Service.SetStatus(ctx, techID, convID, "closed")
	require.NoError(t, err)
	item = both(4)
	require.Equal(t, "closed", item["status"])
	for _, s := range []*apptest.Socket{visitor, tina} { // tina joined the room by answering
		require.Equal(t, map[string]any{"conversationId": conv.ConversationID, "status": "closed"}, s.Events.WaitFor(t, "conversation-updated", 1)[0])
	}

	// tom leaves; the visitor's message reopens the conversation.
	require.Equal(t, true, tom.Emit(t, "client-leave-inbox", map[string]any{})["ok"])
	srv.waitInbox(t, 1)
	visitor.Send(t, map[string]any{"content": "one more thing"})
	item = tina.Events.WaitFor(t, "conversation-activity", 5)[4]
	require.Equal(t, "open", item["status"])
	require.Equal(t, true, item["awaitingReply"])
	require.Equal(t, "open", visitor.Events.WaitFor(t, "conversation-updated", 2)[1]["status"])

	// Back in: tom gets what follows, and never what happened while out.
	require.Equal(t, true, tom.Emit(t, "client-join-inbox", map[string]any{})["ok"])
	visitor.Send(t, map[string]any{"content": "last"})
	got := tom.Events.WaitFor(t, "conversation-activity", 5)
	require.Len(t, got, 5)
	require.Equal(t, "last", got[4]["lastMessage"].(map[string]any)["content"])
}

// A socket that disconnects leaves the inbox.
func TestInboxForgetsDisconnectedSockets(t *testing.T) {
	t.Parallel()
	srv := setup(t)
	tech := srv.Connect(t, map[string]any{"token": srv.Token(t, "tom", "tecnico")})
	require.Equal(t, true, tech.Emit(t, "client-join-inbox", map[string]any{})["ok"])
	srv.waitInbox(t, 1)
	tech.Disconnect()
	srv.waitInbox(t, 0)
}

func (e *env) waitInbox(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(apptest.Timeout)
	for {
		st, changed := e.Gateway.Stats()
		if st.Inbox == n {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("inbox followers: %d, want %d", st.Inbox, n)
		}
	}
}

// What another node emitted (through a cluster bus) reaches this node's
// room and inbox as it came.
func TestRemoteConversationEvents(t *testing.T) {
	t.Parallel()
	srv := setup(t)
	tech := srv.Connect(t, map[string]any{"token": srv.Token(t, "tom", "tecnico")})
	require.Equal(t, true, tech.Emit(t, "client-join-inbox", map[string]any{})["ok"])
	conv := srv.CreateAnonymous(t)
	visitor := srv.Connect(t, conv.Auth())
	tech.Events.WaitFor(t, "conversation-activity", 1)
	id := apptest.ParseUUID(t, conv.ConversationID)

	srv.Gateway.RemoteConversationEvent("conversation-updated", id, []byte(`{"conversationId":"`+conv.ConversationID+`","status":"closed"}`))
	require.Equal(t, "closed", visitor.Events.WaitFor(t, "conversation-updated", 1)[0]["status"])
	srv.Gateway.RemoteConversationEvent("conversation-activity", id, []byte(`{"conversationId":"`+conv.ConversationID+`","status":"closed"}`))
	require.Equal(t, "closed", tech.Events.WaitFor(t, "conversation-activity", 2)[1]["status"])
	srv.Gateway.RemoteConversationEvent("something-else", id, []byte(`{}`))
	require.Contains(t, srv.Logs.String(), "unknown conversation event")
}
