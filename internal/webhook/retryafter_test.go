package webhook_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/webhook"
)

// River promises NextRetry the job that failed, not the same *Job value
// Work was given: the hand-off of Retry-After must survive a job rebuilt
// from its row, and must not leak to another job or a later attempt.
func TestRetryAfterReachesNextRetryOfARebuiltJob(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	rc.setAnswer(status(http.StatusTooManyRequests, "Retry-After", "120"))
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	msg := chat.Message{ID: uuid.New(), ConversationID: uuid.New(), Seq: 1, Sender: chat.SenderUser, Content: "hi", CreatedAt: now}
	backoff := webhook.Backoff{Base: 10 * time.Millisecond, Max: time.Hour}
	w, err := webhook.NewWorker(webhook.Config{
		URL:         rc.URL,
		PublicURL:   "https://chat.example.com",
		Backoff:     backoff,
		Messages:    messages{msg.ID: msg},
		ReplyTokens: replyTokens(t),
		Now:         func() time.Time { return now },
	})
	require.NoError(t, err)

	args := webhook.DeliveryArgs{MessageID: msg.ID, ConversationID: msg.ConversationID}
	encoded, err := json.Marshal(args)
	require.NoError(t, err)
	row := rivertype.JobRow{ID: 42, Attempt: 1, MaxAttempts: 5, Kind: webhook.Kind, EncodedArgs: encoded}
	// rebuilt is the job as River could hand it to NextRetry: a new value
	// made from the row, sharing nothing with the one Work was given.
	rebuilt := func(id int64, attempt int) *river.Job[webhook.DeliveryArgs] {
		r := row
		r.ID, r.Attempt = id, attempt
		var a webhook.DeliveryArgs
		require.NoError(t, json.Unmarshal(r.EncodedArgs, &a))
		return &river.Job[webhook.DeliveryArgs]{JobRow: &r, Args: a}
	}
	isBackoff := func(at time.Time) bool { return at.Sub(now) <= backoff.Max && at.Sub(now) < time.Minute }

	first := rebuilt(42, 1)
	require.Error(t, w.Work(context.Background(), first))
	rc.next(t)
	require.True(t, isBackoff(w.NextRetry(rebuilt(43, 1))), "another job does not get this job's Retry-After")
	require.True(t, isBackoff(w.NextRetry(rebuilt(42, 2))), "nor does a later attempt")
	require.Equal(t, now.Add(120*time.Second), w.NextRetry(rebuilt(42, 1)), "the receiver's Retry-After sets the next attempt")
	require.True(t, isBackoff(w.NextRetry(rebuilt(42, 1))), "the value is handed over once")

	// The last attempt leaves nothing behind: River does not ask NextRetry then.
	last := rebuilt(44, 5)
	require.Error(t, w.Work(context.Background(), last))
	rc.next(t)
	require.True(t, isBackoff(w.NextRetry(rebuilt(44, 5))))
}
