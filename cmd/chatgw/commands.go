package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/chatgw/chatgw/internal/app"
	"github.com/chatgw/chatgw/internal/auth"
	"github.com/chatgw/chatgw/internal/config"
	"github.com/chatgw/chatgw/internal/logging"
	"github.com/chatgw/chatgw/internal/postgres"
)

// serve reads the whole configuration; the logger writes on stderr, JSON
// or text (LOG_FORMAT).
func serve(ctx context.Context, p proc, args []string) error {
	if err := flag.NewFlagSet("serve", flag.ContinueOnError).Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(p.getenv)
	if err != nil {
		return err
	}
	log := logging.NewFormat(p.stderr, cfg.LogFormat, cfg.SlogLevel())
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return app.Run(ctx, cfg, log, reg)
}

// migrate reads DATABASE_URL (and LOG_LEVEL) only.
func migrate(ctx context.Context, p proc, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(p.stderr)
	create := fs.Bool("create-database", false, "create the database named in DATABASE_URL if it is missing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := config.LoadDatabase(p.getenv)
	if err != nil {
		return err
	}
	if *create {
		if err := postgres.EnsureDatabase(ctx, db.URL); err != nil {
			return err
		}
	}
	pool, err := postgres.NewPool(ctx, db.URL)
	if err != nil {
		return err
	}
	defer pool.Close()
	return postgres.Migrate(ctx, pool, logging.NewFormat(p.stderr, db.LogFormat, db.SlogLevel()))
}

// token reads JWT_SECRET and the claims the gateway checks only.
func token(_ context.Context, p proc, args []string) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(p.stderr)
	sub := fs.String("sub", "", "subject (user id), required")
	roles := fs.String("roles", "", "comma-separated roles, e.g. tecnico")
	ttl := fs.Duration("ttl", time.Hour, "lifetime")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *sub == "" {
		return fmt.Errorf("token: --sub is required")
	}
	cfg, err := config.LoadToken(p.getenv)
	if err != nil {
		return err
	}
	var roleList []string
	for _, r := range strings.Split(*roles, ",") {
		if r = strings.TrimSpace(r); r != "" {
			roleList = append(roleList, r)
		}
	}
	tok, err := auth.MintUserToken(cfg.Secret, *sub, roleList, cfg.RolesClaim, *ttl, cfg.Issuer, cfg.Audience, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintln(p.stdout, tok)
	return nil
}
