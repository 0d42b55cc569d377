package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPerformanceVariables(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil))
	require.NoError(t, err)
	require.Zero(t, c.SendBatchMax, "the store's default")
	require.Equal(t, time.Duration(0), c.SendBatchWait)
	require.Empty(t, c.PprofAddr)

	c, err = Load(env(map[string]string{"SEND_BATCH_MAX": "1", "SEND_BATCH_WAIT": "500us", "PPROF_ADDR": "127.0.0.1:6060"}))
	require.NoError(t, err)
	require.Equal(t, 1, c.SendBatchMax)
	require.Equal(t, 500*time.Microsecond, c.SendBatchWait)
	require.Equal(t, "127.0.0.1:6060", c.PprofAddr)

	for name, v := range map[string]string{
		"SEND_BATCH_MAX":  "0",
		"SEND_BATCH_WAIT": "-1ms",
		"PPROF_ADDR":      "6060",
	} {
		_, err := Load(env(map[string]string{name: v}))
		require.Error(t, err, name)
		require.Equal(t, name, VariableOf(err))
	}
	_, err = Load(env(map[string]string{"SEND_BATCH_WAIT": "2s"}))
	require.Equal(t, "SEND_BATCH_WAIT", VariableOf(err))
}
