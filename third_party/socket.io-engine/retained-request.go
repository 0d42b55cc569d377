package engine

import (
	"net/http"

	"github.com/zishang520/socket.io/v3/pkg/types"
)

// retainedRequest is what a WebSocket's socket keeps of its upgrade request
// for its whole life, for Request(): method, URL, headers, host, remote
// address, request URI and TLS state, which is what the handshakes of its
// namespaces and the application read. Upstream kept the request context
// itself, and with it net/http's request, its context chain and the
// context's own state, long after the upgrade was done with them. (chatgw
// patch, see PATCHES.md.)
func retainedRequest(ctx *types.HttpContext) *types.HttpContext {
	r := ctx.Request()
	kept := &http.Request{
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
	}
	return types.NewHttpContext(hijackedResponse{}, kept)
}

// hijackedResponse is the ResponseWriter of a request whose connection was
// hijacked: nothing can be written to it any more.
type hijackedResponse struct{}

func (hijackedResponse) Header() http.Header        { return http.Header{} }
func (hijackedResponse) Write([]byte) (int, error)  { return 0, http.ErrHijacked }
func (hijackedResponse) WriteHeader(statusCode int) {}
