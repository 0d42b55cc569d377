package webhook_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/webhook"
)

// A failed attempt is logged with the job's attributes; a delivered one
// writes nothing above debug, and at debug says so with the same
// attributes.
func TestDeliveryLogsCarryTheJob(t *testing.T) {
	t.Parallel()
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		t.Run(level.String(), func(t *testing.T) {
			t.Parallel()
			logs := &apptest.LogBuffer{}
			f := newFixture(t, func(c *webhook.Config) {
				c.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: level}))
			})
			f.rc.setAnswer(status(http.StatusInternalServerError))
			msg := f.addMessage(chat.SenderUser)
			res := f.work(t, webhook.DeliveryArgs{MessageID: msg.ID, ConversationID: msg.ConversationID})
			f.rc.next(t)
			f.rc.setAnswer(nil)
			f.rework(t, res.Job)
			f.rc.next(t)

			var entries []map[string]any
			for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
				var e map[string]any
				require.NoError(t, json.Unmarshal([]byte(line), &e), line)
				if strings.HasPrefix(e["msg"].(string), "webhook: ") {
					entries = append(entries, e)
				}
			}
			want := []string{"webhook: delivery attempt failed; will retry"}
			if level == slog.LevelDebug {
				want = append(want, "webhook: delivered")
			}
			require.Len(t, entries, len(want))
			for i, e := range entries {
				require.Equal(t, want[i], e["msg"])
				require.Equal(t, msg.ID.String(), e["message_id"])
				require.Equal(t, msg.ConversationID.String(), e["conversation_id"])
				require.InDelta(t, float64(res.Job.ID), e["job_id"], 0)
				require.InDelta(t, float64(i+1), e["attempt"], 0)
			}
		})
	}
}
