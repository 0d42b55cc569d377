package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/postgres"
	"github.com/chatgw/chatgw/internal/webhook"
)

type ceilingResult struct {
	Mode        string  `json:"mode"`
	Clients     int     `json:"clients"`
	PerTx       int     `json:"messagesPerTx"`
	DurationSec float64 `json:"durationSec"`
	Messages    int64   `json:"messages"`
	MsgsPerSec  float64 `json:"messagesPerSec"`
	TxPerSec    float64 `json:"txPerSec"`
}

// ceilingCmd writes what chatgw writes per message — the seq bump on the
// conversation, the message row, the River delivery job (the real
// webhook.DeliveryArgs, through River's own insert) — straight through
// pgx, with no gateway: one message per transaction, then -batch per
// transaction. It is the database's own limit on this machine, taken in the
// same run as the gateway figures.
func ceilingCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("ceiling", flag.ExitOnError)
	var c common
	c.register(fs)
	clients := fs.Int("clients", 32, "concurrent connections, one conversation each")
	duration := fs.Duration("duration", 10*time.Second, "time per mode")
	batch := fs.Int("batch", 50, "messages per transaction in the batched mode")
	runs := fs.Int("runs", 1, "repetitions (medians are reported)")
	_ = fs.Parse(args)
	if *duration > 5*time.Minute || *clients > 90 {
		return fmt.Errorf("keep the load bounded: -duration ≤ 5m, -clients ≤ 90")
	}
	var all []ceilingResult
	for r := range *runs {
		for _, per := range []int{1, *batch} {
			fmt.Fprintf(os.Stderr, "run %d/%d: %d per tx ...\n", r+1, *runs, per)
			res, err := runCeiling(ctx, c, *clients, per, *duration)
			if err != nil {
				return err
			}
			all = append(all, res)
			printCeiling([]ceilingResult{res})
		}
	}
	out := map[string]any{"machine": describeMachine(), "runs": all}
	if *runs > 1 {
		var meds []ceilingResult
		for _, per := range []int{1, *batch} {
			var v, tx []float64
			var last ceilingResult
			for _, r := range all {
				if r.PerTx == per {
					v, tx, last = append(v, r.MsgsPerSec), append(tx, r.TxPerSec), r
				}
			}
			last.MsgsPerSec, last.TxPerSec = median(v), median(tx)
			last.Mode += fmt.Sprintf(" (median of %d)", len(v))
			meds = append(meds, last)
		}
		fmt.Println("\nmedians:")
		printCeiling(meds)
		out["medians"] = meds
	}
	return writeJSON(c.jsonOut, out)
}

func printCeiling(rs []ceilingResult) {
	var rows [][]string
	for _, r := range rs {
		rows = append(rows, []string{r.Mode, fmt.Sprint(r.Clients), fmt.Sprint(r.PerTx), fmt.Sprintf("%.0f", r.TxPerSec), fmt.Sprintf("%.0f", r.MsgsPerSec)})
	}
	table(os.Stdout, []string{"mode", "clients", "msgs/tx", "tx/s", "msgs/s"}, rows)
}

func runCeiling(ctx context.Context, c common, clients, per int, duration time.Duration) (ceilingResult, error) {
	mode := "one message per tx"
	if per > 1 {
		mode = fmt.Sprintf("batched %d per tx", per)
	}
	res := ceilingResult{Mode: mode, Clients: clients, PerTx: per}
	dbURL, drop, err := freshDatabase(ctx, c.adminURL, clients+4)
	if err != nil {
		return res, err
	}
	defer drop()
	pool, err := postgres.NewPool(ctx, dbURL)
	if err != nil {
		return res, err
	}
	defer pool.Close()
	if err := postgres.Migrate(ctx, pool, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		return res, err
	}
	rc, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		return res, err
	}
	convs := make([]uuid.UUID, clients)
	for i := range convs {
		convs[i] = uuid.Must(uuid.NewV7())
		if _, err := pool.Exec(ctx, `INSERT INTO conversations (id, session_token_hash) VALUES ($1, $2)`, convs[i], chat.HashSessionToken(convs[i].String())); err != nil {
			return res, err
		}
	}
	var msgs, txs atomic.Int64
	var firstErr atomic.Value
	runCtx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for _, conv := range convs {
		wg.Go(func() {
			for runCtx.Err() == nil {
				err := pgx.BeginFunc(runCtx, pool, func(tx pgx.Tx) error { return writeMessages(runCtx, tx, rc, conv, per) })
				if err != nil {
					if runCtx.Err() == nil {
						firstErr.CompareAndSwap(nil, err)
					}
					return
				}
				msgs.Add(int64(per))
				txs.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, _ := firstErr.Load().(error); err != nil {
		return res, err
	}
	res.DurationSec = elapsed.Seconds()
	res.Messages = msgs.Load()
	res.MsgsPerSec = float64(res.Messages) / elapsed.Seconds()
	res.TxPerSec = float64(txs.Load()) / elapsed.Seconds()
	return res, nil
}

// writeMessages writes n messages of conv and their delivery jobs in tx.
func writeMessages(ctx context.Context, tx pgx.Tx, rc *river.Client[pgx.Tx], conv uuid.UUID, n int) error {
	var last int64
	if err := tx.QueryRow(ctx, `UPDATE conversations SET last_seq = last_seq + $2 WHERE id = $1 RETURNING last_seq`, conv, n).Scan(&last); err != nil {
		return err
	}
	if n == 1 {
		msg := chat.Message{ID: uuid.Must(uuid.NewV7()), ConversationID: conv, Seq: last}
		if _, err := tx.Exec(ctx, `INSERT INTO messages (id, conversation_id, seq, sender, content, client_message_id) VALUES ($1, $2, $3, 'user', $4, $5)`,
			msg.ID, conv, last, "ceiling probe message with a typical length of sixty-four chars", msg.ID.String()); err != nil {
			return err
		}
		_, err := rc.InsertTx(ctx, tx, webhook.NewDeliveryArgs(msg, "socket-id"), nil)
		return err
	}
	ids := make([]uuid.UUID, n)
	seqs := make([]int64, n)
	cids := make([]string, n)
	jobs := make([]river.InsertManyParams, n)
	for i := range n {
		ids[i] = uuid.Must(uuid.NewV7())
		seqs[i] = last - int64(n) + int64(i) + 1
		cids[i] = ids[i].String()
		jobs[i] = river.InsertManyParams{Args: webhook.NewDeliveryArgs(chat.Message{ID: ids[i], ConversationID: conv, Seq: seqs[i]}, "socket-id")}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO messages (id, conversation_id, seq, sender, content, client_message_id)
SELECT id, $2, seq, 'user', $4, cid FROM unnest($1::uuid[], $3::bigint[], $5::text[]) AS t(id, seq, cid)`,
		ids, conv, seqs, "ceiling probe message with a typical length of sixty-four chars", cids); err != nil {
		return err
	}
	_, err := rc.InsertManyTx(ctx, tx, jobs)
	return err
}
