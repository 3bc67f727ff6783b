package analyze_test

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"

	"ftpdiag/analyze"
)

// TestReopen: a second pass gets every packet again, from a file or a
// rewound io.Seeker; a stream that cannot be rewound is refused by name.
func TestReopen(t *testing.T) {
	const path = "../fixtures/captures/01-passive-vsftpd-curl-client.pcap"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seeker := bytes.NewReader(data)
	io.Copy(io.Discard, seeker) // the first pass read it to its end
	for _, in := range []analyze.Input{{Name: path}, {Name: "seeker", Reader: seeker}} {
		readers, err := analyze.Reopen([]analyze.Input{in})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for ; ; n++ {
			if _, err := readers[0].Next(); err != nil {
				break
			}
		}
		readers[0].Close()
		if n == 0 {
			t.Errorf("%s: no packet on the second pass", in.Name)
		}
	}
	stream := analyze.Input{Name: "pipe", Reader: io.MultiReader(bytes.NewReader(data))}
	if _, err := analyze.Reopen([]analyze.Input{stream}); err == nil || !strings.Contains(err.Error(), "pipe: ") {
		t.Errorf("a stream: %v, want an error naming it", err)
	}
}
