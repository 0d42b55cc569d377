package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/chatgw/chatgw/internal/auth"
	"github.com/chatgw/chatgw/internal/config"
	"github.com/chatgw/chatgw/internal/postgres"
)

// replyKeys runs `chatgw reply-keys rotate`: a new random reply-token key
// becomes the newest in PostgreSQL. Every node signs new deliveries with it
// within auth.DefaultReplyKeyCache and accepts it at once (a node reloads
// the keys on a kid it does not know); tokens signed with older keys keep
// working until they expire. It reads DATABASE_URL only.
func replyKeys(ctx context.Context, p proc, args []string) error {
	if len(args) != 1 || args[0] != "rotate" {
		return errors.New("reply-keys: want the subcommand rotate")
	}
	db, err := config.LoadDatabase(p.getenv)
	if err != nil {
		return err
	}
	pool, err := postgres.NewPool(ctx, db.URL)
	if err != nil {
		return err
	}
	defer pool.Close()
	key := auth.NewReplyKey()
	gen, err := postgres.NewReplyKeys(pool).Add(ctx, key.ID, key.Secret)
	if err != nil {
		return fmt.Errorf("reply-keys rotate: %w", err)
	}
	fmt.Fprintf(p.stdout, "reply-token key %s (generation %d) added; nodes sign with it within %s\n", key.ID, gen, auth.DefaultReplyKeyCache)
	if p.getenv("REPLY_TOKEN_SECRET") != "" {
		fmt.Fprintln(p.stdout, "note: REPLY_TOKEN_SECRET is set here; gateways that have it set sign with it and ignore the keys in PostgreSQL")
	}
	return nil
}
