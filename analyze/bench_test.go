package analyze_test

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"ftpdiag/analyze"
	"ftpdiag/internal/gen"
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
