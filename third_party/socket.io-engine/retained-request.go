package engine

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/zishang520/socket.io/v3/pkg/types"
)

// retainedRequest is what a WebSocket's socket keeps of its upgrade request
// once the socket's initialization is done, for Request(): method, URL,
// headers, host, remote address, request URI and TLS state, which is what
// the handshakes of its namespaces and the application read. Upstream keeps
// the request context itself, and with it net/http's request, its context
// chain and the context's own state, long after the upgrade is done with
// them. (chatgw patch, see third_party/README.md.)
//
// Until then Request() is the request context itself: initialization reads
// and replaces its readiness callback, and watches it end. The copy is a
// context that has ended, as the original does when the upgrade handler
// returns, which it is about to: Done() is closed and Context() is done,
// with the original's error if it had one.
func retainedRequest(ctx *types.HttpContext) *types.HttpContext {
	r := ctx.Request()
	ended := requestCanceled
	if errors.Is(ctx.Context().Err(), context.DeadlineExceeded) {
		ended = requestExpired
	}
	kept := (&http.Request{
		Method:     r.Method,
		URL:        r.URL,
		Proto:      r.Proto,
		ProtoMajor: r.ProtoMajor,
		ProtoMinor: r.ProtoMinor,
		Header:     r.Header,
		Host:       r.Host,
		RemoteAddr: r.RemoteAddr,
		RequestURI: r.RequestURI,
		TLS:        r.TLS,
	}).WithContext(ended)
	c := types.NewHttpContext(hijackedResponse{}, kept)
	// Its context has ended, so it finishes at once, on a goroutine of its
	// own; wait for that, so Done() is closed when Request() returns it.
	<-c.Done()
	return c
}

// The ended contexts retained requests share.
var requestCanceled, requestExpired = endedContexts()

func endedContexts() (canceled, expired context.Context) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel = context.WithDeadline(context.Background(), time.Unix(0, 0))
	cancel()
	return canceled, expired
}

// hijackedResponse is the ResponseWriter of a request whose connection was
// hijacked: nothing can be written to it any more.
type hijackedResponse struct{}

func (hijackedResponse) Header() http.Header        { return http.Header{} }
func (hijackedResponse) Write([]byte) (int, error)  { return 0, http.ErrHijacked }
func (hijackedResponse) WriteHeader(statusCode int) {}
