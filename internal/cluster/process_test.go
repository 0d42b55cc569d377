package cluster_test

import (
	"context"
	"fmt"
	"hash/fnv"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"syscall"
	"testing"
	"time"

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
// the live node its client key (the `ck` query parameter, else the client
// address) hashes to, so a polling session stays on one node.
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
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	p.mu.Lock()
	var live []*url.URL
	for i, n := range p.nodes {
		if !p.dead[i] {
			live = append(live, n)
		}
	}
	target := live[int(h.Sum32())%len(live)]
	p.mu.Unlock()
	httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
}

// Three chatgw processes behind a sticky proxy; one is killed (SIGKILL)
// while messages are sent: every acked message is stored once and reaches
// every socket in order, the sockets of the dead node come back through
// the others with lastSeq, and the dead node's registrations are gone
// within 30 s.
func TestProcessKilledUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary three times")
	}
	t.Parallel()
	dbURL := pgtest.NewDatabase(t)
	env := func(node string) map[string]string {
		return map[string]string{"DATABASE_URL": dbURL, "NODE_ID": node, "LOG_LEVEL": "info",
			"RATE_LIMIT_MESSAGES_PER_SEC": "0", "RATE_LIMIT_CONNECTS_PER_MIN": "0", "RATE_LIMIT_CONVERSATIONS_PER_MIN": "0"}
	}
	var procs []*apptest.Process
	proxy := &stickyProxy{dead: map[int]bool{}}
	for _, n := range []string{"node-a", "node-b", "node-c"} {
		p := apptest.StartBinary(t, env(n))
		procs = append(procs, p)
		proxy.nodes = append(proxy.nodes, &url.URL{Scheme: "http", Host: p.Addr})
	}
	front := httptest.NewServer(proxy)
	t.Cleanup(front.Close)
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

	// Six watchers, each with its own client key; each reconnects on its
	// own with lastSeq when its connection drops. (WebSocket only: the Go
	// client's polling transport does not complete its handshake through
	// apptest.Dial; the official JS client's polling is tested elsewhere,
	// but not yet here.)
	type watcher struct {
		mu   sync.Mutex
		seqs []int
		cur  *apptest.Socket
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
				if err := <-connected; err != nil {
					t.Logf("watcher %d (%s): %v", i, transport, err)
					time.Sleep(100 * time.Millisecond) // a reconnecting client's backoff
					continue
				}
				w.mu.Lock()
				w.cur = s
				w.mu.Unlock()
				gone := make(chan struct{})
				var once sync.Once
				_ = s.On("message", func(args ...any) {
					m := args[0].(map[string]any)
					w.mu.Lock()
					w.seqs = append(w.seqs, int(m["seq"].(float64)))
					w.mu.Unlock()
				})
				_ = s.On("disconnect", func(...any) { once.Do(func() { close(gone) }) })
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

	// Sends over HTTP through the proxy; one that fails (its node died) is
	// retried with the same clientMessageId, so it is stored once.
	const total = 150
	sender := tech("sender")
	for i := range total {
		if i == total/2 {
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
	var stored int
	require.NoError(t, pool.QueryRow(context.Background(), "SELECT count(*) FROM messages").Scan(&stored))
	require.Equal(t, total, stored)

	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var n int
		assert.NoError(c, pool.QueryRow(context.Background(), "SELECT count(*) FROM cluster_sockets WHERE node_id = 'node-b'").Scan(&n))
		assert.Zero(c, n)
	}, 30*time.Second, 200*time.Millisecond, "the dead node's registrations are purged")
}
