package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/config"
)

func mustConfig(t *testing.T, getenv func(string) string) config.Config {
	t.Helper()
	cfg, err := config.Load(getenv)
	require.NoError(t, err)
	return cfg
}
