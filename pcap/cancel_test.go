package pcap

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// manyCustomBlocks writes a pcapng file of one section header followed by
// n custom blocks and no packet: the reader skips them all.
func manyCustomBlocks(t *testing.T, n int) string {
	t.Helper()
	var b bytes.Buffer
	shb := []uint32{0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0xffffffff, 0xffffffff, 28}
	for i, v := range shb {
		if i == 3 { // major 1, minor 0
			binary.Write(&b, binary.LittleEndian, uint16(1))
			binary.Write(&b, binary.LittleEndian, uint16(0))
			continue
		}
		binary.Write(&b, binary.LittleEndian, v)
	}
	block := make([]byte, 4096)
	binary.LittleEndian.PutUint32(block[0:], 0x00000BAD) // custom block
	binary.LittleEndian.PutUint32(block[4:], uint32(len(block)))
	binary.LittleEndian.PutUint32(block[len(block)-4:], uint32(len(block)))
	for range n {
		b.Write(block)
	}
	path := filepath.Join(t.TempDir(), "blocks.pcapng")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOpenContextStopsWhileSkippingBlocks: a cancelled context stops a
// reader skipping non-packet blocks, for both ways of reading a file.
func TestOpenContextStopsWhileSkippingBlocks(t *testing.T) {
	path := manyCustomBlocks(t, 5000) // 20 MB
	for _, ahead := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		r, err := OpenContext(ctx, path, ahead)
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		_, err = r.Next()
		r.Close()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("read ahead %v: Next after cancel: %v, want an error wrapping context.Canceled", ahead, err)
		}
	}
}

// TestNewReaderContextStopsIdleStream: a stream that never sends another
// byte (an idle standard input) is given up as soon as the context is
// done.
func TestNewReaderContextStopsIdleStream(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() {
		// A pcap header, then silence.
		hdr := make([]byte, 24)
		binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
		binary.LittleEndian.PutUint16(hdr[4:], 2)
		binary.LittleEndian.PutUint16(hdr[6:], 4)
		binary.LittleEndian.PutUint32(hdr[16:], 65535)
		binary.LittleEndian.PutUint32(hdr[20:], 1)
		pw.Write(hdr)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	r, err := NewReaderContext(ctx, pr, "-")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := r.Next()
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Next: %v, want an error wrapping the context's", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next still blocked 5 s after the context was done")
	}
}
