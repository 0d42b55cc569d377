package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatgw/chatgw/bench/internal/gateway"
	"github.com/chatgw/chatgw/bench/internal/sioclient"
)

// receiver is the built-in n8n stand-in: it counts deliveries (unique by
// webhook-id) or, in "hang" mode, accepts them and never answers.
type receiver struct {
	mode   string // ok | hang
	srv    *http.Server
	ln     net.Listener
	unique atomic.Int64
	total  atomic.Int64
	open   atomic.Int64 // requests being held (hang)
	seen   sync.Map
	stop   chan struct{}
}

func startReceiver(mode string) (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{mode: mode, ln: ln, stop: make(chan struct{})}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

func (r *receiver) URL() string { return "http://" + r.ln.Addr().String() + "/hook" }

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	_, _ = io.Copy(io.Discard, req.Body)
	r.total.Add(1)
	if r.mode == "hang" {
		r.open.Add(1)
		defer r.open.Add(-1)
		select {
		case <-req.Context().Done():
		case <-r.stop:
		}
		return
	}
	if _, dup := r.seen.LoadOrStore(req.Header.Get("webhook-id"), struct{}{}); !dup {
		r.unique.Add(1)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) Close() {
	close(r.stop)
	_ = r.srv.Close()
}

// anonymous is a conversation and its session token.
type anonymous struct {
	ConversationID string `json:"conversationId"`
	SessionToken   string `json:"session_token"`
}

func (a anonymous) auth() map[string]any {
	return map[string]any{"conversationId": a.ConversationID, "session_token": a.SessionToken}
}

var httpClient = &http.Client{
	Timeout:   30 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 64},
}

// createConversations creates n anonymous conversations over HTTP.
func createConversations(ctx context.Context, base string, n int) ([]anonymous, error) {
	out := make([]anonymous, n)
	errs := make(chan error, 1)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(n, 32) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				resp, err := httpClient.Post(base+"/v1/conversations", "application/json", strings.NewReader("{}"))
				if err == nil {
					if resp.StatusCode != http.StatusCreated {
						err = fmt.Errorf("POST /v1/conversations: HTTP %d", resp.StatusCode)
					} else {
						err = json.NewDecoder(resp.Body).Decode(&out[i])
					}
					resp.Body.Close()
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case err := <-errs:
		return nil, err
	default:
		return out, nil
	}
}

// connectAll opens one socket per conversation with bounded concurrency
// and returns the sockets and the connect rate.
func connectAll(ctx context.Context, base string, convs []anonymous, parallel int) ([]*sioclient.Conn, float64, error) {
	conns := make([]*sioclient.Conn, len(convs))
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range min(parallel, len(convs)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(convs) || ctx.Err() != nil || firstErr.Load() != nil {
					return
				}
				cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				c, err := sioclient.Dial(cctx, base, convs[i].auth())
				cancel()
				if err != nil {
					firstErr.CompareAndSwap(nil, fmt.Errorf("socket %d: %w", i, err))
					return
				}
				conns[i] = c
			}
		})
	}
	wg.Wait()
	rate := float64(len(convs)) / time.Since(start).Seconds()
	if err, _ := firstErr.Load().(error); err != nil {
		closeAll(conns)
		return nil, 0, err
	}
	if err := ctx.Err(); err != nil {
		closeAll(conns)
		return nil, 0, err
	}
	return conns, rate, nil
}

func closeAll(conns []*sioclient.Conn) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}

// fleet is a gateway (with its webhook receiver) and n connected sockets,
// one anonymous conversation each: the set-up of the send benchmarks.
type fleet struct {
	recv    *receiver // nil with receiver mode "none"
	cluster *gateway.Cluster
	g       *gateway.Process // the node the sockets are on
	convs   []anonymous
	conns   []*sioclient.Conn
	rate    float64 // handshakes per second while connecting
}

func startFleet(ctx context.Context, c common, env map[string]string, recvMode string, pprof bool, n int) (_ *fleet, err error) {
	f := &fleet{}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	var hook string
	if recvMode != "none" {
		if f.recv, err = startReceiver(recvMode); err != nil {
			return nil, err
		}
		hook = f.recv.URL()
	}
	if f.cluster, err = c.cluster(ctx, env, hook, pprof); err != nil {
		return nil, err
	}
	f.g = f.cluster.Nodes[0]
	if f.convs, err = createConversations(ctx, f.g.URL, n); err != nil {
		return nil, err
	}
	if f.conns, f.rate, err = connectAll(ctx, f.g.URL, f.convs, 50); err != nil {
		return nil, err
	}
	return f, nil
}

// Close disconnects the sockets, stops the gateway and the receiver, and
// drops the database.
func (f *fleet) Close() {
	if f.conns != nil {
		closeAll(f.conns)
	}
	if f.cluster != nil {
		warnStop(f.cluster.Stop)
	}
	if f.recv != nil {
		f.recv.Close()
	}
}
