package app

import (
	"cmp"

	"github.com/chatgw/chatgw/internal/auth"
	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/config"
	"github.com/chatgw/chatgw/internal/gateway"
	"github.com/chatgw/chatgw/internal/guard"
	"github.com/chatgw/chatgw/internal/postgres"
	"github.com/chatgw/chatgw/internal/webhook"
)

// Effective is cfg with each zero ("the component's default") replaced by
// the default the component applies, for the start-up log line: config
// leaves them zero, and each component owns its default.
func Effective(cfg config.Config) config.Config {
	cfg.JWT.RolesClaim = cmp.Or(cfg.JWT.RolesClaim, auth.DefaultRolesClaim)
	cfg.ReplyTokenTTL = cmp.Or(cfg.ReplyTokenTTL, auth.DefaultReplyTokenTTL)
	if cfg.JWT.JWKSURL != "" {
		cfg.JWT.JWKSRefresh = cmp.Or(cfg.JWT.JWKSRefresh, auth.DefaultJWKSRefresh)
	}
	cfg.MaxMessageLength = cmp.Or(cfg.MaxMessageLength, chat.DefaultMaxMessageLength)
	cfg.MaxSocketsPerIdentity = cmp.Or(cfg.MaxSocketsPerIdentity, gateway.DefaultMaxSocketsPerIdentity)
	cfg.SendBatchMax = cmp.Or(cfg.SendBatchMax, postgres.DefaultBatchMax)
	cfg.ConnectTimeout = cmp.Or(cfg.ConnectTimeout, gateway.DefaultConnectTimeout)
	cfg.MaxConnections = cmp.Or(cfg.MaxConnections, gateway.DefaultMaxConnections)
	cfg.AuthFailuresPerIP = cmp.Or(cfg.AuthFailuresPerIP, guard.DefaultAuthFailures)
	cfg.AuthBlockDuration = cmp.Or(cfg.AuthBlockDuration, guard.DefaultBlockDuration)
	w := &cfg.Webhook
	w.Timeout = cmp.Or(w.Timeout, webhook.DefaultTimeout)
	w.BackoffBase = cmp.Or(w.BackoffBase, webhook.DefaultBackoffBase)
	w.BackoffMax = cmp.Or(w.BackoffMax, webhook.DefaultBackoffMax)
	w.Concurrency = cmp.Or(w.Concurrency, webhook.DefaultConcurrency)
	return cfg
}
