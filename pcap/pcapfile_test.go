package pcap

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

func TestSniffPcap(t *testing.T) {
	tests := []struct {
		name                   string
		magic                  []byte // as stored in the file
		ok, be, nano, modified bool
	}{
		{"libpcap little-endian", []byte{0xd4, 0xc3, 0xb2, 0xa1}, true, false, false, false},
		{"libpcap big-endian", []byte{0xa1, 0xb2, 0xc3, 0xd4}, true, true, false, false},
		{"nanosecond little-endian", []byte{0x4d, 0x3c, 0xb2, 0xa1}, true, false, true, false},
		{"nanosecond big-endian", []byte{0xa1, 0xb2, 0x3c, 0x4d}, true, true, true, false},
		{"Kuznetzov little-endian", []byte{0x34, 0xcd, 0xb2, 0xa1}, true, false, false, true},
		{"Kuznetzov big-endian", []byte{0xa1, 0xb2, 0xcd, 0x34}, true, true, false, true},
		{"pcapng", []byte{0x0a, 0x0d, 0x0d, 0x0a}, false, false, false, false},
		{"gzip", []byte{0x1f, 0x8b, 0x08, 0x00}, false, false, false, false},
		{"one bit off", []byte{0xd4, 0xc3, 0xb2, 0xa0}, false, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, be, nano, modified := sniffPcap(binary.LittleEndian.Uint32(tt.magic))
			if ok != tt.ok || be != tt.be || nano != tt.nano || modified != tt.modified {
				t.Errorf("sniffPcap(% x) = %v, %v, %v, %v; want %v, %v, %v, %v",
					tt.magic, ok, be, nano, modified, tt.ok, tt.be, tt.nano, tt.modified)
			}
		})
	}
}

// TestPcapCutEverywhere cuts pcap files at every byte offset: the complete
// records before the cut come out, then an error naming the cut record and
// its offset; a cut at a record boundary is a clean end.
func TestPcapCutEverywhere(t *testing.T) {
	for _, c := range pcapCaptures() {
		hl := pcapRecordHeaderLen
		if c.name == "le-modified.pcap" || c.name == "be-modified.pcap" {
			hl = pcapModifiedRecHeaderLen
		}
		t.Run(c.name, func(t *testing.T) {
			checkCuts(t, c, func(cut int) cutWant {
				switch {
				case cut == 0:
					return cutWant{openErr: "cut: not a capture file (empty)"}
				case cut < 4:
					return cutWant{openErr: fmt.Sprintf("cut: not a capture file (starts with %q)", c.data[:cut])}
				case cut < pcapHeaderLen:
					return cutWant{openErr: fmt.Sprintf("cut: pcap file header at offset 0: truncated (%d of 24 bytes)", cut)}
				}
				k := 0 // complete records before the cut
				for k+1 < len(c.ends) && c.ends[k+1] <= cut {
					k++
				}
				start := c.ends[k]
				if cut == start {
					return cutWant{packets: k, bytes: int64(cut)}
				}
				got := cut - start
				msg := fmt.Sprintf("truncated record header (%d of %d bytes)", got, hl)
				if got >= hl {
					caplen := c.ends[k+1] - start - hl
					msg = fmt.Sprintf("truncated packet data (%d of %d bytes)", got-hl, caplen)
				}
				return cutWant{packets: k, bytes: int64(start), err: fmt.Sprintf("cut: record %d at offset %d: %s", k+1, start, msg)}
			})
		})
	}
}

// TestPcapLargeRecords reads records near the size limit, larger than a
// quarter of the buffer, so that their Data must survive buffer refills.
func TestPcapLargeRecords(t *testing.T) {
	b := newPcap(binary.BigEndian, magicNano, 0, uint32(layers.LinkTypeRaw))
	var want []wantPacket
	for i := range 12 {
		n := maxRecordLen - i*1000
		data := testPayload(i, n)
		b.record(uint32(100+i), uint32(i), data, uint32(n))
		want = append(want, wantPacket{ts(int64(100+i), int64(i)), data, n, layers.LinkTypeRaw, i + 1, 0})
	}
	c := testCapture{name: "large.pcap", data: b.buf, packets: want}
	r, err := NewReader(newOneByteAtATime(c.data), c.name)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range want {
		p, err := r.Next()
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		// Compared at once: Data is valid until the next call only.
		comparePackets(t, []gotPacket{{p.Timestamp, p.Data, p.OriginalLength, p.LinkType, p.Frame, p.Input}}, []wantPacket{w})
	}
	if _, err := r.Next(); err == nil {
		t.Error("no end after the last packet")
	}
}
