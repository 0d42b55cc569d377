package gateway_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
)

// webhookEnv makes sends enqueue webhook jobs (to a port nobody serves), so
// tests can count them.
var webhookEnv = map[string]string{"N8N_WEBHOOK_URL": "http://127.0.0.1:9/hook", "RATE_LIMIT_MESSAGES_PER_SEC": "0"}

func TestRepeatedClientMessageIDOnOneSocket(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, webhookEnv)
	anon := srv.CreateAnonymous(t)
	sender := srv.Connect(t, anon.Auth())
	observer := srv.Connect(t, anon.Auth())

	first := sender.Send(t, map[string]any{"content": "hello", "clientMessageId": "c-1"})
	again := sender.Send(t, map[string]any{"content": "different text", "clientMessageId": "c-1"})
	require.Equal(t, first, again, "the first message, even though the content differs")
	saved := sender.Events.WaitFor(t, "message-saved", 2)
	require.Equal(t, first["id"], saved[1]["id"])

	next := sender.Send(t, map[string]any{"content": "next"})
	require.EqualValues(t, 2, next["seq"], "a repeat consumes no seq")
	got := observer.Events.WaitFor(t, "message", 2)
	require.Equal(t, []int{1, 2}, seqs(got), "the repeat was not broadcast")
	require.Empty(t, observer.Events.Named("message-saved"))
	require.Equal(t, 2, countRows(t, srv, `SELECT count(*) FROM messages WHERE conversation_id = $1`, anon.ConversationID))
	require.Equal(t, 2, countRows(t, srv, `SELECT count(*) FROM river_job`))
}

// Two sockets of one conversation send the same clientMessageId at the same
// instant: one message, one job, one broadcast to the room; both senders get
// their ack and message-saved with that message.
func TestRacingSendsOnTwoSockets(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, webhookEnv)
	anon := srv.CreateAnonymous(t)
	tech := srv.Token(t, "tom", "tecnico")
	for round := range 5 {
		a := srv.Connect(t, anon.Auth())
		b := srv.Connect(t, anon.Auth())
		observer := srv.Connect(t, map[string]any{"token": tech, "conversationId": anon.ConversationID})
		cmid := "race-" + string(rune('a'+round))

		start := make(chan struct{})
		acks := make([]map[string]any, 2)
		var wg sync.WaitGroup
		for i, s := range []*apptest.Socket{a, b} {
			wg.Go(func() {
				<-start
				acks[i] = s.Send(t, map[string]any{"content": "same", "clientMessageId": cmid})
			})
		}
		close(start)
		wg.Wait()
		require.Equal(t, acks[0]["id"], acks[1]["id"])
		require.Equal(t, acks[0]["id"], a.Events.WaitFor(t, "message-saved", 1)[0]["id"])
		require.Equal(t, acks[0]["id"], b.Events.WaitFor(t, "message-saved", 1)[0]["id"])

		// A marker sent after both acks arrives after any broadcast of the
		// race, so the observer's events are complete up to it.
		marker := observer.Emit(t, "client-send-tecnico", map[string]any{"conversationId": anon.ConversationID, "content": "marker"})
		require.Equal(t, true, marker["ok"])
		markerSeq := int(marker["message"].(map[string]any)["seq"].(float64))
		aGot := waitForSeq(t, a, markerSeq)
		bGot := waitForSeq(t, b, markerSeq)
		require.Len(t, observer.Events.Named("message"), 1, "one broadcast of the raced message")
		require.Len(t, a.Events.Named("message-saved"), 1)
		require.Len(t, b.Events.Named("message-saved"), 1)
		// The socket that lost the race got the winner's broadcast; the
		// winner did not get its own message back; both got the marker.
		require.Equal(t, 3, len(aGot)+len(bGot), "a: %v b: %v", seqs(aGot), seqs(bGot))
		a.Disconnect()
		b.Disconnect()
		observer.Disconnect()
	}
	require.Equal(t, 10, countRows(t, srv, `SELECT count(*) FROM messages WHERE conversation_id = $1`, anon.ConversationID))
	require.Equal(t, 10, countRows(t, srv, `SELECT count(*) FROM river_job`), "a job per message, none per repeat")
}

// The HTTP reply route is idempotent too, also under a race: one 201, one
// 200, the same message.
func TestRacingRepliesOverHTTP(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, webhookEnv)
	anon := srv.CreateAnonymous(t)
	visitor := srv.Connect(t, anon.Auth())
	reply := srv.ReplyToken(t, apptest.ParseUUID(t, anon.ConversationID))

	start := make(chan struct{})
	statuses := make([]int, 2)
	bodies := make([]map[string]any, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			<-start
			statuses[i], bodies[i] = srv.Do(t, http.MethodPost, "/v1/conversations/"+anon.ConversationID+"/messages", reply, `{"content":"bot says hi","clientMessageId":"bot-1"}`)
		})
	}
	close(start)
	wg.Wait()
	require.ElementsMatch(t, []int{http.StatusCreated, http.StatusOK}, statuses)
	require.Equal(t, bodies[0]["message"], bodies[1]["message"])

	marker := srv.Connect(t, anon.Auth()).Send(t, map[string]any{"content": "marker"})
	got := visitor.Events.WaitFor(t, "message", 2)
	require.Len(t, got, 2)
	require.Equal(t, "bot", got[0]["sender"])
	require.Equal(t, marker["id"], got[1]["id"], "the bot's message was broadcast once")
	require.Equal(t, 2, countRows(t, srv, `SELECT count(*) FROM messages WHERE conversation_id = $1`, anon.ConversationID))
	require.Equal(t, 1, countRows(t, srv, `SELECT count(*) FROM river_job`), "bot messages have no job; the marker has one")
}

// waitForSeq waits until the socket got the `message` with seq and returns
// all its message events so far.
func waitForSeq(t *testing.T, s *apptest.Socket, seq int) []map[string]any {
	t.Helper()
	for n := 1; ; n++ {
		got := s.Events.WaitFor(t, "message", n)
		for _, m := range got {
			if int(m["seq"].(float64)) == seq {
				return got
			}
		}
	}
}
