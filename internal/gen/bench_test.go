package gen

import (
	"io"
	"testing"
)

// BenchmarkWrite measures generation speed into io.Discard; MB/s is in
// capture bytes.
func BenchmarkWrite(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  Config
	}{
		{"pcap", Config{Seed: 1, Size: 64 << 20, Format: FormatPcap}},
		{"pcapng", Config{Seed: 1, Size: 64 << 20, Format: FormatPcapNG}},
		{"pcap-gzip", Config{Seed: 1, Size: 16 << 20, Format: FormatPcap, Gzip: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var st Stats
			for b.Loop() {
				var err error
				if st, err = Write(io.Discard, bc.cfg); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(st.Bytes)
			b.ReportMetric(float64(st.Packets)*float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}
