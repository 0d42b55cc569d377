package webhook

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRetryAftersAreBounded(t *testing.T) {
	t.Parallel()
	var r retryAfters
	for id := range int64(3 * maxPendingRetryAfters) {
		r.put(id, 1, time.Second)
	}
	require.Equal(t, maxPendingRetryAfters, r.len(), "entries never taken do not pile up")
	last := int64(3*maxPendingRetryAfters - 1)
	d, ok := r.take(last, 1)
	require.True(t, ok, "the newest entry is kept")
	require.Equal(t, time.Second, d)
	_, ok = r.take(last, 1)
	require.False(t, ok)
}
