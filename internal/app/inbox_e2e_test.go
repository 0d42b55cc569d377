package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
)

// Paging the inbox while messages arrive, on the real database with group
// commit, neither repeats nor skips. "Stable" means: a walk of the pages
// (each from the previous nextCursor) returns no conversation twice, and
// every conversation whose activity did not change during the walk exactly
// once, in order. A conversation that got a message during the walk moved
// to the top, above the cursor: it is returned at most once (before it
// moved, or not at all) and shows at the top of a fresh first page and in
// conversation-activity.
func TestInboxPagingIsStableUnderWrites(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, map[string]string{
		"RATE_LIMIT_CONVERSATIONS_PER_MIN": "10000",
		"RATE_LIMIT_MESSAGES_BURST":        "10000",
		"RATE_LIMIT_MESSAGES_PER_SEC":      "10000",
	})
	tech := srv.Token(t, "tina", "tecnico")
	const n = 120
	convs := make([]string, n)
	for i := range convs {
		convs[i] = srv.CreateOwned(t, tech)
	}

	// A writer posts to conversations all along the list while the walk runs.
	var touchedMu sync.Mutex
	touched := map[string]bool{}
	stop := make(chan struct{})
	var writes atomic.Int64
	written := make(chan struct{}, 1<<16) // one token per write
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			c := convs[(i*37)%n]
			touchedMu.Lock()
			touched[c] = true // before the send: a page may see it move already
			touchedMu.Unlock()
			status, _ := srv.Do(t, http.MethodPost, "/v1/conversations/"+c+"/messages", tech, fmt.Sprintf(`{"content":"w%d"}`, i))
			if status != http.StatusCreated {
				t.Errorf("write: %d", status)
				return
			}
			writes.Add(1)
			written <- struct{}{}
		}
	})

	seen := map[string]int{}
	var order []string
	cursor := ""
	pages := 0
	for {
		q := url.Values{"limit": {"7"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		status, body := srv.Do(t, http.MethodGet, "/v1/conversations?"+q.Encode(), tech, "")
		require.Equal(t, http.StatusOK, status, "%v", body)
		pages++
		for _, it := range body["conversations"].([]any) {
			id := it.(map[string]any)["conversationId"].(string)
			seen[id]++
			order = append(order, id)
		}
		next, ok := body["nextCursor"].(string)
		if !ok {
			break
		}
		cursor = next
		// Let a few writes land between pages.
		for range 3 {
			select {
			case <-written:
			case <-time.After(apptest.Timeout):
				t.Fatal("the writer stalled")
			}
		}
	}
	close(stop)
	wg.Wait()

	require.Greater(t, pages, 5, "the walk took several pages")
	require.Greater(t, writes.Load(), int64(pages), "messages arrived while it ran")
	for id, k := range seen {
		require.Equal(t, 1, k, "conversation %s returned %d times", id, k)
	}
	untouched := 0
	for _, c := range convs {
		if !touched[c] {
			untouched++
			require.Equal(t, 1, seen[c], "a conversation without activity during the walk is returned once")
		}
	}
	require.Positive(t, untouched, "some conversations had no activity")

	// A fresh first page has the latest activity on top.
	status, body := srv.Do(t, http.MethodGet, "/v1/conversations?limit=1", tech, "")
	require.Equal(t, http.StatusOK, status)
	top := body["conversations"].([]any)[0].(map[string]any)
	var last string
	require.NoError(t, srv.Pool.QueryRow(context.Background(),
		`SELECT conversation_id::text FROM messages ORDER BY created_at DESC LIMIT 1`).Scan(&last))
	require.Equal(t, last, top["conversationId"])
	// And the walk itself was in order: each page continued below the last.
	require.Len(t, order, len(seen))
}

// The feed reaches a technician on the socket whatever edge made the change.
func TestInboxFeedOverHTTPChanges(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, nil)
	tech := srv.Token(t, "tina", "tecnico")
	sock := srv.Connect(t, map[string]any{"token": tech})
	require.Equal(t, true, sock.Emit(t, "client-join-inbox", map[string]any{})["ok"])
	visitor := srv.CreateAnonymous(t)
	got := sock.Events.WaitFor(t, "conversation-activity", 1)
	require.Equal(t, visitor.ConversationID, got[0]["conversationId"])

	status, body := srv.Do(t, http.MethodPost, "/v1/conversations/"+visitor.ConversationID+"/status", tech, `{"status":"closed"}`)
	require.Equal(t, http.StatusOK, status, "%v", body)
	got = sock.Events.WaitFor(t, "conversation-activity", 2)
	require.Equal(t, "closed", got[1]["status"])

	v := srv.Connect(t, visitor.Auth())
	v.Send(t, map[string]any{"content": "reopen please"})
	got = sock.Events.WaitFor(t, "conversation-activity", 3)
	require.Equal(t, "open", got[2]["status"])
	require.Equal(t, true, got[2]["awaitingReply"])
	require.Equal(t, "open", v.Events.WaitFor(t, "conversation-updated", 1)[0]["status"])
	var status2 string
	require.NoError(t, srv.Pool.QueryRow(context.Background(), `SELECT status FROM conversations WHERE id = $1`, visitor.ConversationID).Scan(&status2))
	require.Equal(t, "open", status2)
}

// With the cluster bus, the feed and the status reach every node: a
// technician on one node sees what happens on another.
func TestInboxFeedAcrossNodes(t *testing.T) {
	t.Parallel()
	nodes := apptest.StartCluster(t, 2, nil)
	a, b := nodes[0], nodes[1]
	techOnB := b.Connect(t, map[string]any{"token": b.Token(t, "tina", "tecnico")})
	require.Equal(t, true, techOnB.Emit(t, "client-join-inbox", map[string]any{})["ok"])

	visitor := a.CreateAnonymous(t)
	got := techOnB.Events.WaitFor(t, "conversation-activity", 1)
	require.Equal(t, visitor.ConversationID, got[0]["conversationId"], "a creation on A reaches B's inbox")

	onA := a.Connect(t, visitor.Auth())
	onA.Send(t, map[string]any{"content": "hello from A"})
	got = techOnB.Events.WaitFor(t, "conversation-activity", 2)
	require.Equal(t, "hello from A", got[1]["lastMessage"].(map[string]any)["content"])
	require.Equal(t, true, got[1]["awaitingReply"])

	// A status change made on B reaches the visitor's room on A.
	status, body := b.Do(t, http.MethodPost, "/v1/conversations/"+visitor.ConversationID+"/status", b.Token(t, "tina", "tecnico"), `{"status":"closed"}`)
	require.Equal(t, http.StatusOK, status, "%v", body)
	require.Equal(t, "closed", onA.Events.WaitFor(t, "conversation-updated", 1)[0]["status"])
	require.Equal(t, "closed", techOnB.Events.WaitFor(t, "conversation-activity", 3)[2]["status"])
}

// An inbox item can exceed a notification's 8,000 bytes (4 KB of metadata
// and a last message of 4,000 multibyte code points): it crosses the bus
// as a reference, and the receiving node reads it from the database.
func TestInboxFeedAcrossNodesCarriesLargeActivity(t *testing.T) {
	t.Parallel()
	nodes := apptest.StartCluster(t, 2, nil)
	a, b := nodes[0], nodes[1]
	techOnB := b.Connect(t, map[string]any{"token": b.Token(t, "tina", "tecnico")})
	require.Equal(t, true, techOnB.Emit(t, "client-join-inbox", map[string]any{})["ok"])

	note := strings.Repeat("日", 1300) // 3,900 bytes
	metadata, err := json.Marshal(map[string]any{"metadata": map[string]any{"note": note}})
	require.NoError(t, err)
	status, body := a.Do(t, http.MethodPost, "/v1/conversations", "", string(metadata))
	require.Equal(t, http.StatusCreated, status, "%v", body)
	visitor := apptest.Anonymous{ConversationID: body["conversationId"].(string), SessionToken: body["session_token"].(string)}
	got := techOnB.Events.WaitFor(t, "conversation-activity", 1)
	require.Equal(t, visitor.ConversationID, got[0]["conversationId"])

	content := strings.Repeat("é日", 2000) // 4,000 code points, 10,000 bytes
	onA := a.Connect(t, visitor.Auth())
	onA.Send(t, map[string]any{"content": content})
	got = techOnB.Events.WaitFor(t, "conversation-activity", 2)
	require.Equal(t, visitor.ConversationID, got[1]["conversationId"])
	require.Equal(t, content, got[1]["lastMessage"].(map[string]any)["content"])
	require.Equal(t, note, got[1]["metadata"].(map[string]any)["note"])
	require.Equal(t, true, got[1]["awaitingReply"])
}
