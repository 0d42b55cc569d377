package apptest

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// Event is one server → client event a Socket received.
type Event struct {
	Name string
	Args []any
}

// Recorder keeps the events a socket received, in order, and lets a test
// wait for one without sleeping.
type Recorder struct {
	mu     sync.Mutex
	events []Event
	signal chan struct{} // closed and replaced on every event
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{signal: make(chan struct{})} }

func (r *Recorder) add(name string, args []any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, Event{Name: name, Args: args})
	close(r.signal)
	r.signal = make(chan struct{})
}

// All returns the events so far.
func (r *Recorder) All() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// Named returns the first argument of each event called name, so far.
func (r *Recorder) Named(name string) []map[string]any {
	var out []map[string]any
	for _, e := range r.All() {
		if e.Name == name && len(e.Args) > 0 {
			m, _ := e.Args[0].(map[string]any)
			out = append(out, m)
		}
	}
	return out
}

// WaitFor waits until n events called name have arrived and returns their
// first arguments.
func (r *Recorder) WaitFor(t testing.TB, name string, n int) []map[string]any {
	t.Helper()
	deadline := time.After(Timeout)
	for {
		r.mu.Lock()
		signal := r.signal
		r.mu.Unlock()
		if got := r.Named(name); len(got) >= n {
			return got
		}
		select {
		case <-signal:
		case <-deadline:
			t.Fatalf("timed out waiting for %d %q events; got %d", n, name, len(r.Named(name)))
		}
	}
}

// LogBuffer collects log output safely across goroutines.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything logged so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
