package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	client "github.com/zishang520/socket.io/clients/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/chatgw/chatgw/internal/apptest"
	"github.com/chatgw/chatgw/internal/auth"
	"github.com/chatgw/chatgw/internal/postgres"
	"github.com/chatgw/chatgw/internal/postgres/pgtest"
)

// stickyProxy is a load balancer in front of the nodes: a request goes to
// the node its client key (the `ck` query parameter, else the X-Client-Key
// header, else the client address) hashes to, so every request of one
// polling session reaches the node that holds it. Only the clients of a
// dead node move (to a live one, by the same hash), as with nginx's
// `hash $key consistent`.
type stickyProxy struct {
	mu    sync.Mutex
	nodes []*url.URL
	dead  map[int]bool
}

func (p *stickyProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("ck")
	if key == "" {
		key = r.Header.Get("X-Client-Key")
	}
	if key == "" {
		key, _, _ = net.SplitHostPort(r.RemoteAddr)
	}
	p.mu.Lock()
	target := p.nodes[p.pick(key)]
	p.mu.Unlock()
	httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
}

// pick returns the index of the node for key; p.mu is held.
func (p *stickyProxy) pick(key string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	if i := int(h.Sum32() % uint32(len(p.nodes))); !p.dead[i] {
		return i
	}
	var live []int
	for i := range p.nodes {
		if !p.dead[i] {
			live = append(live, i)
		}
	}
	return live[int(h.Sum32()%uint32(len(live)))]
}

// webhookReceiver answers deliveries 200 at once and records their
// webhook-id, except those from the node named hold (each node posts to
// /hook/<its NODE_ID>): it holds them unanswered until their sender gives
// up, so that this node always has deliveries running when it is killed.
type webhookReceiver struct {
	hold    string
	mu      sync.Mutex
	seen    map[string]int
	holding int
}

func (rc *webhookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Read the body first: only then does the server notice a closed
	// connection and cancel r.Context().
	_, _ = io.Copy(io.Discard, r.Body)
	if path.Base(r.URL.Path) == rc.hold {
		rc.mu.Lock()
		rc.holding++
		rc.mu.Unlock()
		<-r.Context().Done() // a timeout or the death of its sender
		rc.mu.Lock()
		rc.holding--
		rc.mu.Unlock()
		return
	}
	rc.mu.Lock()
	rc.seen[r.Header.Get("webhook-id")]++
	rc.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (rc *webhookReceiver) held() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.holding
}

// Three chatgw processes behind a sticky proxy; one is killed (SIGKILL)
// while messages are sent: every acked message is stored once, reaches
// every socket (on polling and on WebSocket) in order and the webhook
// receiver at least once (the dead node's deliveries in flight are rescued
// by River on the others), the sockets of the dead node come back through
// the others with lastSeq, and the dead node's registrations are gone
// within 30 s.
func TestProcessKilledUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary three times")
	}
	t.Parallel()
	dbURL := pgtest.NewDatabase(t)
	hooks := &webhookReceiver{hold: "node-b", seen: map[string]int{}}
	hookServer := httptest.NewServer(hooks)
	t.Cleanup(func() {
		hookServer.CloseClientConnections()
		hookServer.Close()
	})
	env := func(node string) map[string]string {
		return map[string]string{"DATABASE_URL": dbURL, "NODE_ID": node, "LOG_LEVEL": "info",
			"RATE_LIMIT_MESSAGES_PER_SEC": "0", "RATE_LIMIT_CONNECTS_PER_MIN": "0", "RATE_LIMIT_CONVERSATIONS_PER_MIN": "0",
			// A short timeout makes River rescue the dead node's running
			// deliveries after 1 s + 0.1 s + 2 s + 5 s (webhook.Configure);
			// its rescuer runs every 30 s, its scheduler every 5 s.
			"N8N_WEBHOOK_URL": hookServer.URL + "/hook/" + node, "WEBHOOK_TIMEOUT": "1s",
			"WEBHOOK_BACKOFF_BASE": "100ms", "WEBHOOK_BACKOFF_MAX": "500ms"}
	}
	var procs []*apptest.Process
	proxy := &stickyProxy{dead: map[int]bool{}}
	for _, n := range []string{"node-a", "node-b", "node-c"} {
		p := apptest.StartBinary(t, env(n))
		procs = append(procs, p)
		proxy.nodes = append(proxy.nodes, &url.URL{Scheme: "http", Host: p.Addr})
	}
	front := httptest.NewServer(proxy)
	t.Cleanup(func() {
		front.CloseClientConnections() // polling watchers' pending GETs
		front.Close()
	})
	lb := &apptest.Server{Client: apptest.Client{URL: front.URL, HTTP: apptest.HTTPClient}}
	pool, err := postgres.NewPool(context.Background(), dbURL)
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	anon := lb.CreateAnonymous(t)
	tech := func(sub string) string {
		tok, err := auth.MintUserToken([]byte(apptest.JWTSecret), sub, []string{"tecnico"}, "roles", time.Hour, "", "", time.Now())
		require.NoError(t, err)
		return tok
	}

	// Six watchers, each with its own client key, the even ones on
	// polling, the odd ones on WebSocket; each reconnects on its own with
	// lastSeq when its connection drops.
	type watcher struct {
		mu       sync.Mutex
		seqs     []int
		cur      *apptest.Socket
		connects int
	}
	watchers := make([]*watcher, 6)
	stop := make(chan struct{})
	var running sync.WaitGroup
	defer func() {
		// The watchers end before the test does (they use t).
		close(stop)
		for _, w := range watchers {
			w.mu.Lock()
			if w.cur != nil {
				w.cur.Disconnect()
			}
			w.mu.Unlock()
		}
		running.Wait()
	}()
	for i := range watchers {
		w := &watcher{}
		watchers[i] = w
		transport := client.WebSocket
		if i%2 == 0 {
			transport = client.Polling
		}
		running.Add(1)
		go func() {
			defer running.Done()
			for attempt := 0; attempt < 50; attempt++ {
				select {
				case <-stop:
					return
				default:
				}
				w.mu.Lock()
				last := 0
				if len(w.seqs) > 0 {
					last = w.seqs[len(w.seqs)-1]
				}
				w.mu.Unlock()
				opts := apptest.ClientOptions(map[string]any{"token": tech(fmt.Sprintf("watch-%d", i)), "conversationId": anon.ConversationID, "lastSeq": last})
				opts.SetTransports(types.NewSet(transport))
				opts.SetExtraHeaders(http.Header{"X-Client-Key": {fmt.Sprintf("client-%d", i)}})
				s, connected := lb.Dial(t, opts)
				// The handlers go on before CONNECT is answered: the replay
				// after lastSeq follows it at once (on polling, often in
				// the same response).
				gone := make(chan struct{})
				var once sync.Once
				_ = s.On("message", func(args ...any) {
					m := args[0].(map[string]any)
					w.mu.Lock()
					w.seqs = append(w.seqs, int(m["seq"].(float64)))
					w.mu.Unlock()
				})
				_ = s.On("disconnect", func(...any) { once.Do(func() { close(gone) }) })
				var err error
				select {
				case err = <-connected:
				case <-time.After(5 * time.Second): // a CONNECT the Go client lost (apptest.ConnectWith)
					err = errors.New("no answer to CONNECT")
					s.Disconnect()
				}
				if err != nil {
					t.Logf("watcher %d (%s): %v", i, transport.Name(), err)
					time.Sleep(100 * time.Millisecond) // a reconnecting client's backoff
					continue
				}
				w.mu.Lock()
				w.cur = s
				w.connects++
				w.mu.Unlock()
				select {
				case <-gone:
				case <-stop:
					return
				}
				s.Disconnect()
			}
		}()
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var n int
		assert.NoError(c, pool.QueryRow(context.Background(), "SELECT count(*) FROM cluster_sockets").Scan(&n))
		assert.Equal(c, len(watchers), n)
	}, apptest.Timeout, 20*time.Millisecond)
	// The node killed below holds watchers on both transports.
	victimTransports := map[bool]bool{}
	onVictim := map[int]bool{}
	proxy.mu.Lock()
	for i := range watchers {
		if proxy.pick(fmt.Sprintf("client-%d", i)) == 1 {
			victimTransports[i%2 == 0] = true
			onVictim[i] = true
		}
	}
	proxy.mu.Unlock()
	require.Len(t, victimTransports, 2, "node-b holds a polling and a WebSocket watcher")

	// Sends over HTTP through the proxy; one that fails (its node died) is
	// retried with the same clientMessageId, so it is stored once.
	const total = 150
	sender := tech("sender")
	// node-b is killed once half the messages are sent and it has a
	// delivery running (held by the receiver).
	var killedAt time.Time
	for i := range total {
		if killedAt.IsZero() && i >= total/2 && hooks.held() > 0 {
			killedAt = time.Now()
			t.Logf("node-b killed after %d messages, with %d deliveries running", i, hooks.held())
			proxy.mu.Lock()
			proxy.dead[1] = true // the balancer sees it gone at once
			proxy.mu.Unlock()
			require.NoError(t, procs[1].Cmd.Process.Signal(syscall.SIGKILL))
		}
		body := fmt.Sprintf(`{"content":"m%d","clientMessageId":"c%d"}`, i, i)
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			code, _ := lb.Do(t, http.MethodPost, "/v1/conversations/"+anon.ConversationID+"/messages", sender, body)
			assert.Contains(c, []int{http.StatusCreated, http.StatusOK}, code)
		}, apptest.Timeout, 50*time.Millisecond)
	}

	require.False(t, killedAt.IsZero(), "node-b never had a delivery running")
	want := make([]int, total)
	for i := range want {
		want[i] = i + 1
	}
	for i, w := range watchers {
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			w.mu.Lock()
			defer w.mu.Unlock()
			assert.Equal(c, want, w.seqs, "watcher %d: every message once, in order", i)
		}, 20*time.Second, 50*time.Millisecond)
	}
	// Only the watchers of the dead node reconnected, once each: the
	// others' sessions, polling ones too, stayed on their nodes.
	for i, w := range watchers {
		w.mu.Lock()
		connects := w.connects
		w.mu.Unlock()
		if onVictim[i] {
			assert.Equal(t, 2, connects, "watcher %d (on node-b) connects", i)
		} else {
			assert.Equal(t, 1, connects, "watcher %d connects", i)
		}
	}
	var stored int
	require.NoError(t, pool.QueryRow(context.Background(), "SELECT count(*) FROM messages").Scan(&stored))
	require.Equal(t, total, stored)

	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var n int
		assert.NoError(c, pool.QueryRow(context.Background(), "SELECT count(*) FROM cluster_sockets WHERE node_id = 'node-b'").Scan(&n))
		assert.Zero(c, n)
	}, time.Until(killedAt.Add(30*time.Second)), 200*time.Millisecond, "the dead node's registrations are purged")

	// Every stored message reaches the webhook receiver at least once
	// (node-b delivered none). A delivery the dead node had running waits
	// for River's rescuer (the stuck threshold, up to one 30 s rescue
	// interval, a 5 s scheduler pass; a new leader first if the dead node
	// led), hence the bound.
	rows, err := pool.Query(context.Background(), "SELECT id::text FROM messages")
	require.NoError(t, err)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Len(t, ids, total)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		hooks.mu.Lock()
		defer hooks.mu.Unlock()
		for _, id := range ids {
			assert.Positive(c, hooks.seen[id], "message %s delivered to the webhook receiver", id)
		}
	}, time.Until(killedAt.Add(75*time.Second)), 200*time.Millisecond)
	var retried int
	require.NoError(t, pool.QueryRow(context.Background(), "SELECT count(*) FROM river_job WHERE attempt > 1").Scan(&retried))
	t.Logf("webhook: %d messages delivered %s after the kill, %d jobs took more than one attempt", len(ids), time.Since(killedAt).Round(time.Second), retried)
}
