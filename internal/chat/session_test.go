package chat_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/chat/chattest"
	"github.com/chatgw/chatgw/internal/fakeclock"
)

func sessionService(t *testing.T, ttl time.Duration) (*chat.Service, *chattest.Store, *fakeclock.Clock) {
	t.Helper()
	store, clk := chattest.NewStore(), fakeclock.New(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	return chat.NewService(chat.ServiceConfig{Sessions: store, SessionTokenTTL: ttl, Now: clk.Now}, store, nil), store, clk
}

func TestSessionTokenExpiresWhenUnused(t *testing.T) {
	t.Parallel()
	svc, store, clk := sessionService(t, 100*time.Hour)
	ctx := context.Background()
	created, err := svc.CreateConversation(ctx, nil, nil)
	require.NoError(t, err)
	cid, tok := created.Conversation.ID, created.SessionToken

	// Used every 30 minutes for 200 hours: never expires, and the use is
	// written once per hour (1/100 of the TTL), not at every handshake.
	for range 400 {
		clk.Advance(30 * time.Minute)
		_, err := svc.AuthenticateSession(ctx, cid, tok)
		require.NoError(t, err)
	}
	require.Equal(t, 200, store.Touches())

	// Unused for just under the TTL: still good.
	clk.Advance(99 * time.Hour)
	_, err = svc.AuthenticateSession(ctx, cid, tok)
	require.NoError(t, err)

	// Unused for longer than the TTL: SESSION_INVALID, for good.
	clk.Advance(100*time.Hour + time.Second)
	_, err = svc.AuthenticateSession(ctx, cid, tok)
	require.ErrorIs(t, err, chat.ErrSessionInvalid)
	_, err = svc.RotateSessionToken(ctx, cid, tok)
	require.ErrorIs(t, err, chat.ErrSessionInvalid, "an expired token cannot rotate either")
}

func TestSessionTokenNeverExpiresWithNegativeTTL(t *testing.T) {
	t.Parallel()
	svc, _, clk := sessionService(t, -1)
	ctx := context.Background()
	created, err := svc.CreateConversation(ctx, nil, nil)
	require.NoError(t, err)
	clk.Advance(10 * 365 * 24 * time.Hour)
	_, err = svc.AuthenticateSession(ctx, created.Conversation.ID, created.SessionToken)
	require.NoError(t, err)
}

func TestSessionTokenRotationGrace(t *testing.T) {
	t.Parallel()
	svc, _, clk := sessionService(t, 0)
	ctx := context.Background()
	created, err := svc.CreateConversation(ctx, nil, nil)
	require.NoError(t, err)
	cid, oldTok := created.Conversation.ID, created.SessionToken

	newTok, err := svc.RotateSessionToken(ctx, cid, oldTok)
	require.NoError(t, err)
	require.NotEqual(t, oldTok, newTok)
	_, err = svc.AuthenticateSession(ctx, cid, newTok)
	require.NoError(t, err)

	clk.Advance(59 * time.Second)
	_, err = svc.AuthenticateSession(ctx, cid, oldTok)
	require.NoError(t, err, "the old token works for 60 more seconds")
	_, err = svc.RotateSessionToken(ctx, cid, oldTok)
	require.ErrorIs(t, err, chat.ErrSessionInvalid, "but cannot rotate again")

	clk.Advance(time.Second)
	_, err = svc.AuthenticateSession(ctx, cid, oldTok)
	require.ErrorIs(t, err, chat.ErrSessionInvalid, "then it is refused")
	_, err = svc.AuthenticateSession(ctx, cid, newTok)
	require.NoError(t, err)

	_, err = svc.RotateSessionToken(ctx, uuid.New(), newTok)
	require.ErrorIs(t, err, chat.ErrSessionInvalid)
	_, err = svc.RotateSessionToken(ctx, cid, "wrong")
	require.ErrorIs(t, err, chat.ErrSessionInvalid)
}
