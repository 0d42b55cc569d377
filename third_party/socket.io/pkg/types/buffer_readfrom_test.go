package types

// Tests of the chatgw patch to Buffer.ReadFrom (third_party/README.md).

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// unsized hides a reader's Len, as gorilla/websocket's message reader has
// none.
type unsized struct{ r io.Reader }

func (u unsized) Read(p []byte) (int, error) { return u.r.Read(p) }

func TestReadFromCopiesEveryReaderWhole(t *testing.T) {
	t.Parallel()
	for _, size := range []int{0, 1, 150, MinRead - 1, MinRead, MinRead + 1, 3*MinRead + 7, 100_000} {
		want := strings.Repeat("0123456789abcdef", size/16+1)[:size]
		readers := map[string]func() io.Reader{
			"Buffer":        func() io.Reader { return NewBufferString(want) },
			"StringBuffer":  func() io.Reader { return NewStringBufferString(want) },
			"BytesBuffer":   func() io.Reader { return NewBytesBufferString(want) },
			"bytes.Buffer":  func() io.Reader { return bytes.NewBufferString(want) },
			"bytes.Reader":  func() io.Reader { return bytes.NewReader([]byte(want)) },
			"strings":       func() io.Reader { return strings.NewReader(want) },
			"unsized":       func() io.Reader { return unsized{strings.NewReader(want)} },
			"one byte":      func() io.Reader { return iotest.OneByteReader(strings.NewReader(want)) },
			"half":          func() io.Reader { return iotest.HalfReader(strings.NewReader(want)) },
			"data with EOF": func() io.Reader { return iotest.DataErrReader(strings.NewReader(want)) },
		}
		for name, r := range readers {
			for _, prefix := range []string{"", "head:"} {
				b := NewBufferString(prefix)
				n, err := b.ReadFrom(r())
				if err != nil || n != int64(size) || b.String() != prefix+want {
					t.Fatalf("%s, %d bytes, prefix %q: n=%d err=%v, content ok=%v", name, size, prefix, n, err, b.String() == prefix+want)
				}
			}
		}
	}
}

func TestReadFromAfterPartialReadKeepsTheUnreadPart(t *testing.T) {
	t.Parallel()
	b := NewBufferString("consumed|kept")
	p := make([]byte, len("consumed|"))
	if _, err := b.Read(p); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ReadFrom(strings.NewReader("+more")); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "kept+more" {
		t.Fatalf("got %q", got)
	}
}

func TestReadFromReturnsTheReadersError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	b := NewBuffer(nil)
	n, err := b.ReadFrom(io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) || n != 3 || b.String() != "abc" {
		t.Fatalf("n=%d err=%v content=%q", n, err, b.String())
	}
}

// The patch's point: one allocation, of the packet's size, for a reader
// that knows its length (the engine parser copying a packet), and one
// MinRead buffer without a second, doubled one for a short reader that does
// not (a WebSocket frame). Upstream made two, of 512 and 1,024 bytes, for a
// 150-byte packet either way.
func TestReadFromAllocatesOnceForAShortPacket(t *testing.T) {
	packet := strings.Repeat("x", 150)
	for name, tc := range map[string]struct {
		reader  func() io.Reader
		maxCap  int
		wantCap int
	}{
		"sized":   {func() io.Reader { return NewStringBufferString(packet) }, 160, 150},
		"unsized": {func() io.Reader { return unsized{strings.NewReader(packet)} }, MinRead, MinRead},
	} {
		var b *Buffer
		setup := testing.AllocsPerRun(100, func() {
			_ = tc.reader()
			b = NewBuffer(nil)
		})
		allocs := testing.AllocsPerRun(100, func() {
			r := tc.reader()
			b = NewBuffer(nil)
			_, _ = b.ReadFrom(r)
		}) - setup
		if allocs != 1 && !raceEnabled {
			t.Errorf("%s: ReadFrom made %.0f allocations, want 1", name, allocs)
		}
		if c := cap(b.buf); c < tc.wantCap || c > tc.maxCap {
			t.Errorf("%s: capacity %d for %d bytes, want %d..%d", name, c, len(packet), tc.wantCap, tc.maxCap)
		}
	}
}

// Upstream's last read of a drained buffer reset it; callers that look at
// the source's Size afterwards see the same.
func TestReadFromLeavesADrainedSourceBufferReset(t *testing.T) {
	t.Parallel()
	for name, src := range map[string]*Buffer{
		"sized": NewBufferString("a packet"),
		"empty": NewBuffer(nil),
		"resumed": func() *Buffer {
			b := NewBufferString("xxa packet")
			_, _ = b.Read(make([]byte, 2))
			return b
		}(),
	} {
		if _, err := NewBuffer(nil).ReadFrom(src); err != nil {
			t.Fatal(err)
		}
		if src.Size() != 0 || src.Len() != 0 {
			t.Errorf("%s: source Size %d, Len %d after ReadFrom, want 0, 0", name, src.Size(), src.Len())
		}
	}
}
