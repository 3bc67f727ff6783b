package pcap

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// endingReader yields data, then err.
type endingReader struct {
	data []byte
	err  error
}

func (f *endingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

// TestPrefetcherMatchesBufio drives a prefetcher with tiny chunks and a
// bufio.Reader through the same random Peek, Discard and Read calls and
// demands the same answers, including at the end of the input and on a
// read error.
func TestPrefetcherMatchesBufio(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 400 {
		size := rng.IntN(3000)
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(rng.IntN(256))
		}
		endErr := io.EOF
		if trial%3 == 0 {
			endErr = errors.New("disk on fire")
		}
		chunk := 1 + rng.IntN(70)
		p := newPrefetcher(&endingReader{data: data, err: endErr}, chunk, 1+rng.IntN(3))
		b := bufio.NewReaderSize(&endingReader{data: data, err: endErr}, 4096)
		for op := 0; op < 200; op++ {
			n := rng.IntN(300)
			switch rng.IntN(3) {
			case 0:
				got, gerr := p.Peek(n)
				want, werr := b.Peek(n)
				if !bytes.Equal(got, want) || (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
					t.Fatalf("trial %d chunk %d op %d Peek(%d): got %d bytes, %v; want %d, %v", trial, chunk, op, n, len(got), gerr, len(want), werr)
				}
			case 1:
				got, gerr := p.Discard(n)
				want, werr := b.Discard(n)
				if got != want || (gerr == nil) != (werr == nil) {
					t.Fatalf("trial %d op %d Discard(%d): got %d, %v; want %d, %v", trial, op, n, got, gerr, want, werr)
				}
			case 2:
				gb, wb := make([]byte, n), make([]byte, n)
				got, gerr := io.ReadFull(p, gb)
				want, werr := io.ReadFull(b, wb)
				if got != want || !bytes.Equal(gb[:got], wb[:want]) || (gerr == nil) != (werr == nil) {
					t.Fatalf("trial %d op %d Read(%d): got %d, %v; want %d, %v", trial, op, n, got, gerr, want, werr)
				}
			}
		}
		p.Close()
	}
}

// TestPrefetchedReaderMatches reads captures through the read-ahead path
// with chunks small enough to split records, and compares every packet
// with the plain path.
func TestPrefetchedReaderMatches(t *testing.T) {
	var files []string
	filepath.WalkDir("../../shared/corpus", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.Contains(p, ".pcap")) {
			files = append(files, p)
		}
		return nil
	})
	if len(files) == 0 {
		t.Skip("skipping: no corpus captures beside the project")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, chunk := range []int{997, 4096, 1 << 16} {
			plain, err := NewReader(bytes.NewReader(data), f)
			if err != nil {
				t.Fatal(err)
			}
			pre, err := newReader(bytes.NewReader(data), f, chunk)
			if err != nil {
				t.Fatalf("%s chunk %d: %v", f, chunk, err)
			}
			for i := 0; ; i++ {
				a, aerr := plain.Next()
				b, berr := pre.Next()
				if (aerr == nil) != (berr == nil) {
					t.Fatalf("%s chunk %d packet %d: %v vs %v", f, chunk, i, aerr, berr)
				}
				if aerr != nil {
					break
				}
				if !bytes.Equal(a.Data, b.Data) || !a.Timestamp.Equal(b.Timestamp) || a.Frame != b.Frame {
					t.Fatalf("%s chunk %d packet %d differs", f, chunk, i)
				}
			}
			if pre.Consumed() != int64(len(data)) {
				t.Errorf("%s: consumed %d of %d bytes", f, pre.Consumed(), len(data))
			}
			pre.Close()
		}
	}
	t.Logf("%d captures compared at 3 chunk sizes", len(files))
}
