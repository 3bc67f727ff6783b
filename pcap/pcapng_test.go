package pcap

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// ngBuilder writes a pcapng file block by block; each section may have its
// own byte order.
type ngBuilder struct {
	order  byteOrder
	buf    []byte
	blocks []ngBlockInfo
	frames int
}

// ngBlockInfo tells where a block is, as the truncation tests need it.
type ngBlockInfo struct {
	off, end int
	typ      uint32
	record   int  // frame number for blocks Wireshark shows as frames, else 0
	packet   bool // a packet block
}

func newNG(order byteOrder) *ngBuilder {
	b := &ngBuilder{}
	b.section(order)
	return b
}

// block appends a block of type typ around body (padded to 4 bytes).
func (b *ngBuilder) block(typ uint32, body []byte) *ngBuilder {
	padded := (len(body) + 3) &^ 3
	total := uint32(12 + padded)
	info := ngBlockInfo{off: len(b.buf), typ: typ}
	b.buf = b.order.AppendUint32(b.buf, typ)
	b.buf = b.order.AppendUint32(b.buf, total)
	b.buf = append(b.buf, body...)
	b.buf = append(b.buf, make([]byte, padded-len(body))...)
	b.buf = b.order.AppendUint32(b.buf, total)
	info.end = len(b.buf)
	if isRecord(typ) {
		b.frames++
		info.record = b.frames
	}
	info.packet = typ == blockEPB || typ == blockSPB || typ == blockPB
	b.blocks = append(b.blocks, info)
	return b
}

// section starts a section in the given byte order.
func (b *ngBuilder) section(order byteOrder) *ngBuilder {
	b.order = order
	var body []byte
	body = order.AppendUint32(body, byteOrderMagic)
	body = order.AppendUint16(body, 1)
	body = order.AppendUint16(body, 0)
	body = order.AppendUint64(body, ^uint64(0))
	body = append(body, b.opt(3, []byte("test"))...) // shb_userappl
	body = append(body, b.opt(0, nil)...)
	return b.block(blockSHB, body)
}

// opt encodes one option (padded).
func (b *ngBuilder) opt(code uint16, v []byte) []byte {
	var o []byte
	o = b.order.AppendUint16(o, code)
	o = b.order.AppendUint16(o, uint16(len(v)))
	o = append(o, v...)
	return append(o, make([]byte, (4-len(v)%4)%4)...)
}

// idb appends an interface description; opts are encoded options.
func (b *ngBuilder) idb(link layers.LinkType, snaplen uint32, opts ...[]byte) *ngBuilder {
	var body []byte
	body = b.order.AppendUint16(body, uint16(link))
	body = b.order.AppendUint16(body, 0)
	body = b.order.AppendUint32(body, snaplen)
	for _, o := range opts {
		body = append(body, o...)
	}
	if len(opts) > 0 {
		body = append(body, b.opt(0, nil)...)
	}
	return b.block(blockIDB, body)
}

func (b *ngBuilder) tsresol(v uint8) []byte { return b.opt(optTsresol, []byte{v}) }

func (b *ngBuilder) tsoffset(sec int64) []byte {
	return b.opt(optTsoffset, b.order.AppendUint64(nil, uint64(sec)))
}

// epb appends an enhanced packet block with a comment option.
func (b *ngBuilder) epb(ifc uint32, ts uint64, data []byte, orig uint32) *ngBuilder {
	return b.epbLen(ifc, ts, uint32(len(data)), orig, data, b.opt(1, []byte("c")))
}

func (b *ngBuilder) epbLen(ifc uint32, ts uint64, caplen, orig uint32, data []byte, opts []byte) *ngBuilder {
	var body []byte
	body = b.order.AppendUint32(body, ifc)
	body = b.order.AppendUint32(body, uint32(ts>>32))
	body = b.order.AppendUint32(body, uint32(ts))
	body = b.order.AppendUint32(body, caplen)
	body = b.order.AppendUint32(body, orig)
	body = append(body, data...)
	body = append(body, make([]byte, (4-len(data)%4)%4)...)
	body = append(body, opts...)
	return b.block(blockEPB, body)
}

// pb appends an obsolete packet block.
func (b *ngBuilder) pb(ifc uint16, ts uint64, data []byte, orig uint32) *ngBuilder {
	var body []byte
	body = b.order.AppendUint16(body, ifc)
	body = b.order.AppendUint16(body, 0) // drops
	body = b.order.AppendUint32(body, uint32(ts>>32))
	body = b.order.AppendUint32(body, uint32(ts))
	body = b.order.AppendUint32(body, uint32(len(data)))
	body = b.order.AppendUint32(body, orig)
	body = append(body, data...)
	return b.block(blockPB, body)
}

// spb appends a simple packet block.
func (b *ngBuilder) spb(orig uint32, data []byte) *ngBuilder {
	body := b.order.AppendUint32(nil, orig)
	return b.block(blockSPB, append(body, data...))
}

// ngCapture builds a pcapng file in the given byte order: two interfaces
// (Ethernet at nanoseconds, Linux SLL2 at 2^-20 s), packets on both, a
// simple and an obsolete packet block, and blocks that are skipped silently
// (name resolution, interface statistics, custom).
func ngCapture(name string, order byteOrder) testCapture {
	b := newNG(order)
	b.idb(layers.LinkTypeEthernet, 0, b.opt(2, []byte("eth0")), b.tsresol(9))
	b.idb(layers.LinkTypeLinuxSLL2, 128, b.tsresol(0x80|20))
	b.block(blockNRB, b.order.AppendUint32(nil, 0)) // just the end-of-records record
	var want []wantPacket
	add := func(sec, ns int64, data []byte, orig int, lt layers.LinkType) {
		want = append(want, wantPacket{ts(sec, ns), data, orig, lt, b.frames, 0})
	}
	b.epb(0, 1700000000_123456789, testPayload(1, 60), 60)
	add(1700000000, 123456789, testPayload(1, 60), 60, layers.LinkTypeEthernet)
	// 2^-20 units: half a second and one unit (953.67 ns, truncated).
	b.epb(1, 1700000000<<20|1<<19, testPayload(2, 80), 80)
	add(1700000000, 500000000, testPayload(2, 80), 80, layers.LinkTypeLinuxSLL2)
	b.epb(1, 1700000000<<20|1<<19|1, testPayload(3, 128), 1500)
	add(1700000000, 500000953, testPayload(3, 128), 1500, layers.LinkTypeLinuxSLL2)
	b.block(blockISB, make([]byte, 12))
	b.block(blockCustom, []byte{0, 0, 0x7f, 0xff, 'x'})
	// A simple packet block: interface 0, the previous packet's time.
	b.spb(61, testPayload(4, 61))
	add(1700000000, 500000953, testPayload(4, 61), 61, layers.LinkTypeEthernet)
	b.pb(0, 1700000001_000000001, testPayload(5, 1514), 1514)
	add(1700000001, 1, testPayload(5, 1514), 1514, layers.LinkTypeEthernet)
	b.block(blockDSB, make([]byte, 8))
	b.epb(0, 1700000002_000000000, nil, 0)
	add(1700000002, 0, nil, 0, layers.LinkTypeEthernet)
	return testCapture{
		name:    name,
		data:    b.buf,
		packets: want,
		info: Info{
			Name: name, Format: FormatPcapNG,
			LinkTypes: []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL2},
			Snaplen:   128, Nanosecond: true, Packets: 6, First: want[0].ts, Last: want[5].ts,
			Bytes: int64(len(b.buf)), Complete: true,
		},
		blocks: b.blocks,
	}
}

// ngSectionsCapture builds a pcapng file of two sections in different byte
// orders; the second renumbers its interfaces, uses the default resolution
// (microseconds) and an if_tsoffset.
func ngSectionsCapture() testCapture {
	b := newNG(binary.LittleEndian)
	b.idb(layers.LinkTypeEthernet, 65535)
	b.epb(0, 1700000000_000001, testPayload(1, 70), 70)
	b.section(binary.BigEndian)
	b.idb(layers.LinkTypeLinuxSLL2, 0, b.tsoffset(1000))
	b.epb(0, 1700000000_000002, testPayload(2, 90), 90)
	b.spb(40, testPayload(3, 40))
	lt := []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL2}
	want := []wantPacket{
		{ts(1700000000, 1000), testPayload(1, 70), 70, lt[0], 1, 0},
		{ts(1700001000, 2000), testPayload(2, 90), 90, lt[1], 2, 0},
		{ts(1700001000, 2000), testPayload(3, 40), 40, lt[1], 3, 0},
	}
	return testCapture{
		name:    "sections.pcapng",
		data:    b.buf,
		packets: want,
		info: Info{
			Name: "sections.pcapng", Format: FormatPcapNG, LinkTypes: lt, Snaplen: 65535,
			Packets: 3, First: want[0].ts, Last: want[1].ts, Bytes: int64(len(b.buf)), Complete: true,
		},
		blocks: b.blocks,
	}
}

func TestInterfaceTime(t *testing.T) {
	tests := []struct {
		name    string
		tsresol uint8
		offset  int64
		ts      uint64
		sec, ns int64
		finer   bool
	}{
		{"default microseconds", defaultRes, 0, 1700000000_123456, 1700000000, 123456000, false},
		{"milliseconds", 3, 0, 1700000000_123, 1700000000, 123000000, false},
		{"seconds", 0, 0, 1700000000, 1700000000, 0, false},
		{"nanoseconds", 9, 0, 1700000000_123456789, 1700000000, 123456789, true},
		{"picoseconds truncate", 12, 0, 1000_123456789999, 1000, 123456789, true},
		{"1e-19 seconds", 19, 0, 1_8123456789_000000000, 1, 812345678, true},
		{"2^-20 half", 0x80 | 20, 0, 1700000000<<20 | 1<<19, 1700000000, 500000000, true},
		{"2^-20 one unit", 0x80 | 20, 0, 1700000000<<20 | 1, 1700000000, 953, true},
		{"2^-19 is coarser than a microsecond", 0x80 | 19, 0, 3<<19 | 1<<18, 3, 500000000, false},
		{"2^-32", 0x80 | 32, 0, 5<<32 | 1<<31 | 1, 5, 500000000, true},
		{"2^-63", 0x80 | 63, 0, 1<<62 | 1, 0, 500000000, true},
		{"2^0", 0x80, 0, 42, 42, 0, false},
		{"offset", defaultRes, 1000, 5_000001, 1005, 1000, false},
		{"negative offset", defaultRes, -5, 5_000001, 0, 1000, false},
		{"unsupported 10^-20 falls back to microseconds", 20, 0, 5_000001, 5, 1000, false},
		{"unsupported 2^-64 falls back to microseconds", 0x80 | 64, 0, 5_000001, 5, 1000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := iface{offset: tt.offset}
			f.setResolution(tt.tsresol)
			sec, ns := f.time(tt.ts)
			if sec != tt.sec || ns != tt.ns {
				t.Errorf("tsresol %#x: time(%d) = %d, %d; want %d, %d", tt.tsresol, tt.ts, sec, ns, tt.sec, tt.ns)
			}
			if got := f.finerThanMicro(); got != tt.finer {
				t.Errorf("tsresol %#x: finerThanMicro() = %v, want %v", tt.tsresol, got, tt.finer)
			}
		})
	}
}

// TestNGCutEverywhere cuts pcapng files at every byte offset: the packets of
// complete blocks come out, then an error naming the cut block (its record
// number for packet blocks) and its offset; a cut between blocks is a clean
// end.
func TestNGCutEverywhere(t *testing.T) {
	for _, c := range []testCapture{ngCapture("le.pcapng", binary.LittleEndian), ngCapture("be.pcapng", binary.BigEndian), ngSectionsCapture()} {
		t.Run(c.name, func(t *testing.T) {
			checkCuts(t, c, func(cut int) cutWant {
				switch {
				case cut == 0:
					return cutWant{openErr: "cut: not a capture file (empty)"}
				case cut < 4:
					return cutWant{openErr: fmt.Sprintf("cut: not a capture file (starts with %q)", c.data[:cut])}
				}
				packets := 0
				for _, b := range c.blocks {
					if b.end <= cut {
						if b.packet {
							packets++
						}
						continue
					}
					if cut == b.off {
						return cutWant{packets: packets, bytes: int64(cut)}
					}
					n, total := cut-b.off, b.end-b.off
					if b.off == 0 {
						msg := fmt.Sprintf("truncated block (%d of %d bytes)", n, total)
						if n < 12 {
							msg = fmt.Sprintf("truncated block header (%d of 12 bytes)", n)
						}
						return cutWant{openErr: "cut: pcapng section header at offset 0: " + msg}
					}
					place := blockName(b.typ)
					if b.record > 0 {
						place = fmt.Sprintf("record %d", b.record)
					}
					var msg string
					switch {
					case n < 4:
						place = "block"
						msg = fmt.Sprintf("truncated block header (%d of 8 bytes)", n)
					case n < 8:
						msg = fmt.Sprintf("truncated block header (%d of 8 bytes)", n)
					case n < 12 && b.typ == blockSHB:
						msg = fmt.Sprintf("truncated block header (%d of 12 bytes)", n)
					default:
						msg = fmt.Sprintf("truncated block (%d of %d bytes)", n, total)
					}
					return cutWant{packets: packets, bytes: int64(b.off), err: fmt.Sprintf("cut: %s at offset %d: %s", place, b.off, msg)}
				}
				return cutWant{packets: packets, bytes: int64(cut)}
			})
		})
	}
}

// TestNGInterfacesPerSection checks that interface numbers start again in
// each section: a packet on interface 1 in the second section is on an
// undescribed interface when that section describes only one.
func TestNGInterfacesPerSection(t *testing.T) {
	b := newNG(binary.BigEndian)
	b.idb(layers.LinkTypeEthernet, 0).idb(layers.LinkTypeRaw, 0)
	b.epb(1, 1, testPayload(1, 20), 20)
	b.section(binary.LittleEndian)
	b.idb(layers.LinkTypeLinuxSLL, 0)
	b.epb(1, 2, testPayload(2, 20), 20)
	b.epb(0, 3, testPayload(3, 20), 20)
	r, err := NewReader(bytes.NewReader(b.buf), "s")
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, r)
	if err != io.EOF {
		t.Fatal(err)
	}
	comparePackets(t, got, []wantPacket{
		{ts(0, 1000), testPayload(1, 20), 20, layers.LinkTypeRaw, 1, 0},
		{ts(0, 3000), testPayload(3, 20), 20, layers.LinkTypeLinuxSLL, 3, 0},
	})
	info := r.Info()
	wantWarn := []string{"packet on undescribed interface 1 skipped at frame 2"}
	if fmt.Sprint(info.Warnings) != fmt.Sprint(wantWarn) {
		t.Errorf("Warnings = %q, want %q", info.Warnings, wantWarn)
	}
	if fmt.Sprint(info.LinkTypes) != fmt.Sprint([]layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeRaw, layers.LinkTypeLinuxSLL}) {
		t.Errorf("LinkTypes = %v", info.LinkTypes)
	}
}

// TestNGTooManyInterfaces checks the bound on interfaces per section.
func TestNGTooManyInterfaces(t *testing.T) {
	b := newNG(binary.LittleEndian)
	for range maxInterfaces + 1 {
		b.idb(layers.LinkTypeEthernet, 0)
	}
	r, err := NewReader(bytes.NewReader(b.buf), "x")
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Next()
	want := fmt.Sprintf("x: interface description block at offset %d: more than 65536 interfaces in one section", b.blocks[len(b.blocks)-1].off)
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

// TestAbsurdTimestampsClamped: timestamps no report can write (before
// 1970 by a negative offset, or past the year 9999) are clamped, with a
// warning naming the first frame.
func TestAbsurdTimestampsClamped(t *testing.T) {
	b := newNG(binary.LittleEndian)
	b.idb(layers.LinkTypeEthernet, 65535, b.tsoffset(-1<<40))
	b.epb(0, 1_000000, []byte{1, 2, 3}, 3)
	b.idb(layers.LinkTypeEthernet, 65535, b.tsresol(0))
	b.epb(1, 1<<62, []byte{1, 2, 3}, 3)
	r, err := NewReader(bytes.NewReader(b.buf), "absurd.pcapng")
	if err != nil {
		t.Fatal(err)
	}
	var got []time.Time
	for {
		p, err := r.Next()
		if err != nil {
			break
		}
		got = append(got, p.Timestamp)
	}
	want := []time.Time{time.Unix(0, 0).UTC(), time.Unix(maxSec, 0).UTC()}
	if !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Errorf("timestamps %v, want %v", got, want)
	}
	if w := r.Info().Warnings; len(w) == 0 || !strings.Contains(w[0], "clamped") || !strings.Contains(w[0], "frame 1") {
		t.Errorf("warnings %q", w)
	}
	if s := got[1].Format(time.RFC3339); s != "9999-12-31T23:59:59Z" {
		t.Errorf("latest timestamp formats as %s", s)
	}
}
