// Command chatgw is the support-chat gateway. See README.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "chatgw:", err)
		stop()
		os.Exit(1)
	}
}

// run is the whole program; main only adds the process around it, so tests
// can run any command in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd, rest := "serve", args
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, rest = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, rest, getenv, stderr)
	case "migrate":
		return migrate(ctx, rest, getenv, stderr)
	case "token":
		return token(rest, getenv, stdout, stderr)
	case "webhooks":
		return webhooks(ctx, rest, getenv, stdout, stderr)
	case "reply-keys":
		return replyKeys(ctx, rest, getenv, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
}

const usage = `usage: chatgw [command] [flags]

commands:
  serve                 run migrations (unless MIGRATE_ON_START=false) and serve HTTP + Socket.IO (default)
  migrate [--create-database]
                        apply the database migrations and exit
  token --sub ID [--roles a,b] [--ttl 1h]
                        print a JWT signed with JWT_SECRET (development and tests)
  webhooks list [--state discarded|retryable|available|completed] [--limit N]
  webhooks retry JOB_ID... | --discarded
  reply-keys rotate     add a new reply-token signing key (older tokens stay valid until they expire)

Configuration comes from the environment; see docs/configuration.md.
`
