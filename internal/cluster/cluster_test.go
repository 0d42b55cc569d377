package cluster_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/app"
	"github.com/chatgw/chatgw/internal/apptest"
	"github.com/chatgw/chatgw/internal/cluster"
)

// noLimits lets tests send as fast as they like.
var noLimits = map[string]string{"RATE_LIMIT_MESSAGES_PER_SEC": "0", "RATE_LIMIT_EVENTS_PER_SEC": "0"}

func logsOnFailure(t *testing.T, nodes []*apptest.Server) {
	t.Cleanup(func() {
		if t.Failed() {
			for i, n := range nodes {
				t.Logf("node-%d logs:\n%s", i+1, n.Logs.String())
			}
		}
	})
}

// requireSeqs waits for n `message` events and checks they are seq 1..n,
// in order, once each.
func requireSeqs(t *testing.T, s *apptest.Socket, n int) {
	t.Helper()
	got := s.Events.WaitFor(t, "message", n)
	seqs := make([]int, len(got))
	for i, m := range got {
		seqs[i] = int(m["seq"].(float64))
	}
	want := make([]int, n)
	for i := range want {
		want[i] = i + 1
	}
	require.Equal(t, want, seqs)
}

func TestFanOutEveryDirection(t *testing.T) {
	t.Parallel()
	nodes := apptest.StartCluster(t, 3, noLimits)
	logsOnFailure(t, nodes)
	anon := nodes[0].CreateAnonymous(t)
	visitor := nodes[0].Connect(t, anon.Auth())
	tech2 := nodes[1].Connect(t, map[string]any{"token": nodes[1].Token(t, "t2", "tecnico"), "conversationId": anon.ConversationID})
	tech3 := nodes[2].Connect(t, map[string]any{"token": nodes[2].Token(t, "t3", "tecnico"), "conversationId": anon.ConversationID})

	visitor.Send(t, map[string]any{"content": "from 1"})
	require.Equal(t, true, tech2.Emit(t, "client-send-tecnico", map[string]any{"conversationId": anon.ConversationID, "content": "from 2"})["ok"])
	require.Equal(t, true, tech3.Emit(t, "client-send-tecnico", map[string]any{"conversationId": anon.ConversationID, "content": "from 3"})["ok"])

	// Everyone gets the others' messages, in order, never their own.
	contents := func(s *apptest.Socket, n int) []any {
		var out []any
		for _, m := range s.Events.WaitFor(t, "message", n) {
			out = append(out, m["content"])
		}
		return out
	}
	require.Equal(t, []any{"from 2", "from 3"}, contents(visitor, 2))
	require.Equal(t, []any{"from 1", "from 3"}, contents(tech2, 2))
	require.Equal(t, []any{"from 1", "from 2"}, contents(tech3, 2))

	// A message over HTTP on node 3 reaches node 1's visitor.
	code, _ := nodes[2].Do(t, http.MethodPost, "/v1/conversations/"+anon.ConversationID+"/messages",
		nodes[2].Token(t, "t3", "tecnico"), `{"content":"over http"}`)
	require.Equal(t, http.StatusCreated, code)
	require.Equal(t, "over http", visitor.Events.WaitFor(t, "message", 3)[2]["content"])

	for _, n := range nodes {
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			assert.Equal(c, 3.0, testutil.ToFloat64(collectorOf(t, n, "chatgw_cluster_nodes")))
		}, apptest.Timeout, 20*time.Millisecond)
	}
}

func TestConcurrentSendsFromThreeNodesArriveInOrder(t *testing.T) {
	t.Parallel()
	nodes := apptest.StartCluster(t, 3, noLimits)
	logsOnFailure(t, nodes)
	anon := nodes[0].CreateAnonymous(t)
	var receivers []*apptest.Socket
	for i, n := range nodes {
		for j := range 2 {
			receivers = append(receivers, n.Connect(t, map[string]any{
				"token": n.Token(t, fmt.Sprintf("watch-%d-%d", i, j), "tecnico"), "conversationId": anon.ConversationID,
			}))
		}
	}
	const total = 300
	var wg sync.WaitGroup
	errs := make(chan error, total)
	for i := range total {
		n := nodes[i%3]
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, body := n.Do(t, http.MethodPost, "/v1/conversations/"+anon.ConversationID+"/messages",
				n.Token(t, "sender", "tecnico"), fmt.Sprintf(`{"content":"m%d"}`, i))
			if code != http.StatusCreated {
				errs <- fmt.Errorf("send %d: %d %v", i, code, body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for _, r := range receivers {
		requireSeqs(t, r, total)
	}
}

func TestListenerConnectionKilledNothingMissed(t *testing.T) {
	t.Parallel()
	nodes := apptest.StartCluster(t, 2, noLimits)
	logsOnFailure(t, nodes)
	anon := nodes[0].CreateAnonymous(t)
	visitor := nodes[0].Connect(t, anon.Auth())
	tech := nodes[1].Connect(t, map[string]any{"token": nodes[1].Token(t, "t", "tecnico"), "conversationId": anon.ConversationID})

	const total = 60
	for i := range total {
		if i == 20 || i == 40 {
			// Other tests' node-2 listen on other databases.
			require.EventuallyWithT(t, func(c *assert.CollectT) {
				var killed int
				assert.NoError(c, nodes[1].Pool.QueryRow(context.Background(),
					`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
					 WHERE application_name = $1 AND datname = current_database()`,
					cluster.ListenerApplicationName("node-2")).Scan(&killed))
				assert.Equal(c, 1, killed, "node-2's listener is found by its application_name")
			}, apptest.Timeout, 10*time.Millisecond)
		}
		visitor.Send(t, map[string]any{"content": fmt.Sprintf("m%d", i)})
	}
	requireSeqs(t, tech, total)
	require.Contains(t, nodes[1].Logs.String(), "bus listener lost its connection")
}

func TestDroppedBusEventsAreFilled(t *testing.T) {
	t.Parallel()
	dropEvery3rd := app.Option{Bus: func(c *cluster.Config) {
		c.DropReceived = func(e cluster.Event) bool { return e.Kind == cluster.KindMessage && e.Seq%3 == 0 }
	}}
	nodes := apptest.StartCluster(t, 2, noLimits, dropEvery3rd)
	logsOnFailure(t, nodes)
	anon := nodes[0].CreateAnonymous(t)
	visitor := nodes[0].Connect(t, anon.Auth())
	tech := nodes[1].Connect(t, map[string]any{"token": nodes[1].Token(t, "t", "tecnico"), "conversationId": anon.ConversationID})
	const total = 30 // the last one is dropped too: the periodic check finds it
	for i := range total {
		visitor.Send(t, map[string]any{"content": fmt.Sprintf("m%d", i)})
	}
	requireSeqs(t, tech, total)
	require.GreaterOrEqual(t, testutil.ToFloat64(collectorOf(t, nodes[1], "chatgw_bus_gap_fills_total")), float64(total/3))
}

func TestTypingAcrossNodesAndExpiryWhenItsNodeGoesSilent(t *testing.T) {
	t.Parallel()
	// node-1 never beats again after start; node-2 looks often.
	opts := app.Option{Membership: func(c *cluster.MembershipConfig) {
		if c.Node == "node-1" {
			c.Interval = time.Hour
		} else {
			c.Interval = 100 * time.Millisecond
			c.TypingSilence = 2 * time.Second
		}
	}}
	nodes := apptest.StartCluster(t, 2, noLimits, opts)
	logsOnFailure(t, nodes)
	anon := nodes[0].CreateAnonymous(t)
	visitor := nodes[0].Connect(t, anon.Auth())
	tech := nodes[1].Connect(t, map[string]any{"token": nodes[1].Token(t, "t", "tecnico"), "conversationId": anon.ConversationID})

	require.Equal(t, true, tech.Emit(t, "client-typing", map[string]any{"conversationId": anon.ConversationID, "typing": true})["ok"])
	got := visitor.Events.WaitFor(t, "typing", 1)[0]
	require.Equal(t, map[string]any{"conversationId": anon.ConversationID, "sender": "tecnico", "senderId": "t", "typing": true}, got)
	require.Equal(t, true, tech.Emit(t, "client-typing", map[string]any{"conversationId": anon.ConversationID, "typing": false})["ok"])
	require.Equal(t, false, visitor.Events.WaitFor(t, "typing", 2)[1]["typing"])

	// node-1's visitor types; node-1 then falls silent (no heartbeat since
	// start, backdated past TypingSilence): node-2 turns the indicator off.
	require.Equal(t, true, visitor.Emit(t, "client-typing", map[string]any{"typing": true})["ok"])
	require.Equal(t, true, tech.Events.WaitFor(t, "typing", 1)[0]["typing"])
	_, err := nodes[0].Pool.Exec(context.Background(), "UPDATE cluster_nodes SET seen_at = seen_at - interval '5 s' WHERE node_id = 'node-1'")
	require.NoError(t, err)
	off := tech.Events.WaitFor(t, "typing", 2)[1]
	require.Equal(t, false, off["typing"])
	require.Equal(t, "user", off["sender"])
}

func TestSessionReplacedAcrossNodes(t *testing.T) {
	t.Parallel()
	nodes := apptest.StartCluster(t, 3, map[string]string{"MAX_SOCKETS_PER_IDENTITY": "2"})
	logsOnFailure(t, nodes)
	registered := func(n int) {
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			var got int
			assert.NoError(c, nodes[0].Pool.QueryRow(context.Background(),
				"SELECT count(*) FROM cluster_sockets WHERE identity = 'user:u'").Scan(&got))
			assert.Equal(c, n, got)
		}, apptest.Timeout, 10*time.Millisecond)
	}
	s1 := nodes[0].Connect(t, map[string]any{"token": nodes[0].Token(t, "u")})
	registered(1)
	s2 := nodes[1].Connect(t, map[string]any{"token": nodes[1].Token(t, "u")})
	registered(2)
	s3 := nodes[2].Connect(t, map[string]any{"token": nodes[2].Token(t, "u")})

	// The oldest, on node 1, is replaced; the registry keeps two.
	got := s1.Events.WaitFor(t, "session-replaced", 1)[0]
	require.NotEmpty(t, got["reason"])
	s1.Events.WaitFor(t, "disconnect", 1)
	registered(2)
	require.Empty(t, s2.Events.Named("session-replaced"))
	require.Empty(t, s3.Events.Named("session-replaced"))
	nodes[0].WaitStats(t, func(s gatewayStats) bool { return s.Sockets == 0 })
}

func TestClusterBusOff(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, map[string]string{"CLUSTER_BUS": "off"})
	require.Equal(t, 1.0, testutil.ToFloat64(collectorOf(t, srv, "chatgw_cluster_nodes")))
	var n int
	require.NoError(t, srv.Pool.QueryRow(context.Background(), "SELECT count(*) FROM cluster_nodes").Scan(&n))
	require.Zero(t, n)
	require.False(t, strings.Contains(srv.Logs.String(), "bus listener"))
}

func TestMessageLimitHoldsAcrossNodes(t *testing.T) {
	t.Parallel()
	// Group commit (one statement per batch) and one transaction per send
	// (one statement per message) apply the limit each in their own SQL.
	for _, batch := range []string{"64", "1"} {
		t.Run("SEND_BATCH_MAX="+batch, func(t *testing.T) {
			t.Parallel()
			testMessageLimitAcrossNodes(t, batch)
		})
	}
}

func testMessageLimitAcrossNodes(t *testing.T, batch string) {
	// A burst of 5 and then one message per 1,000 s: within the test, 5
	// messages pass in all, whichever nodes they go through (each node's
	// in-memory limiter alone would let 5 through on each).
	nodes := apptest.StartCluster(t, 3, map[string]string{
		"RATE_LIMIT_MESSAGES_PER_SEC": "0.001", "RATE_LIMIT_MESSAGES_BURST": "5", "SEND_BATCH_MAX": batch,
	})
	logsOnFailure(t, nodes)
	anon := nodes[0].CreateAnonymous(t)
	var visitors []*apptest.Socket
	for _, n := range nodes {
		visitors = append(visitors, n.Connect(t, anon.Auth()))
	}
	var mu sync.Mutex
	var ok, limited int
	var wg sync.WaitGroup
	for i := range 15 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ack := visitors[i%3].Emit(t, "client-send-message", map[string]any{"content": fmt.Sprintf("m%d", i)})
			mu.Lock()
			defer mu.Unlock()
			if ack["ok"] == true {
				ok++
				return
			}
			e := ack["error"].(map[string]any)
			if e["code"] == "RATE_LIMITED" && e["retryAfterMs"].(float64) > 0 {
				limited++
			}
		}()
	}
	wg.Wait()
	require.Equal(t, 5, ok)
	require.Equal(t, 10, limited)
	// Refused sends took no seq.
	var last int
	require.NoError(t, nodes[0].Pool.QueryRow(context.Background(),
		"SELECT last_seq FROM conversations WHERE id = $1", anon.ConversationID).Scan(&last))
	require.Equal(t, 5, last)
}
