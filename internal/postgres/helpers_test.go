package postgres_test

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

func replaceDB(t *testing.T, raw, name string) string {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	u.Path = "/" + name
	return u.String()
}
