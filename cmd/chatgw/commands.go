package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
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

// loadConfig reads the configuration and builds the logger (LOG_FORMAT on stderr,
// so stdout stays for command output).
func loadConfig(getenv func(string) string, stderr io.Writer) (config.Config, *slog.Logger, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return config.Config{}, nil, err
	}
	return cfg, logging.NewFormat(stderr, cfg.SlogLevel(), cfg.LogFormat), nil
}

func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	if err := flag.NewFlagSet("serve", flag.ContinueOnError).Parse(args); err != nil {
		return err
	}
	cfg, log, err := loadConfig(getenv, stderr)
	if err != nil {
		return err
	}
	log.Info("starting chatgw", "config", cfg)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return app.Run(ctx, cfg, log, reg)
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	create := fs.Bool("create-database", false, "create the database named in DATABASE_URL if it is missing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, log, err := loadConfig(getenv, stderr)
	if err != nil {
		return err
	}
	if *create {
		if err := postgres.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
			return err
		}
	}
	pool, err := postgres.NewPool(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	return postgres.Migrate(ctx, pool, log)
}

func token(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sub := fs.String("sub", "", "subject (user id), required")
	roles := fs.String("roles", "", "comma-separated roles, e.g. tecnico")
	ttl := fs.Duration("ttl", time.Hour, "lifetime")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *sub == "" {
		return fmt.Errorf("token: --sub is required")
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	if len(cfg.JWT.Secret) == 0 {
		return fmt.Errorf("token: JWT_SECRET is required to mint tokens")
	}
	var roleList []string
	for _, r := range strings.Split(*roles, ",") {
		if r = strings.TrimSpace(r); r != "" {
			roleList = append(roleList, r)
		}
	}
	tok, err := auth.MintUserToken(cfg.JWT.Secret, *sub, roleList, cfg.JWT.RolesClaim, *ttl, cfg.JWT.Issuer, cfg.JWT.Audience, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
