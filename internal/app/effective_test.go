package app

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/config"
)

// The start-up log shows the contract's defaults (CONTRACT §1), which the
// components apply to what config leaves zero.
func TestEffectiveShowsTheContractDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load(func(k string) string { return map[string]string{"JWT_SECRET": "s"}[k] })
	require.NoError(t, err)
	e := Effective(cfg)
	require.Equal(t, "roles", e.JWT.RolesClaim)
	require.Equal(t, 24*time.Hour, e.ReplyTokenTTL)
	require.Equal(t, 4000, e.MaxMessageLength)
	require.Equal(t, 5, e.MaxSocketsPerIdentity)
	require.Equal(t, 64, e.SendBatchMax)
	require.Equal(t, 10*time.Second, e.Webhook.Timeout)
	require.Equal(t, time.Second, e.Webhook.BackoffBase)
	require.Equal(t, time.Hour, e.Webhook.BackoffMax)

	cfg.MaxMessageLength = 10
	require.Equal(t, 10, Effective(cfg).MaxMessageLength, "a set value stays")
}
