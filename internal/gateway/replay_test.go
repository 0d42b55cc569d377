package gateway_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
)

func TestReplayOnConnect(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, nil)
	anon := srv.CreateAnonymous(t)
	sender := srv.Connect(t, anon.Auth())
	for i := range 5 {
		sender.Send(t, map[string]any{"content": "m" + string(rune('1'+i))})
	}

	auth := anon.Auth()
	auth["lastSeq"] = 2
	late := srv.Connect(t, auth)
	got := late.Events.WaitFor(t, "message", 3)
	require.Equal(t, []int{3, 4, 5}, seqs(got))
	require.Equal(t, "m3", got[0]["content"])

	// lastSeq 0 replays everything; a lastSeq at the head replays nothing,
	// which a live message then proves (it is the first to arrive).
	auth["lastSeq"] = 0
	all := srv.Connect(t, auth)
	require.Equal(t, seqRange(1, 5), seqs(all.Events.WaitFor(t, "message", 5)))
	auth["lastSeq"] = 5
	head := srv.Connect(t, auth)
	sender.Send(t, map[string]any{"content": "live"})
	require.Equal(t, []int{6}, seqs(head.Events.WaitFor(t, "message", 1)))
	require.Equal(t, []int{3, 4, 5, 6}, seqs(late.Events.WaitFor(t, "message", 4)))

	// A technician reconnecting to the conversation gets the replay too.
	tech := srv.Connect(t, map[string]any{"token": srv.Token(t, "tom", "tecnico"), "conversationId": anon.ConversationID, "lastSeq": 4})
	require.Equal(t, []int{5, 6}, seqs(tech.Events.WaitFor(t, "message", 2)))
}

func TestLastSeqValidation(t *testing.T) {
	t.Parallel()
	srv := setup(t)
	anon := srv.CreateAnonymous(t)
	for _, bad := range []any{-1, 1.5, "3", []any{1}, map[string]any{}} {
		auth := anon.Auth()
		auth["lastSeq"] = bad
		code, _ := srv.ConnectError(t, auth)
		require.Equal(t, "VALIDATION_FAILED", code, "lastSeq %v", bad)
	}
	auth := anon.Auth()
	auth["lastSeq"] = nil
	srv.Connect(t, auth)
}

// A client reconnecting with lastSeq while the conversation is busy gets
// every message after lastSeq exactly once, in seq order: the replay and
// the live broadcasts neither interleave out of order nor repeat.
func TestReplayDoesNotInterleaveWithLive(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, map[string]string{"RATE_LIMIT_MESSAGES_PER_SEC": "0"})
	anon := srv.CreateAnonymous(t)
	sender := srv.Connect(t, anon.Auth())
	const before, total = 20, 80
	for range before {
		sender.Send(t, map[string]any{"content": "before"})
	}

	// One sender emits without waiting for acks, so broadcasts keep coming
	// in seq order while the replays below run.
	var wg sync.WaitGroup
	wg.Go(func() {
		for range total - before {
			sender.Socket.Emit("client-send-message", map[string]any{"content": "during"})
		}
	})
	var readers []*apptest.Socket
	for i := range 4 {
		auth := anon.Auth()
		auth["lastSeq"] = 3 + i*5
		readers = append(readers, srv.Connect(t, auth))
	}
	wg.Wait()
	for i, r := range readers {
		from := 3 + i*5 + 1
		got := r.Events.WaitFor(t, "message", total-from+1)
		require.Equal(t, seqRange(from, total), seqs(got), "reader %d", i)
	}
	// Nothing more arrives afterwards: a marker is the next message each gets.
	sender.Send(t, map[string]any{"content": "marker"})
	for i, r := range readers {
		from := 3 + i*5 + 1
		got := r.Events.WaitFor(t, "message", total-from+2)
		require.Equal(t, seqRange(from, total+1), seqs(got), "reader %d", i)
	}
}

func TestHistoryPaging(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, map[string]string{"RATE_LIMIT_MESSAGES_PER_SEC": "0"})
	anon := srv.CreateAnonymous(t)
	sock := srv.Connect(t, anon.Auth())
	for range 7 {
		sock.Send(t, map[string]any{"content": "x"})
	}
	var all []int
	after := 0
	for {
		ack := sock.Emit(t, "client-get-history", map[string]any{"afterSeq": after, "limit": 3})
		require.Equal(t, true, ack["ok"], "%v", ack)
		msgs := ack["messages"].([]any)
		for _, m := range msgs {
			all = append(all, int(m.(map[string]any)["seq"].(float64)))
		}
		if ack["hasMore"] != true {
			break
		}
		after = all[len(all)-1]
	}
	require.Equal(t, seqRange(1, 7), all)

	ack := sock.Emit(t, "client-get-history", map[string]any{"conversationId": anon.ConversationID})
	require.Len(t, ack["messages"], 7)
	require.Equal(t, false, ack["hasMore"])

	for _, bad := range []map[string]any{{"limit": 0}, {"limit": 201}, {"afterSeq": -1}, {"limit": "3"}} {
		ack := sock.Emit(t, "client-get-history", bad)
		require.Equal(t, false, ack["ok"], "%v", bad)
		require.Equal(t, "VALIDATION_FAILED", ack["error"].(map[string]any)["code"], "%v", bad)
	}
	other := srv.CreateAnonymous(t)
	ack = sock.Emit(t, "client-get-history", map[string]any{"conversationId": other.ConversationID})
	require.Equal(t, "FORBIDDEN", ack["error"].(map[string]any)["code"])
}
