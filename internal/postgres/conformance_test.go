package postgres_test

import (
	"testing"

	"github.com/chatgw/chatgw/internal/chat/chattest"
	"github.com/chatgw/chatgw/internal/postgres"
)

// The store passes the same table as the in-memory fake the edges' tests
// use (chattest.Store), with and without group commit.
func TestStoreConformance(t *testing.T) {
	t.Parallel()
	t.Run("one transaction per send", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t, postgres.StoreConfig{})
		chattest.TestStore(t, s)
	})
	t.Run("group commit", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t, postgres.StoreConfig{})
		chattest.TestStore(t, startGroupCommitter(t, s, postgres.GroupCommitConfig{}))
	})
}
