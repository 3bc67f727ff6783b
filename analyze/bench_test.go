package analyze_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"ftpdiag/analyze"
	"ftpdiag/internal/gen"
	"ftpdiag/report"
)

var (
	benchOnce    sync.Once
	benchCapture []byte
	benchStats   gen.Stats
)

// benchData generates a 64 MiB capture of the usual mix once.
func benchData(b *testing.B) []byte {
	benchOnce.Do(func() {
		var buf bytes.Buffer
		st, err := gen.Write(&buf, gen.Config{Seed: 1, Size: 64 << 20, Format: gen.FormatPcap})
		if err != nil {
			b.Fatal(err)
		}
		benchCapture, benchStats = buf.Bytes(), st
	})
	return benchCapture
}

// BenchmarkAnalyze measures the whole analysis, from capture bytes to
// findings, in MB/s and packets/s.
func BenchmarkAnalyze(b *testing.B) {
	data := benchData(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	packets := 0
	for b.Loop() {
		in := []analyze.Input{{Name: "bench.pcap", Reader: bytes.NewReader(data)}}
		a, err := analyze.Run(context.Background(), in, analyze.Options{})
		if err != nil {
			b.Fatal(err)
		}
		packets = a.Stats.Packets
	}
	b.ReportMetric(float64(packets)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}

// TestReadAheadSameReport analyses every fixture capture, every corpus
// capture and generated captures of several seeds in one goroutine and
// as ftpdiag --threads 2 does (ReadAhead: gzip decompressed on a goroutine
// of its own; the JSON encoded on another): the JSON reports must be byte
// for byte the same.
func TestReadAheadSameReport(t *testing.T) {
	type capture struct {
		name string
		data []byte
	}
	var caps []capture
	files, _ := filepath.Glob("../fixtures/captures/*.pcap*")
	if len(files) == 0 {
		t.Fatal("no fixture captures")
	}
	corpus := "../../shared/corpus"
	if _, err := os.Stat(corpus); err == nil {
		filepath.WalkDir(corpus, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.Contains(p, ".pcap") {
				files = append(files, p)
			}
			return nil
		})
	} else if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and no corpus at %s", corpus)
	} else {
		t.Logf("no corpus at %s: its captures are left out", corpus)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		caps = append(caps, capture{f, data})
	}
	// The last is gzip-compressed pcapng: ReadAhead decompresses it on a
	// goroutine of its own.
	for _, cfg := range []gen.Config{{Seed: 1}, {Seed: 2}, {Seed: 3}, {Seed: 7}, {Seed: 5, Format: gen.FormatPcapNG, Gzip: true}} {
		cfg.Size = 6 << 20
		var buf bytes.Buffer
		if _, err := gen.Write(&buf, cfg); err != nil {
			t.Fatal(err)
		}
		caps = append(caps, capture{fmt.Sprintf("generated seed %d %s gzip %v", cfg.Seed, cfg.Format, cfg.Gzip), buf.Bytes()})
	}
	for _, c := range caps {
		one := jsonReport(t, c.name, c.data, false)
		two := jsonReport(t, c.name, c.data, true)
		if !bytes.Equal(one, two) {
			t.Errorf("%s: the report with ReadAhead differs from the one-goroutine report (%d and %d bytes)", c.name, len(one), len(two))
		}
	}
	t.Logf("%d captures compared", len(caps))
}

// jsonReport returns the JSON report of a capture as ftpdiag --format json
// writes it: sessions encoded as they are handed on, in the background with
// readAhead.
func jsonReport(t *testing.T, name string, data []byte, readAhead bool) []byte {
	t.Helper()
	js := report.NewJSONStream(false, 0)
	defer js.Close()
	encode, wait := js.Session, func() {}
	if readAhead {
		encode, wait = js.Background(64)
	}
	in := []analyze.Input{{Name: filepath.Base(name), Reader: bytes.NewReader(data)}}
	a, err := analyze.Run(context.Background(), in, analyze.Options{ReadAhead: readAhead, Sessions: encode})
	wait()
	var out bytes.Buffer
	if ferr := js.Finish(&out, a); ferr != nil {
		t.Fatalf("%s: %v (analysis: %v)", name, ferr, err)
	}
	if err != nil {
		fmt.Fprintf(&out, "error: %v\n", err)
	}
	return out.Bytes()
}
