package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"
)

// httpServer serves an http.Server on its own listener, as a Component.
type httpServer struct {
	variable string // the variable of addr, named in errors (HTTP_ADDR, PPROF_ADDR)
	addr     string
	server   *http.Server
	certFile string // with keyFile: serve TLS
	keyFile  string
	// listening is told the address once Start listens (it logs).
	listening func(addr net.Addr)

	mu   sync.Mutex
	ln   net.Listener  // nil until Start
	done chan struct{} // closed when Serve has returned
	// failed yields Serve's error when the server stops on its own.
	failed chan error

	stopOnce sync.Once
	stopErr  error
}

func newHTTPServer(variable, addr string, server *http.Server, listening func(net.Addr)) *httpServer {
	return &httpServer{variable: variable, addr: addr, server: server, listening: listening, failed: make(chan error, 1)}
}

func (s *httpServer) Start(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return fmt.Errorf("%s: already listening", s.variable)
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("%s: %w", s.variable, err)
	}
	s.ln = ln
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		var err error
		if s.certFile != "" {
			err = s.server.ServeTLS(ln, s.certFile, s.keyFile)
		} else {
			err = s.server.Serve(ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			s.failed <- err
		}
	}()
	if s.listening != nil {
		s.listening(ln.Addr())
	}
	return nil
}

// Stop stops accepting at once, then waits for the requests in flight, or
// closes them at ctx's end.
func (s *httpServer) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		done := s.done
		s.mu.Unlock()
		if done == nil {
			return // never started
		}
		if err := s.server.Shutdown(ctx); err != nil {
			_ = s.server.Close()
			s.stopErr = fmt.Errorf("%s shutdown: %w", s.variable, err)
		}
		<-done
	})
	return s.stopErr
}

// Addr is the address the server listens on ("" before Start).
func (s *httpServer) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// pprofServer serves net/http/pprof on addr, apart from the public listener.
func pprofServer(addr string, log *slog.Logger) *httpServer {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return newHTTPServer("PPROF_ADDR", addr, server, func(a net.Addr) {
		log.Warn("pprof listening: keep PPROF_ADDR off public networks", "addr", a.String())
	})
}
