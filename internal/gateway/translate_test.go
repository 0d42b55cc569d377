package gateway_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/chat/chattest"
)

const internalCause = "connection refused to db.internal:5432"

// A store error the domain does not classify reaches the client as INTERNAL
// with a generic text, on the handshake and on every acked event; its own
// text goes to the log only.
func TestUnknownErrorsAreInternal(t *testing.T) {
	t.Parallel()
	srv := setup(t)
	anon := srv.CreateAnonymous(t)
	alice := srv.Token(t, "alice")
	owned := srv.CreateOwned(t, alice)
	visitor := srv.Connect(t, anon.Auth())
	owner := srv.Connect(t, map[string]any{"token": alice})

	requireInternal := func(t *testing.T, e map[string]any) {
		t.Helper()
		require.Equal(t, "INTERNAL", e["code"], "%v", e)
		require.Equal(t, "internal error", e["message"])
		require.NotContains(t, fmt.Sprint(e), "db.internal")
	}

	srv.Store.Fail(chattest.OpAppendMessage, errors.New(internalCause))
	requireInternal(t, requireAckError(t, visitor.Emit(t, "client-send-message", map[string]any{"content": "hi"}), "INTERNAL"))
	ev := visitor.Events.WaitFor(t, "error", 1)[0]
	requireInternal(t, ev)
	require.Equal(t, "client-send-message", ev["event"])

	srv.Store.Fail(chattest.OpMessagesAfter, fmt.Errorf("list messages: %w", errors.New(internalCause)))
	requireInternal(t, requireAckError(t, visitor.Emit(t, "client-get-history", map[string]any{}), "INTERNAL"))

	srv.Store.Fail(chattest.OpConversation, errors.New(internalCause))
	requireInternal(t, requireAckError(t, owner.Emit(t, "client-join-conversation", map[string]any{"conversationId": owned}), "INTERNAL"))
	code, message := srv.ConnectError(t, anon.Auth())
	require.Equal(t, "INTERNAL", code)
	require.NotContains(t, message, "db.internal")
	code, message = srv.ConnectError(t, map[string]any{"token": alice, "conversationId": owned})
	require.Equal(t, "INTERNAL", code)
	require.NotContains(t, message, "db.internal")

	require.Contains(t, srv.Logs.String(), internalCause, "the cause is logged for the operator")
}

// A domain error keeps its code however an adapter wrapped it.
func TestWrappedDomainErrorsKeepTheirCode(t *testing.T) {
	t.Parallel()
	srv := setup(t)
	anon := srv.CreateAnonymous(t)
	tech := srv.Connect(t, map[string]any{"token": srv.Token(t, "tom", "tecnico")})
	visitor := srv.Connect(t, anon.Auth())

	// The conversation was deleted between the authorization and the insert.
	srv.Store.Fail(chattest.OpAppendMessage, fmt.Errorf("append: %w", fmt.Errorf("insert: %w", chat.ErrNotFound)))
	e := requireAckError(t, tech.Emit(t, "client-send-tecnico", map[string]any{"conversationId": anon.ConversationID, "content": "hi"}), "NOT_FOUND")
	require.Equal(t, chat.ErrNotFound.Message, e["message"])
	// A visitor never learns whether its conversation still exists.
	requireAckError(t, visitor.Emit(t, "client-send-message", map[string]any{"content": "hi"}), "FORBIDDEN")
}
