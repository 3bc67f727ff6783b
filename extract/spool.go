package extract

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"

	"ftpdiag/pcap"
)

// spool holds the packets of the evidence captures between reading the
// inputs and writing the captures: in an unlinked temporary file, or in
// memory when no temporary file can be made.
type spool struct {
	f    *os.File
	w    *bufio.Writer
	mem  bytes.Buffer
	size int64
	buf  []byte // encoding and reading buffer, reused
}

func newSpool() *spool {
	s := &spool{}
	f, err := os.CreateTemp("", "ftpdiag-extract-*")
	if err != nil {
		return s
	}
	os.Remove(f.Name()) // gone with the last descriptor, even on a crash
	s.f, s.w = f, bufio.NewWriterSize(f, 256<<10)
	return s
}

// add appends a packet and returns where it starts.
func (s *spool) add(p *pcap.Packet) (int64, error) {
	off := s.size
	s.buf = encodeRecord(s.buf[:0], p)
	var err error
	if s.f != nil {
		_, err = s.w.Write(s.buf)
	} else {
		_, err = s.mem.Write(s.buf)
	}
	s.size += int64(len(s.buf))
	return off, err
}

// record reads back the packet at off. Its data is valid until the next
// call.
func (s *spool) record(off int64) (spooled, error) {
	if s.f != nil && s.w.Buffered() > 0 {
		if err := s.w.Flush(); err != nil {
			return spooled{}, err
		}
	}
	hdr, err := s.read(off, recordHeader)
	if err != nil {
		return spooled{}, err
	}
	r, n := decodeHeader(hdr)
	if r.data, err = s.read(off+recordHeader, n); err != nil {
		return spooled{}, err
	}
	return r, nil
}

var errSpoolShort = errors.New("spooled packet cut short")

func (s *spool) read(off int64, n int) ([]byte, error) {
	if s.f == nil {
		if off+int64(n) > int64(s.mem.Len()) {
			return nil, errSpoolShort
		}
		return s.mem.Bytes()[off : off+int64(n)], nil
	}
	if cap(s.buf) < n {
		s.buf = make([]byte, n)
	}
	b := s.buf[:n]
	if _, err := s.f.ReadAt(b, off); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errSpoolShort
		}
		return nil, err
	}
	return b, nil
}

// close removes the spool.
func (s *spool) close() error {
	if s == nil || s.f == nil {
		return nil
	}
	return s.f.Close()
}
