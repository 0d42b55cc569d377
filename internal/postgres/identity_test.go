package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/postgres"
)

func secret(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestReplyKeysFirstKeyIsRaceFree(t *testing.T) {
	t.Parallel()
	_, pool := newStore(t, postgres.StoreConfig{})
	keys := postgres.NewReplyKeys(pool)
	ctx := context.Background()

	// Eight nodes start at once, each with its own candidate first key.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			require.NoError(t, keys.EnsureFirst(ctx, fmt.Sprintf("k%d", i), secret(byte(i))))
		})
	}
	wg.Wait()
	all, err := keys.All(ctx)
	require.NoError(t, err)
	require.Len(t, all, 1, "one first key, whoever won")
	require.Equal(t, int64(1), all[0].Generation)

	// Rotations at once each get their own generation, newest first.
	for i := range 4 {
		wg.Go(func() {
			_, err := keys.Add(ctx, fmt.Sprintf("r%d", i), secret(byte(100+i)))
			require.NoError(t, err)
		})
	}
	wg.Wait()
	all, err = keys.All(ctx)
	require.NoError(t, err)
	require.Len(t, all, 5)
	for i, k := range all {
		require.Equal(t, int64(5-i), k.Generation)
	}
	require.NoError(t, keys.EnsureFirst(ctx, "late", secret(9)), "a later start adds nothing")
	all, err = keys.All(ctx)
	require.NoError(t, err)
	require.Len(t, all, 5)

	_, err = keys.Add(ctx, "short", []byte("too short"))
	require.Error(t, err, "the table refuses keys under 32 bytes")
}

func TestSessionTouchAndRotate(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, postgres.StoreConfig{})
	ctx := context.Background()
	created := time.Now().UTC().Truncate(time.Microsecond)
	c, err := s.CreateConversation(ctx, chat.Conversation{ID: uuid.Must(uuid.NewV7()), SessionTokenHash: chat.HashSessionToken("a"), SessionLastUsedAt: created})
	require.NoError(t, err)
	require.True(t, created.Equal(c.SessionLastUsedAt))

	later := created.Add(time.Hour)
	require.NoError(t, s.TouchSession(ctx, c.ID, later))
	require.NoError(t, s.TouchSession(ctx, c.ID, created), "never moves back")
	got, err := s.Conversation(ctx, c.ID)
	require.NoError(t, err)
	require.True(t, later.Equal(got.SessionLastUsedAt))

	grace := later.Add(time.Minute)
	require.NoError(t, s.RotateSessionToken(ctx, c.ID, chat.HashSessionToken("a"), chat.HashSessionToken("b"), grace, later))
	got, err = s.Conversation(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, chat.HashSessionToken("b"), got.SessionTokenHash)
	require.Equal(t, chat.HashSessionToken("a"), got.PrevSessionTokenHash)
	require.True(t, grace.Equal(got.PrevSessionValidUntil))
	require.ErrorIs(t, s.RotateSessionToken(ctx, c.ID, chat.HashSessionToken("a"), chat.HashSessionToken("c"), grace, later), chat.ErrSessionInvalid,
		"a token that is no longer current cannot rotate")

	owned := newConversation(t, s)
	require.True(t, owned.SessionLastUsedAt.IsZero())
}
