// Command chatgw is the support-chat gateway. See README.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/chatgw/chatgw/internal/config"
	"github.com/chatgw/chatgw/internal/postgres"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		dbURL := os.Getenv("DATABASE_URL")
		if dbURL == "" {
			dbURL = config.DefaultDatabaseURL
		}
		fmt.Fprintln(os.Stderr, "chatgw:", postgres.ExplainConnectError(dbURL, err))
		stop()
		os.Exit(1)
	}
}

// proc is what a command gets from the process: the environment (read
// through its own config loader, so it reads only the variables it needs)
// and the output streams (stdout for results, stderr for logs).
type proc struct {
	getenv         func(string) string
	stdout, stderr io.Writer
}

// command is one subcommand. Adding one is adding an entry to commands.
type command struct {
	name  string
	usage string // its lines in the usage text
	run   func(ctx context.Context, p proc, args []string) error
}

// commands are chatgw's subcommands, in the usage text's order; the first
// is the default.
var commands = []command{
	{"serve", `serve                 run migrations (unless MIGRATE_ON_START=false) and serve HTTP + Socket.IO (default)`, serve},
	{"migrate", `migrate [--create-database]
                        apply the database migrations and exit (reads DATABASE_URL only)`, migrate},
	{"token", `token --sub ID [--roles a,b] [--ttl 1h]
                        print a JWT signed with JWT_SECRET (development and tests; reads JWT_* only)`, token},
	{"webhooks", `webhooks list [--state discarded|retryable|available|completed] [--limit N]
  webhooks retry JOB_ID... | --discarded
                        the webhook delivery queue (reads DATABASE_URL only)`, webhooks},
	{"reply-keys", `reply-keys rotate     add a new reply-token signing key; older tokens stay valid until they expire (reads DATABASE_URL only)`, replyKeys},
}

// run is the whole program; main only adds the process around it, so tests
// can run any command in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	p := proc{getenv: getenv, stdout: stdout, stderr: stderr}
	name, rest := commands[0].name, args
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		name, rest = args[0], args[1:]
	}
	switch name {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage())
		return nil
	}
	for _, c := range commands {
		if c.name == name {
			return c.run(ctx, p, rest)
		}
	}
	return fmt.Errorf("unknown command %q\n%s", name, usage())
}

func usage() string {
	var b strings.Builder
	b.WriteString("usage: chatgw [command] [flags]\n\ncommands:\n")
	for _, c := range commands {
		b.WriteString("  " + c.usage + "\n")
	}
	b.WriteString("\nConfiguration comes from the environment; see docs/configuration.md.\n")
	return b.String()
}
