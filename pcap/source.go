package pcap

import (
	"io"
	"os"
	"syscall"
)

// source is what the record readers pull bytes from: a bufio.Reader over
// the file, or the mapped file itself. Peek returns fewer than n bytes, with
// io.EOF, only at the end of the input.
type source interface {
	Peek(n int) ([]byte, error)
	Discard(n int) (int, error)
}

// memSource reads from a byte slice without copying: Peek returns a slice of
// it, valid as long as the slice is.
type memSource struct {
	b   []byte
	off int
}

func (m *memSource) Peek(n int) ([]byte, error) {
	if n <= len(m.b)-m.off {
		return m.b[m.off : m.off+n], nil
	}
	return m.b[m.off:], io.EOF
}

func (m *memSource) Discard(n int) (int, error) {
	if n <= len(m.b)-m.off {
		m.off += n
		return n, nil
	}
	d := len(m.b) - m.off
	m.off = len(m.b)
	return d, io.EOF
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

// minMapSize is the smallest file worth mapping.
const minMapSize = 64 << 10

// mapFile maps a regular file read-only, advising the kernel that it will
// be read sequentially. ok is false when the file cannot or need not be
// mapped; the caller then reads it.
func mapFile(f *os.File) (data []byte, unmap func() error, ok bool) {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() < minMapSize || st.Size() != int64(int(st.Size())) {
		return nil, nil, false
	}
	data, err = syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, false
	}
	_ = syscall.Madvise(data, syscall.MADV_SEQUENTIAL)
	return data, func() error { return syscall.Munmap(data) }, true
}
