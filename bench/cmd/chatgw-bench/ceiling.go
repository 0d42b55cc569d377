package main

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	pgxuuid "github.com/vgarvardt/pgx-google-uuid/v5"

	"github.com/chatgw/chatgw/bench/internal/gateway"
	"github.com/chatgw/chatgw/bench/internal/stats"
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

// ceilingOpts are the ceiling command's flags.
type ceilingOpts struct {
	common
	clients  int
	duration time.Duration
	batch    int
	runs     int
}

func parseCeiling(args []string) (ceilingOpts, error) {
	fs := flag.NewFlagSet("ceiling", flag.ContinueOnError)
	var o ceilingOpts
	o.common.register(fs)
	fs.IntVar(&o.clients, "clients", 32, "concurrent connections, one conversation each")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "time per mode")
	fs.IntVar(&o.batch, "batch", 50, "messages per transaction in the batched mode")
	fs.IntVar(&o.runs, "runs", 1, "repetitions (medians are reported)")
	if err := parseFlags(fs, args); err != nil {
		return o, err
	}
	switch {
	case o.duration <= 0 || o.duration > 5*time.Minute || o.clients < 1 || o.clients > 90:
		return o, fmt.Errorf("keep the load bounded: 0 < -duration ≤ 5m, 1 ≤ -clients ≤ 90")
	case o.batch < 2:
		return o, fmt.Errorf("-batch must be at least 2")
	case o.runs < 1:
		return o, fmt.Errorf("-runs must be at least 1")
	}
	return o, nil
}

// ceilingCmd writes what chatgw writes per message — the seq bump on the
// conversation, the message row, the River delivery job (chatgw's
// webhook_delivery kind and arguments, through River's own insert) —
// straight through pgx, with no gateway: one message per transaction, then
// -batch per transaction. It is the database's own limit on this machine,
// taken in the same run as the gateway figures. The schema is chatgw's:
// the built binary's `chatgw migrate` applies it.
func ceilingCmd(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parseCeiling(args)
	if err != nil {
		return err
	}
	bin, err := o.binary()
	if err != nil {
		return err
	}
	var all []ceilingResult
	for r := range o.runs {
		for _, per := range []int{1, o.batch} {
			fmt.Fprintf(os.Stderr, "run %d/%d: %d per tx ...\n", r+1, o.runs, per)
			res, err := runCeiling(ctx, o, bin, per)
			if err != nil {
				return err
			}
			all = append(all, res)
			printCeiling(stdout, []ceilingResult{res})
		}
	}
	out := map[string]any{"machine": describeMachine(), "runs": all}
	if o.runs > 1 {
		meds := medianCeilings(all, o.batch)
		fmt.Fprintln(stdout, "\nmedians:")
		printCeiling(stdout, meds)
		out["medians"] = meds
	}
	return writeJSON(o.jsonOut, stdout, out)
}

// medianCeilings is, for one message per transaction and then batch, the
// last run with the median of the runs' rates.
func medianCeilings(all []ceilingResult, batch int) []ceilingResult {
	var meds []ceilingResult
	for _, per := range []int{1, batch} {
		var v, tx []float64
		var last ceilingResult
		for _, r := range all {
			if r.PerTx == per {
				v, tx, last = append(v, r.MsgsPerSec), append(tx, r.TxPerSec), r
			}
		}
		last.MsgsPerSec, last.TxPerSec = stats.Median(v), stats.Median(tx)
		last.Mode += fmt.Sprintf(" (median of %d)", len(v))
		meds = append(meds, last)
	}
	return meds
}

func printCeiling(w io.Writer, rs []ceilingResult) {
	var rows [][]string
	for _, r := range rs {
		rows = append(rows, []string{r.Mode, fmt.Sprint(r.Clients), fmt.Sprint(r.PerTx), fmt.Sprintf("%.0f", r.TxPerSec), fmt.Sprintf("%.0f", r.MsgsPerSec)})
	}
	table(w, []string{"mode", "clients", "msgs/tx", "tx/s", "msgs/s"}, rows)
}

// deliveryArgs is chatgw's River job for one message to deliver (kind
// webhook_delivery on queue webhooks, ids only). It mirrors the gateway's
// job so the ceiling writes the same rows; the smoke test checks the
// binary's jobs against it.
type deliveryArgs struct {
	MessageID      uuid.UUID `json:"message_id"`
	ConversationID uuid.UUID `json:"conversation_id"`
	SocketID       string    `json:"socket_id,omitempty"`
}

func (deliveryArgs) Kind() string                 { return "webhook_delivery" }
func (deliveryArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: "webhooks"} }

func runCeiling(ctx context.Context, o ceilingOpts, bin string, per int) (ceilingResult, error) {
	mode := "one message per tx"
	if per > 1 {
		mode = fmt.Sprintf("batched %d per tx", per)
	}
	res := ceilingResult{Mode: mode, Clients: o.clients, PerTx: per}
	db, err := gateway.CreateDatabase(ctx, o.adminURL)
	if err != nil {
		return res, err
	}
	defer warnStop(db.Drop)
	if err := gateway.Migrate(ctx, bin, db.URL(0)); err != nil {
		return res, err
	}
	pool, err := newPool(ctx, db.URL(o.clients+4))
	if err != nil {
		return res, err
	}
	defer pool.Close()
	rc, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		return res, err
	}
	convs := make([]uuid.UUID, o.clients)
	for i := range convs {
		convs[i] = uuid.Must(uuid.NewV7())
		hash := sha256.Sum256([]byte(convs[i].String()))
		if _, err := pool.Exec(ctx, `INSERT INTO conversations (id, session_token_hash) VALUES ($1, $2)`, convs[i], hash[:]); err != nil {
			return res, err
		}
	}
	var msgs, txs atomic.Int64
	var firstErr atomic.Value
	runCtx, cancel := context.WithTimeout(ctx, o.duration)
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
	res.MsgsPerSec = stats.Rate(res.Messages, elapsed)
	res.TxPerSec = stats.Rate(txs.Load(), elapsed)
	return res, ctx.Err()
}

// newPool connects as the gateway does: uuid.UUID values encoded natively
// (16 bytes) rather than through their string form.
func newPool(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.AfterConnect = func(_ context.Context, conn *pgx.Conn) error {
		pgxuuid.Register(conn.TypeMap())
		return nil
	}
	return pgxpool.NewWithConfig(ctx, cfg)
}

const ceilingContent = "ceiling probe message with a typical length of sixty-four chars"

// writeMessages writes n messages of conv and their delivery jobs in tx.
func writeMessages(ctx context.Context, tx pgx.Tx, rc *river.Client[pgx.Tx], conv uuid.UUID, n int) error {
	var last int64
	if err := tx.QueryRow(ctx, `UPDATE conversations SET last_seq = last_seq + $2 WHERE id = $1 RETURNING last_seq`, conv, n).Scan(&last); err != nil {
		return err
	}
	if n == 1 {
		id := uuid.Must(uuid.NewV7())
		if _, err := tx.Exec(ctx, `INSERT INTO messages (id, conversation_id, seq, sender, content, client_message_id) VALUES ($1, $2, $3, 'user', $4, $5)`,
			id, conv, last, ceilingContent, id.String()); err != nil {
			return err
		}
		_, err := rc.InsertTx(ctx, tx, deliveryArgs{MessageID: id, ConversationID: conv, SocketID: "socket-id"}, nil)
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
		jobs[i] = river.InsertManyParams{Args: deliveryArgs{MessageID: ids[i], ConversationID: conv, SocketID: "socket-id"}}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO messages (id, conversation_id, seq, sender, content, client_message_id)
SELECT id, $2, seq, 'user', $4, cid FROM unnest($1::uuid[], $3::bigint[], $5::text[]) AS t(id, seq, cid)`,
		ids, conv, seqs, ceilingContent, cids); err != nil {
		return err
	}
	_, err := rc.InsertManyTx(ctx, tx, jobs)
	return err
}
