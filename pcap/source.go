package pcap

import (
	"io"
	"sync/atomic"
)

// source is what the record readers pull bytes from (a bufio.Reader over
// the input). Peek returns fewer than n bytes, with io.EOF, only at the end
// of the input.
type source interface {
	Peek(n int) ([]byte, error)
	Discard(n int) (int, error)
}

// countingReader counts the bytes read through it (atomically: a read-ahead
// goroutine may be the one reading).
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
