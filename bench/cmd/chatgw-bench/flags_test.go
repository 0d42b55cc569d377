package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/bench/internal/gateway"
)

func TestThroughputFlagsDefaults(t *testing.T) {
	t.Parallel()
	o, err := parseThroughput(nil)
	require.NoError(t, err)
	require.Equal(t, 200, o.senders)
	require.Equal(t, 15*time.Second, o.duration)
	require.Equal(t, 3*time.Second, o.warmup)
	require.Equal(t, 30*time.Second, o.drain)
	require.Equal(t, "ok", o.receiver)
	require.Equal(t, 64, o.size)
	require.Equal(t, 1, o.runs)
	require.False(t, o.compare)
	require.Equal(t, 16, o.pool)
	require.Equal(t, gateway.DefaultAdminURL, o.adminURL)
	require.Empty(t, o.env)
}

func TestThroughputFlags(t *testing.T) {
	t.Parallel()
	o, err := parseThroughput([]string{"-senders", "50", "-duration", "2s", "-compare", "-runs", "3", "-receiver", "hang",
		"-env", "SEND_BATCH_WAIT=500us, LOG_LEVEL=debug", "-json", "out.json", "-chatgw", "/x/chatgw", "-pool", "8"})
	require.NoError(t, err)
	require.Equal(t, 50, o.senders)
	require.Equal(t, 2*time.Second, o.duration)
	require.True(t, o.compare)
	require.Equal(t, 3, o.runs)
	require.Equal(t, "hang", o.receiver)
	require.Equal(t, map[string]string{"SEND_BATCH_WAIT": "500us", "LOG_LEVEL": "debug"}, o.env)
	require.Equal(t, "out.json", o.jsonOut)
	require.Equal(t, "/x/chatgw", o.chatgw)
	require.Equal(t, 8, o.pool)
}

func TestFlagsKeepTheLoadBounded(t *testing.T) {
	t.Parallel()
	for name, parse := range map[string]func() error{
		"throughput duration": func() error { _, err := parseThroughput([]string{"-duration", "11m"}); return err },
		"throughput senders":  func() error { _, err := parseThroughput([]string{"-senders", "5001"}); return err },
		"throughput receiver": func() error { _, err := parseThroughput([]string{"-receiver", "maybe"}); return err },
		"throughput runs":     func() error { _, err := parseThroughput([]string{"-runs", "0"}); return err },
		"throughput stray":    func() error { _, err := parseThroughput([]string{"extra"}); return err },
		"latency rate":        func() error { _, err := parseLatency([]string{"-rate", "50001"}); return err },
		"latency duration":    func() error { _, err := parseLatency([]string{"-duration", "0s"}); return err },
		"latency receiver":    func() error { _, err := parseLatency([]string{"-receiver", "hang"}); return err },
		"idle conns":          func() error { _, err := parseIdle([]string{"-conns", "15001"}); return err },
		"idle hold":           func() error { _, err := parseIdle([]string{"-hold", "11m"}); return err },
		"ceiling clients":     func() error { _, err := parseCeiling([]string{"-clients", "91"}); return err },
		"ceiling duration":    func() error { _, err := parseCeiling([]string{"-duration", "6m"}); return err },
		"ceiling batch":       func() error { _, err := parseCeiling([]string{"-batch", "1"}); return err },
		"unknown flag":        func() error { _, err := parseIdle([]string{"-nope"}); return err },
		"bad env":             func() error { _, err := parseIdle([]string{"-env", "=x"}); return err },
	} {
		require.Error(t, parse(), name)
	}
	for name, parse := range map[string]func() error{
		"throughput at the caps": func() error { _, err := parseThroughput([]string{"-duration", "10m", "-senders", "5000"}); return err },
		"latency at the caps":    func() error { _, err := parseLatency([]string{"-duration", "10m", "-rate", "50000"}); return err },
		"idle at the caps":       func() error { _, err := parseIdle([]string{"-conns", "15000", "-hold", "10m"}); return err },
		"ceiling at the caps":    func() error { _, err := parseCeiling([]string{"-clients", "90", "-duration", "5m"}); return err },
	} {
		require.NoError(t, parse(), name)
	}
}

func TestOtherCommandsDefaults(t *testing.T) {
	t.Parallel()
	l, err := parseLatency(nil)
	require.NoError(t, err)
	require.Equal(t, latencyOpts{common: l.common, rate: 1000, conns: 200, duration: 15 * time.Second, warmup: 2 * time.Second, runs: 1, receiver: "ok"}, l)
	i, err := parseIdle(nil)
	require.NoError(t, err)
	require.Equal(t, idleOpts{common: i.common, conns: 10000, hold: 10 * time.Second, parallel: 64, runs: 1}, i)
	c, err := parseCeiling(nil)
	require.NoError(t, err)
	require.Equal(t, ceilingOpts{common: c.common, clients: 32, duration: 10 * time.Second, batch: 50, runs: 1}, c)
}

func TestParseEnv(t *testing.T) {
	t.Parallel()
	m, err := parseEnv("A=1,B=,C=x=y, ,")
	require.NoError(t, err)
	require.Equal(t, map[string]string{"A": "1", "B": "", "C": "x=y"}, m)
	_, err = parseEnv("A=1,B")
	require.Error(t, err, "an item without = is a mistake, not ignored")
}

func TestVariants(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"batching on"}, variants(false))
	require.Equal(t, []string{"batching on", "batching off"}, variants(true))
	require.Equal(t, map[string]string{"X": "1"}, variantEnv("batching on", map[string]string{"X": "1"}))
	require.Equal(t, map[string]string{"SEND_BATCH_MAX": "1", "X": "1"}, variantEnv("batching off", map[string]string{"X": "1"}))
	require.Equal(t, map[string]string{"SEND_BATCH_MAX": "4"}, variantEnv("batching off", map[string]string{"SEND_BATCH_MAX": "4"}), "-env wins")
}

func TestFindChatgw(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	exe := filepath.Join(dir, "chatgw")
	require.NoError(t, os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755))
	notExe := filepath.Join(dir, "plain")
	require.NoError(t, os.WriteFile(notExe, nil, 0o644))
	noPath := func(string) (string, error) { return "", errors.New("not on PATH") }

	got, err := findChatgw(exe, "/nonexistent", noPath)
	require.NoError(t, err)
	require.Equal(t, exe, got, "the flag")
	_, err = findChatgw(notExe, dir, noPath)
	require.Error(t, err, "a flag naming a file that cannot run")

	got, err = findChatgw("", dir, noPath)
	require.NoError(t, err)
	require.Equal(t, exe, got, "next to chatgw-bench")

	got, err = findChatgw("", t.TempDir(), func(string) (string, error) { return "/usr/local/bin/chatgw", nil })
	require.NoError(t, err)
	require.Equal(t, "/usr/local/bin/chatgw", got, "then PATH (no ../bin or bin here)")

	_, err = findChatgw("", t.TempDir(), noPath)
	require.ErrorContains(t, err, "make bench")
}

func TestCPUModel(t *testing.T) {
	t.Parallel()
	require.Equal(t, "AMD EPYC 7B13", cpuModel("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nmodel name\t: other\n"))
	require.Empty(t, cpuModel("processor\t: 0\n"))
}
