package logging_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/logging"
)

func TestJSONRedactsCredentials(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logging.New(&buf, slog.LevelInfo).Info("hello", "session_token", "abc", "reply_token_ttl", "24h")
	var line map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &line))
	require.Equal(t, "hello", line["msg"])
	require.Equal(t, logging.Redacted, line["session_token"])
	require.Equal(t, "24h", line["reply_token_ttl"])
}

func TestTextIsOneReadableLine(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := logging.NewFormat(&buf, logging.FormatText, slog.LevelInfo).With("component", "gateway")
	log.Debug("hidden")
	log.WithGroup("cfg").Info("chatgw listening", "addr", "127.0.0.1:3000", "jwt_secret", "s3cret", "note", "two words")
	log.Warn("slow")

	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	require.Len(t, lines, 2, buf.String())
	require.Regexp(t, regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} INFO  chatgw listening component=gateway cfg\.addr=127\.0\.0\.1:3000 cfg\.jwt_secret=\[REDACTED\] cfg\.note="two words"$`), lines[0])
	require.Regexp(t, `^\d\d:\d\d:\d\d\.\d{3} WARN  slow component=gateway$`, lines[1])
	require.NotContains(t, buf.String(), "s3cret")
}

func TestTextLinesDoNotInterleave(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := logging.NewText(&buf, slog.LevelInfo)
	a, b := log.With("who", "a"), log.With("who", "b")
	var wg sync.WaitGroup
	for i := range 200 {
		l := a
		if i%2 == 1 {
			l = b
		}
		wg.Go(func() { l.Info("line", "i", i) })
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	require.Len(t, lines, 200)
	for _, l := range lines {
		require.Regexp(t, `^\S+ INFO  line who=[ab] i=\d+$`, l)
	}
}

func TestFormatDefaultsToJSON(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logging.NewFormat(&buf, "", slog.LevelInfo).Info("x")
	require.True(t, json.Valid(buf.Bytes()), buf.String())
}

func TestDropMessages(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := logging.DropMessages(logging.NewText(&buf, slog.LevelInfo).With("component", "river"), "Job errored")
	log.Info("jobexecutor.JobExecutor: Job errored; retrying", "job_id", 1)
	log.With("k", "v").Info("jobexecutor.JobExecutor: Job errored", "job_id", 2)
	log.Info("River client started")
	require.Equal(t, 1, strings.Count(buf.String(), "\n"), buf.String())
	require.Contains(t, buf.String(), "River client started component=river")
}
