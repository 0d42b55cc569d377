package gateway_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
)

// A technician whose connection stops reading never holds up the feed:
// the others get every conversation-activity, and every send is answered,
// while the stalled socket's share only queues for it.
func TestInboxSlowTechnicianBlocksNobody(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, map[string]string{
		"RATE_LIMIT_MESSAGES_BURST":   "100000",
		"RATE_LIMIT_MESSAGES_PER_SEC": "100000",
	})
	tech := srv.Token(t, "tina", "tecnico")

	// The stalled technician: joins the inbox, then never reads again.
	slow := dialRaw(t, srv, map[string]any{"token": srv.Token(t, "sam", "tecnico")})
	slow.write(`421["client-join-inbox",{}]`)
	require.Equal(t, `431[{"ok":true}]`, slow.readSkippingPings())

	fast := srv.Connect(t, map[string]any{"token": tech})
	require.Equal(t, true, fast.Emit(t, "client-join-inbox", map[string]any{})["ok"])
	conv := srv.CreateOwned(t, tech)
	fast.Events.WaitFor(t, "conversation-activity", 1)

	// Far more than socket buffers hold: 1,500 items of about 4 KB each.
	const workers, each = 6, 250
	content := strings.Repeat("x", 3900)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				status, body := srv.Do(t, http.MethodPost, "/v1/conversations/"+conv+"/messages", tech,
					fmt.Sprintf(`{"content":"%s %d-%d"}`, content, w, i))
				if status != http.StatusCreated {
					t.Errorf("send: %d %v", status, body)
					return
				}
			}
		})
	}
	sent := make(chan struct{})
	go func() { wg.Wait(); close(sent) }()
	select {
	case <-sent:
	case <-time.After(6 * apptest.Timeout):
		t.Fatal("sends stalled behind the technician who does not read")
	}
	got := fast.Events.WaitFor(t, "conversation-activity", 1+workers*each)
	require.Len(t, got, 1+workers*each, "every change reached the technician who reads")
}
