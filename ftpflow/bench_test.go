package ftpflow

import (
	"bytes"
	"io"
	"testing"

	"ftpdiag/internal/gen"
	"ftpdiag/pcap"
)

// BenchmarkTracker measures connection tracking and FTP parsing alone, on
// packets read and decoded beforehand (a 16 MiB capture of the usual mix).
func BenchmarkTracker(b *testing.B) {
	var buf bytes.Buffer
	if _, err := gen.Write(&buf, gen.Config{Seed: 1, Size: 16 << 20, Format: gen.FormatPcap}); err != nil {
		b.Fatal(err)
	}
	r, err := pcap.NewReader(bytes.NewReader(buf.Bytes()), "bench.pcap")
	if err != nil {
		b.Fatal(err)
	}
	type decoded struct {
		p   pcap.Packet
		d   pcap.Decoded
		tcp pcap.TCP
	}
	var pkts []decoded
	dec := pcap.NewDecoder()
	for {
		p, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		x := decoded{p: *p}
		x.p.Data = bytes.Clone(p.Data)
		x.d = *dec.Decode(&x.p)
		pkts = append(pkts, x)
	}
	for i := range pkts { // point each summary at its own copy
		if pkts[i].d.TCP != nil {
			pkts[i].d = *dec.Decode(&pkts[i].p)
			pkts[i].tcp = *pkts[i].d.TCP
			pkts[i].d.TCP = &pkts[i].tcp
		}
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		tr := NewTracker(Config{})
		for i := range pkts {
			tr.Packet(&pkts[i].p, &pkts[i].d)
		}
		tr.Finish()
	}
	b.ReportMetric(float64(len(pkts))*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}
