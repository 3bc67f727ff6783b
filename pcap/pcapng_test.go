package pcap

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

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
