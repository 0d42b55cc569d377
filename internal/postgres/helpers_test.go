package postgres_test

import (
	"net/url"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/postgres/pgtest"
)

func replaceDB(t *testing.T, raw, name string) string {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	u.Path = "/" + name
	return u.String()
}

// TestMain drops the database pgtest.NewTx shares.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
