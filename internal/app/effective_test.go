package app

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/config"
	"github.com/chatgw/chatgw/internal/postgres/pgtest"
)

// The start-up log shows the contract's defaults (CONTRACT §1), which the
// components apply to what config leaves zero.
func TestEffectiveShowsTheContractDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"JWT_SECRET": "effective-test-secret-0123456789abcdef"}[k]
	})
	require.NoError(t, err)
	e := Effective(cfg)
	require.Equal(t, "roles", e.JWT.RolesClaim)
	require.Equal(t, 24*time.Hour, e.ReplyTokenTTL)
	require.Equal(t, 4000, e.MaxMessageLength)
	require.Equal(t, 5, e.MaxSocketsPerIdentity)
	require.Equal(t, 64, e.SendBatchMax)
	require.Equal(t, 10*time.Second, e.ConnectTimeout)
	require.Equal(t, 10000, e.MaxConnections)
	require.Equal(t, 20, e.AuthFailuresPerIP)
	require.Equal(t, 15*time.Minute, e.AuthBlockDuration)
	require.Equal(t, 10*time.Second, e.Webhook.Timeout)
	require.Equal(t, time.Second, e.Webhook.BackoffBase)
	require.Equal(t, time.Hour, e.Webhook.BackoffMax)

	cfg.MaxMessageLength = 10
	require.Equal(t, 10, Effective(cfg).MaxMessageLength, "a set value stays")
}

// WEBHOOK_BACKOFF_BASE set alone above the default max is refused, as when
// both are set (config checks a pair; the worker checks against its default).
func TestBackoffBaseAloneAboveTheDefaultMaxIsRefused(t *testing.T) {
	t.Parallel()
	vars := map[string]string{
		"DATABASE_URL":         pgtest.NewDatabase(t),
		"JWT_SECRET":           "effective-test-secret-0123456789abcdef",
		"N8N_WEBHOOK_URL":      "http://127.0.0.1:9/unused",
		"WEBHOOK_BACKOFF_BASE": "2h",
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	require.NoError(t, err)
	_, err = New(context.Background(), cfg, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	require.ErrorContains(t, err, "WEBHOOK_BACKOFF_BASE: must not exceed WEBHOOK_BACKOFF_MAX (1h0m0s)")
}
