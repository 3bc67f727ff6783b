package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"ftpdiag/analyze"
)

var errDiskFull = errors.New("no space left on device")

// fullWriter takes room bytes, then fails every write, as a full disk or a
// closed pipe does. It counts the writes it got after its first failure.
type fullWriter struct {
	room  int
	got   bytes.Buffer
	after int // writes after the first failure
	full  bool
}

func (w *fullWriter) Write(b []byte) (int, error) {
	if w.full {
		w.after++
		return 0, errDiskFull
	}
	if len(b) > w.room {
		w.got.Write(b[:w.room])
		n := w.room
		w.room, w.full = 0, true
		return n, errDiskFull
	}
	w.room -= len(b)
	return w.got.Write(b)
}

// TestWritersReturnWriteErrors: every format (and the ladders alone), written to a writer that
// fails after N bytes (none, one, half, all but the last), returns that
// writer's error, does not panic, and does not write again after the
// failure; with room for everything it returns nil.
func TestWritersReturnWriteErrors(t *testing.T) {
	for _, name := range []string{"12-synthetic-pasv-in-use-425.pcap", "01-passive-vsftpd-curl-client.pcap"} {
		path := filepath.Join("../fixtures/captures", name)
		a := analyseFile(t, path, nil)
		ladders := writer{"ladders", func(w io.Writer, _ string, a *analyze.Analysis) error {
			return WriteLadders(w, a, TimelineOptions{})
		}}
		for _, wr := range append(writers, ladders) {
			var whole bytes.Buffer
			if err := wr.write(&whole, path, a); err != nil {
				t.Fatalf("%s %s: %v", name, wr.ext, err)
			}
			size := whole.Len()
			for _, room := range []int{0, 1, size / 2, size - 1, size} {
				t.Run(fmt.Sprintf("%s/%s/%d of %d bytes", strings.TrimSuffix(name, ".pcap"), wr.ext, room, size), func(t *testing.T) {
					w := &fullWriter{room: room}
					err := func() (err error) {
						defer func() {
							if p := recover(); p != nil {
								err = fmt.Errorf("panic: %v", p)
								t.Errorf("panic: %v", p)
							}
						}()
						return wr.write(w, path, a)
					}()
					switch {
					case room == size && err != nil:
						t.Errorf("error with room for the whole report: %v", err)
					case room < size && !errors.Is(err, errDiskFull):
						t.Errorf("error %v, want %v", err, errDiskFull)
					}
					if w.after > 0 {
						t.Errorf("%d writes after the writer failed", w.after)
					}
					if !bytes.HasPrefix(whole.Bytes(), w.got.Bytes()) {
						t.Errorf("what was written before the failure is not the report's beginning")
					}
				})
			}
		}
	}
}
