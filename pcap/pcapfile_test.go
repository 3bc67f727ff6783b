package pcap

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// pcapBuilder writes a classic pcap file byte by byte, in either byte order.
type pcapBuilder struct {
	order    byteOrder
	modified bool
	buf      []byte
	ends     []int // offset after the header, then after each record
}

func newPcap(order byteOrder, magic uint32, snaplen, link uint32) *pcapBuilder {
	b := &pcapBuilder{order: order, modified: magic == magicModified}
	b.buf = order.AppendUint32(b.buf, magic)
	b.buf = order.AppendUint16(b.buf, 2)
	b.buf = order.AppendUint16(b.buf, 4)
	b.buf = order.AppendUint32(b.buf, 0) // thiszone
	b.buf = order.AppendUint32(b.buf, 0) // sigfigs
	b.buf = order.AppendUint32(b.buf, snaplen)
	b.buf = order.AppendUint32(b.buf, link)
	b.ends = append(b.ends, len(b.buf))
	return b
}

// record appends a record; caplen is len(data) unless given.
func (b *pcapBuilder) record(sec, frac uint32, data []byte, orig uint32) *pcapBuilder {
	return b.recordLen(sec, frac, uint32(len(data)), orig, data)
}

func (b *pcapBuilder) recordLen(sec, frac, caplen, orig uint32, data []byte) *pcapBuilder {
	b.buf = b.order.AppendUint32(b.buf, sec)
	b.buf = b.order.AppendUint32(b.buf, frac)
	b.buf = b.order.AppendUint32(b.buf, caplen)
	b.buf = b.order.AppendUint32(b.buf, orig)
	if b.modified {
		b.buf = b.order.AppendUint32(b.buf, 2) // ifindex
		b.buf = b.order.AppendUint16(b.buf, 0x0800)
		b.buf = append(b.buf, 0, 0) // pkt_type, pad
	}
	b.buf = append(b.buf, data...)
	b.ends = append(b.ends, len(b.buf))
	return b
}

// pcapCaptures returns small pcap files: both byte orders, micro- and
// nanosecond, and the modified format. Each holds a minimal frame, a full
// Ethernet frame, an empty record and a frame cut by the snapshot length.
func pcapCaptures() []testCapture {
	var out []testCapture
	for _, c := range []struct {
		name  string
		order byteOrder
		magic uint32
	}{
		{"le-micro.pcap", binary.LittleEndian, magicMicro},
		{"be-micro.pcap", binary.BigEndian, magicMicro},
		{"le-nano.pcap", binary.LittleEndian, magicNano},
		{"be-nano.pcap", binary.BigEndian, magicNano},
		{"le-modified.pcap", binary.LittleEndian, magicModified},
		{"be-modified.pcap", binary.BigEndian, magicModified},
	} {
		nano := c.magic == magicNano
		unit := uint32(1000)
		if nano {
			unit = 1
		}
		b := newPcap(c.order, c.magic, 200, uint32(layers.LinkTypeEthernet))
		recs := []struct {
			sec  uint32
			ns   uint32
			data []byte
			orig uint32
		}{
			{1700000000, 123456000, testPayload(1, 60), 60},
			{1700000000, 999999000, testPayload(2, 200), 1514},
			{1700000001, 0, nil, 0},
			{1700000002, 5000, testPayload(4, 150), 150},
		}
		if nano {
			recs[0].ns = 123456789
			recs[3].ns = 5001
		}
		var want []wantPacket
		for i, r := range recs {
			b.record(r.sec, r.ns/unit, r.data, r.orig)
			want = append(want, wantPacket{ts(int64(r.sec), int64(r.ns)), r.data, int(r.orig), layers.LinkTypeEthernet, i + 1, 0})
		}
		out = append(out, testCapture{
			name:    c.name,
			data:    b.buf,
			packets: want,
			info: Info{
				Name: c.name, Format: FormatPcap, LinkTypes: []layers.LinkType{layers.LinkTypeEthernet},
				Snaplen: 200, Nanosecond: nano, Packets: 4, First: want[0].ts, Last: want[3].ts,
				Bytes: int64(len(b.buf)), Complete: true,
			},
			ends: b.ends,
		})
	}
	return out
}

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
