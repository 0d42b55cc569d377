package cluster_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
)

// A socket that fails over to a node whose room is already past its
// lastSeq (the node's cursor moved on while the socket was elsewhere) gets
// the messages after lastSeq exactly once, in order, then the live ones.
// The same holds when the node has no room for the conversation yet, and
// while messages keep being committed on another node during the join.
func TestReplayOnNodeWhoseCursorIsAhead(t *testing.T) {
	t.Parallel()
	nodes := apptest.StartCluster(t, 2, noLimits)
	logsOnFailure(t, nodes)
	anon := nodes[0].CreateAnonymous(t)
	sender := nodes[0].Token(t, "sender", "tecnico")
	send := func() {
		code, body := nodes[0].Do(t, http.MethodPost, "/v1/conversations/"+anon.ConversationID+"/messages", sender, `{"content":"m"}`)
		require.Equal(t, http.StatusCreated, code, "%v", body)
	}
	tech := func(sub string, lastSeq int) map[string]any {
		return map[string]any{"token": nodes[1].Token(t, sub, "tecnico"), "conversationId": anon.ConversationID, "lastSeq": lastSeq}
	}
	seqsOf := func(s *apptest.Socket, n int) []int {
		got := s.Events.WaitFor(t, "message", n)
		out := make([]int, len(got))
		for i, m := range got {
			out[i] = int(m["seq"].(float64))
		}
		return out
	}
	span := func(from, to int) []int {
		var out []int
		for i := from; i <= to; i++ {
			out = append(out, i)
		}
		return out
	}

	// Node 2 has no room yet: the first socket replays into a new room.
	const n = 10
	for range n {
		send()
	}
	first := nodes[1].Connect(t, tech("w1", n-3))
	require.Equal(t, span(n-2, n), seqsOf(first, 3))

	// Node 2's room (and its cursor) is at n+1 now; more messages move it on.
	for range n {
		send()
	}
	require.Equal(t, span(n-2, 2*n), seqsOf(first, 2*n-(n-3)))
	late := nodes[1].Connect(t, tech("w2", 2*n-2))
	require.Equal(t, span(2*n-1, 2*n), seqsOf(late, 2))
	send()
	require.Equal(t, span(2*n-1, 2*n+1), seqsOf(late, 3), "the replayed messages are not sent again")

	// Sends on node 1 during the joins on node 2: new rooms (each round's
	// sockets leave before the next) and existing ones alike.
	last := 2*n + 1
	for round := range 5 {
		var wg sync.WaitGroup
		const burst = 15
		wg.Go(func() {
			for range burst {
				send()
			}
		})
		from := last - 2
		a := nodes[1].Connect(t, tech("r-a", from))
		b := nodes[1].Connect(t, tech("r-b", from))
		wg.Wait()
		last += burst
		require.Equal(t, span(from+1, last), seqsOf(a, last-from), "round %d", round)
		require.Equal(t, span(from+1, last), seqsOf(b, last-from), "round %d", round)
		a.Disconnect()
		b.Disconnect()
	}
	first.Disconnect()
}
