package pcap

import (
	"errors"
	"io"
)

// Prefetch sizes: prefetchChunk bytes are read at a time, and up to
// prefetchDepth chunks wait ready while the reader parses the current one.
const (
	prefetchChunk = 1 << 20
	prefetchDepth = 3
)

// prefetcher reads its input in a goroutine of its own, chunk by chunk
// ahead of the parser, so that read system calls (and gzip decompression)
// run on another core. It is a source (Peek and Discard) that copies
// nothing: Peek returns a slice of the current chunk, except for the rare
// record that spans two chunks, which is copied once into a carry buffer.
//
// The goroutine ends at the end of the input, on a read error, or when
// Close is called; a prefetcher must be closed.
type prefetcher struct {
	full chan chunk
	free chan []byte
	done chan struct{}

	cur  []byte // the current chunk, or the carry buffer
	pos  int
	next []byte // when cur is the carry buffer: the chunk its tail came from
	nPos int    // where cur's end lies in next
	own  []byte // the chunk buffer behind cur (to recycle), nil for carry
	own2 []byte // next's buffer
	err  error  // the error after the last chunk (io.EOF at the end)
	eof  bool   // no more chunks will come

	carry []byte
}

type chunk struct {
	buf []byte // the whole buffer, to recycle
	n   int
	err error
}

func newPrefetcher(r io.Reader, chunkSize, depth int) *prefetcher {
	p := &prefetcher{
		full: make(chan chunk, depth),
		free: make(chan []byte, depth+2),
		done: make(chan struct{}),
	}
	for range depth + 2 {
		p.free <- make([]byte, chunkSize)
	}
	go p.fill(r)
	return p
}

// fill runs in its own goroutine: it reads chunks until the input ends.
func (p *prefetcher) fill(r io.Reader) {
	for {
		var buf []byte
		select {
		case buf = <-p.free:
		case <-p.done:
			return
		}
		n, err := io.ReadFull(r, buf)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = io.EOF
		}
		select {
		case p.full <- chunk{buf: buf, n: n, err: err}:
		case <-p.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// take waits for the next chunk; ok is false at the end of the input.
func (p *prefetcher) take() (buf []byte, data []byte, ok bool) {
	for !p.eof {
		c := <-p.full
		if c.err != nil {
			p.eof, p.err = true, c.err
		}
		if c.n > 0 {
			return c.buf, c.buf[:c.n], true
		}
		p.recycle(c.buf)
	}
	return nil, nil, false
}

func (p *prefetcher) recycle(buf []byte) {
	if buf != nil {
		p.free <- buf
	}
}

// advance moves past the current buffer when it is used up.
func (p *prefetcher) advance() bool {
	if p.next != nil { // leaving the carry buffer for the chunk it came from
		p.cur, p.pos, p.own = p.next, p.nPos, p.own2
		p.next, p.own2 = nil, nil
		return true
	}
	p.recycle(p.own)
	p.cur, p.pos, p.own = nil, 0, nil
	buf, data, ok := p.take()
	if !ok {
		return false
	}
	p.cur, p.own = data, buf
	return true
}

// Peek returns the next n bytes without consuming them. It returns fewer,
// with the input's error (io.EOF at the end), only at the end of the input.
func (p *prefetcher) Peek(n int) ([]byte, error) {
	if n <= 0 {
		return p.cur[p.pos:p.pos], nil
	}
	for p.pos == len(p.cur) {
		if !p.advance() {
			return nil, p.err
		}
	}
	if avail := len(p.cur) - p.pos; avail >= n {
		return p.cur[p.pos : p.pos+n], nil
	}
	// The bytes span the end of the current buffer: gather them into the
	// carry buffer, which then stands for cur.
	p.carry = append(p.carry[:0], p.cur[p.pos:]...)
	var srcBuf, src []byte
	srcPos := 0
	if p.next != nil {
		srcBuf, src, srcPos = p.own2, p.next, p.nPos
	} else {
		p.recycle(p.own)
	}
	p.own, p.next, p.own2 = nil, nil, nil
	for len(p.carry) < n {
		if srcPos == len(src) {
			p.recycle(srcBuf)
			var ok bool
			srcBuf, src, ok = p.take()
			srcPos = 0
			if !ok {
				p.cur, p.pos = p.carry, 0
				return p.cur, p.err
			}
		}
		k := min(n-len(p.carry), len(src)-srcPos)
		p.carry = append(p.carry, src[srcPos:srcPos+k]...)
		srcPos += k
	}
	p.cur, p.pos = p.carry, 0
	p.next, p.nPos, p.own2 = src, srcPos, srcBuf
	return p.cur[:n], nil
}

// Discard skips n bytes, returning how many it skipped and, when fewer,
// the input's error.
func (p *prefetcher) Discard(n int) (int, error) {
	done := 0
	for done < n {
		if p.pos == len(p.cur) && !p.advance() {
			return done, p.err
		}
		k := min(n-done, len(p.cur)-p.pos)
		p.pos += k
		done += k
	}
	return done, nil
}

// Read implements io.Reader (for a gzip reader stacked on top).
func (p *prefetcher) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for p.pos == len(p.cur) {
		if !p.advance() {
			return 0, p.err
		}
	}
	n := copy(b, p.cur[p.pos:])
	p.pos += n
	return n, nil
}

// Close stops the goroutine.
func (p *prefetcher) Close() {
	select {
	case <-p.done:
	default:
		close(p.done)
	}
}
