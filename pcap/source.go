package pcap

import "io"

// source is what the record readers pull bytes from (a bufio.Reader over
// the input). Peek returns fewer than n bytes, with io.EOF, only at the end
// of the input.
type source interface {
	Peek(n int) ([]byte, error)
	Discard(n int) (int, error)
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
