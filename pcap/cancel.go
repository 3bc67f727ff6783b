package pcap

import (
	"context"
	"fmt"
	"io"
	"os"
)

// OpenContext opens a capture file as Open does (with readAhead) or as
// OpenSequential does, and stops reading it once ctx is done: Next then
// returns a *FormatError saying the reading was interrupted. A file of
// non-packet blocks, read in large chunks, is interrupted as promptly as
// one of packets.
func OpenContext(ctx context.Context, path string, readAhead bool) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	prefetch := 0
	if readAhead {
		prefetch = prefetchChunk
	}
	r, err := newReader(ctxReader{ctx: ctx, r: f}, path, prefetch)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.file = f
	return r, nil
}

// NewReaderContext is NewReader for a stream that may block (a pipe,
// standard input, a network body): once ctx is done, a read waiting for
// data returns at once, and reading stops.
func NewReaderContext(ctx context.Context, r io.Reader, name string) (*Reader, error) {
	if ctx.Done() == nil { // never done: nothing to wait for
		return NewReader(r, name)
	}
	return NewReader(&interruptible{ctx: ctx, r: r}, name)
}

// interruptedError says reading stopped because the context was done.
func interruptedError(ctx context.Context) error {
	return fmt.Errorf("interrupted: %w", context.Cause(ctx))
}

// ctxReader checks the context before each read.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if c.ctx.Err() != nil {
		return 0, interruptedError(c.ctx)
	}
	return c.r.Read(p)
}

// interruptible reads on a goroutine of its own, into a buffer of its
// own, so that a read blocked on an idle stream can be abandoned when the
// context is done. An abandoned read may go on in the background; its
// bytes are never delivered.
type interruptible struct {
	ctx     context.Context
	r       io.Reader
	buf     []byte
	pending chan readResult // a read in flight
}

type readResult struct {
	n   int
	err error
}

func (ir *interruptible) Read(p []byte) (int, error) {
	if ir.ctx.Err() != nil {
		return 0, interruptedError(ir.ctx)
	}
	if ir.pending == nil {
		if cap(ir.buf) < len(p) {
			ir.buf = make([]byte, len(p))
		}
		buf, ch := ir.buf[:len(p)], make(chan readResult, 1)
		ir.pending = ch
		go func() {
			n, err := ir.r.Read(buf)
			ch <- readResult{n, err}
		}()
	}
	select {
	case res := <-ir.pending:
		ir.pending = nil
		n := copy(p, ir.buf[:res.n])
		return n, res.err
	case <-ir.ctx.Done():
		ir.buf = nil // the abandoned read still owns it
		return 0, interruptedError(ir.ctx)
	}
}
