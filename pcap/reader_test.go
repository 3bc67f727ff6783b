package pcap

import (
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// This file holds the helpers shared by the package's tests (expected
// packets, reading everything, cutting captures, gzip), the tests of whole
// captures, hostile inputs and real files (with Wireshark as oracle), the
// fuzz target and the benchmarks. The capture builders are in
// pcapfile_test.go and pcapng_test.go.

// wantPacket is a packet as a test expects it back.
type wantPacket struct {
	ts    time.Time
	data  []byte
	orig  int
	lt    layers.LinkType
	frame int
	input int
}

// gotPacket is a copy of a packet returned by a reader.
type gotPacket struct {
	Timestamp time.Time
	Data      []byte
	Orig      int
	LinkType  layers.LinkType
	Frame     int
	Input     int
}

func copyPacket(p *Packet) gotPacket {
	return gotPacket{p.Timestamp, bytes.Clone(p.Data), p.OriginalLength, p.LinkType, p.Frame, p.Input}
}

// readAll reads r to its end and returns copies of the packets and the
// final error (io.EOF at a clean end).
func readAll(t testing.TB, r interface{ Next() (*Packet, error) }) ([]gotPacket, error) {
	t.Helper()
	var out []gotPacket
	for i := 0; ; i++ {
		if i > 1e6 {
			t.Fatal("reader does not stop")
		}
		p, err := r.Next()
		if err != nil {
			return out, err
		}
		out = append(out, copyPacket(p))
	}
}

// comparePackets reports every difference between got and want.
func comparePackets(t *testing.T, got []gotPacket, want []wantPacket) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d packets, want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		if !g.Timestamp.Equal(w.ts) {
			t.Errorf("packet %d: Timestamp = %s, want %s", i, g.Timestamp.Format(time.RFC3339Nano), w.ts.Format(time.RFC3339Nano))
		}
		if g.Timestamp.Location() != time.UTC {
			t.Errorf("packet %d: Timestamp location = %v, want UTC", i, g.Timestamp.Location())
		}
		if !bytes.Equal(g.Data, w.data) {
			t.Errorf("packet %d: Data = %x (%d bytes), want %x (%d bytes)", i, trim(g.Data), len(g.Data), trim(w.data), len(w.data))
		}
		if g.Orig != w.orig {
			t.Errorf("packet %d: OriginalLength = %d, want %d", i, g.Orig, w.orig)
		}
		if g.LinkType != w.lt {
			t.Errorf("packet %d: LinkType = %v, want %v", i, g.LinkType, w.lt)
		}
		if g.Frame != w.frame {
			t.Errorf("packet %d: Frame = %d, want %d", i, g.Frame, w.frame)
		}
		if g.Input != w.input {
			t.Errorf("packet %d: Input = %d, want %d", i, g.Input, w.input)
		}
	}
}

func trim(b []byte) []byte {
	if len(b) > 24 {
		return b[:24]
	}
	return b
}

// compareInfo compares every field of two Infos, times with Equal.
func compareInfo(t *testing.T, got, want Info) {
	t.Helper()
	if !got.First.Equal(want.First) || !got.Last.Equal(want.Last) {
		t.Errorf("Info First, Last = %s, %s; want %s, %s", got.First.Format(time.RFC3339Nano), got.Last.Format(time.RFC3339Nano),
			want.First.Format(time.RFC3339Nano), want.Last.Format(time.RFC3339Nano))
	}
	got.First, got.Last, want.First, want.Last = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Info =\n\t%+v\nwant\n\t%+v", got, want)
	}
}

// testPayload returns n bytes that differ from packet to packet.
func testPayload(seed, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(seed*31 + i*7 + i>>8)
	}
	return b
}

// byteOrder is what the builders need of binary.LittleEndian and BigEndian.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// gz compresses data.
func gz(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gzStored compresses data without compression (stored blocks), so that a
// cut in the compressed stream falls at a known decompressed offset: the
// data starts after the 10-byte gzip header and a 5-byte block header.
func gzStored(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.NoCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// oneByteAtATime is a reader that returns at most one byte per Read, as a
// slow pipe might.
type oneByteAtATime struct{ data []byte }

func newOneByteAtATime(data []byte) *oneByteAtATime { return &oneByteAtATime{data} }

func (r *oneByteAtATime) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = r.data[0]
	r.data = r.data[1:]
	return 1, nil
}

// ts builds a UTC time.
func ts(sec, ns int64) time.Time { return time.Unix(sec, ns).UTC() }

// testCapture is a capture built by a test with what reading it must give.
type testCapture struct {
	name    string
	data    []byte
	packets []wantPacket
	info    Info
	ends    []int         // pcap: offset after the header, then after each record
	blocks  []ngBlockInfo // pcapng: every block
}

// allCaptures is every well-formed capture the tests build, with gzip
// copies.
func allCaptures(t testing.TB) []testCapture {
	cs := pcapCaptures()
	comments, _, _ := ngCommentsCapture()
	cs = append(cs, ngCapture("le.pcapng", binary.LittleEndian), ngCapture("be.pcapng", binary.BigEndian), ngSectionsCapture(), comments)
	for _, c := range cs[:len(cs):len(cs)] {
		z := c
		z.name += ".gz"
		z.data = gz(t, c.data)
		z.info.Name = z.name
		z.info.Compressed = true
		cs = append(cs, z)
	}
	return cs
}

// TestReadCaptures checks every field of every packet, and Info, for pcap in
// both byte orders and resolutions, pcapng with mixed interfaces and
// sections, and gzip copies of each.
func TestReadCaptures(t *testing.T) {
	for _, c := range allCaptures(t) {
		t.Run(c.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(c.data), c.name)
			if err != nil {
				t.Fatalf("NewReader: %v", err)
			}
			defer r.Close()
			got, err := readAll(t, r)
			if err != io.EOF {
				t.Errorf("final error = %v, want io.EOF", err)
			}
			comparePackets(t, got, c.packets)
			compareInfo(t, r.Info(), c.info)
			if _, err := r.Next(); err != io.EOF {
				t.Errorf("Next after the end = %v, want io.EOF again", err)
			}
		})
	}
}

// TestReadPcapgoWriters reads files written by gopacket's writers, an
// encoder written independently of our test builders.
func TestReadPcapgoWriters(t *testing.T) {
	pkts := []wantPacket{
		{ts(1600000000, 1000), testPayload(1, 54), 54, layers.LinkTypeEthernet, 1, 0},
		{ts(1600000000, 999999000), testPayload(2, 1514), 1514, layers.LinkTypeEthernet, 2, 0},
		{ts(1600000005, 7000), testPayload(3, 100), 9000, layers.LinkTypeEthernet, 3, 0},
	}
	write := func(w interface {
		WritePacket(gopacket.CaptureInfo, []byte) error
	}) {
		for _, p := range pkts {
			ci := gopacket.CaptureInfo{Timestamp: p.ts, CaptureLength: len(p.data), Length: p.orig}
			if err := w.WritePacket(ci, p.data); err != nil {
				t.Fatal(err)
			}
		}
	}
	var micro, nano, ng bytes.Buffer
	mw := pcapgo.NewWriter(&micro)
	if err := mw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	write(mw)
	nw := pcapgo.NewWriterNanos(&nano)
	if err := nw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	write(nw)
	gw, err := pcapgo.NewNgWriter(&ng, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	write(gw)
	if err := gw.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		data   []byte
		format Format
		nano   bool
		snap   int
	}{
		{"pcapgo-micro.pcap", micro.Bytes(), FormatPcap, false, 65535},
		{"pcapgo-nano.pcap", nano.Bytes(), FormatPcap, true, 65535},
		{"pcapgo.pcapng", ng.Bytes(), FormatPcapNG, true, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(c.data), c.name)
			if err != nil {
				t.Fatal(err)
			}
			got, err := readAll(t, r)
			if err != io.EOF {
				t.Errorf("final error = %v, want io.EOF", err)
			}
			comparePackets(t, got, pkts)
			compareInfo(t, r.Info(), Info{
				Name: c.name, Format: c.format, LinkTypes: []layers.LinkType{layers.LinkTypeEthernet},
				Snaplen: c.snap, Nanosecond: c.nano, Packets: 3, First: pkts[0].ts, Last: pkts[2].ts,
				Bytes: int64(len(c.data)), Complete: true,
			})
		})
	}
}

// TestOpen reads through Open, from a file and from standard input.
func TestOpen(t *testing.T) {
	c := pcapCaptures()[0]
	path := t.TempDir() + "/x.pcap"
	if err := os.WriteFile(path, c.data, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, r)
	if err != io.EOF {
		t.Errorf("final error = %v, want io.EOF", err)
	}
	comparePackets(t, got, c.packets)
	if name := r.Info().Name; name != path {
		t.Errorf("Info().Name = %q, want %q", name, path)
	}
	if err := r.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if _, err := r.Next(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Next after Close = %v, want os.ErrClosed", err)
	}
	if !r.Info().Complete {
		t.Error("Info().Complete = false after a clean end and Close")
	}

	if _, err := Open(t.TempDir() + "/missing.pcap"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing) = %v, want os.ErrNotExist", err)
	}
	bad := t.TempDir() + "/bad.txt"
	if err := os.WriteFile(bad, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	var fe *FormatError
	if _, err := Open(bad); !errors.As(err, &fe) || err.Error() != bad+`: not a capture file (starts with "hello")` {
		t.Errorf("Open(text file) = %v", err)
	}

	// "-" is standard input.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	saved := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = saved }()
	r, err = Open("-")
	if err != nil {
		t.Fatal(err)
	}
	got, err = readAll(t, r)
	if err != io.EOF || len(got) != len(c.packets) || r.Info().Name != "-" {
		t.Errorf("Open(-): %d packets, %v, name %q", len(got), err, r.Info().Name)
	}
	r.Close()
}

// failingReader returns its data, then err.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// TestReadError checks that a failing file (not damage in the capture) is
// reported with the file name and offset, but not as a *FormatError.
func TestReadError(t *testing.T) {
	disk := errors.New("input/output error")
	c := pcapCaptures()[0]
	cut := c.ends[2] + 5 // inside the third record
	r, err := NewReader(&failingReader{data: c.data[:cut], err: disk}, "x")
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, r)
	comparePackets(t, got, c.packets[:2])
	want := fmt.Sprintf("x: reading at offset %d: input/output error", c.ends[2])
	var fe *FormatError
	if err == nil || err.Error() != want || !errors.Is(err, disk) || errors.As(err, &fe) {
		t.Errorf("error = %v (%T), want plain error %s", err, err, want)
	}
	info := r.Info()
	if wantWarn := []string{strings.TrimPrefix(want, "x: ")}; info.Complete || !reflect.DeepEqual(info.Warnings, wantWarn) {
		t.Errorf("Info: Complete %v, Warnings %q; want false, %q", info.Complete, info.Warnings, wantWarn)
	}

	if _, err := NewReader(&failingReader{err: disk}, "y"); err == nil || err.Error() != "y: input/output error" || errors.As(err, &fe) {
		t.Errorf("NewReader on a failing file = %v, want plain error y: input/output error", err)
	}
}

// hostileCase is one crafted input and what reading it must give.
type hostileCase struct {
	name      string
	data      []byte
	openErr   string   // NewReader's error text, when it must fail
	frames    []int    // frames of the packets returned
	err       string   // the error ending the read; "" for a clean end
	warnings  []string // Info().Warnings, the error text included
	firstLast [2]time.Time
}

func hostileCases(t testing.TB) []hostileCase {
	le := binary.LittleEndian
	eth := uint32(layers.LinkTypeEthernet)
	p60 := testPayload(0, 60)
	pc := func() *pcapBuilder { return newPcap(le, magicMicro, 262144, eth) }
	ng := func() *ngBuilder { return newNG(le).idb(layers.LinkTypeEthernet, 0) }
	ngSnap := func() *ngBuilder { return newNG(le).idb(layers.LinkTypeEthernet, 65535) }
	corruptCRC := gz(t, pc().record(1, 0, p60, 60).record(2, 0, p60, 60).buf)
	corruptCRC[len(corruptCRC)-8] ^= 0xff
	fullGz := gz(t, pc().record(1, 0, p60, 60).buf)

	var cases []hostileCase
	add := func(c hostileCase) { cases = append(cases, c) }

	// Not captures.
	add(hostileCase{name: "empty", data: nil, openErr: `x: not a capture file (empty)`})
	add(hostileCase{name: "text", data: []byte("hello, world\nthis is text\n"), openErr: `x: not a capture file (starts with "hello, world\nthi")`})
	add(hostileCase{name: "html", data: []byte("<!DOCTYPE html>\n<html><body>404</body></html>"), openErr: `x: not a capture file (starts with "<!DOCTYPE html>\n")`})
	add(hostileCase{name: "zip", data: []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00\x00\x00!\x00\xff\xfe\x01"), openErr: `x: not a capture file (starts with "PK\x03\x04\x14\x00\x00\x00\b\x00\x00\x00!\x00\xff\xfe")`})
	add(hostileCase{name: "short magic", data: []byte{0xd4, 0xc3, 0xb2}, openErr: `x: not a capture file (starts with "\xd4ò")`})
	add(hostileCase{name: "gzip of text", data: gz(t, []byte("hello")), openErr: `x: not a capture file (decompressed data starts with "hello")`})
	add(hostileCase{name: "gzip of nothing", data: gz(t, nil), openErr: `x: not a capture file (empty gzip stream)`})
	add(hostileCase{name: "gzip header cut", data: fullGz[:5], openErr: `x: gzip header at offset 0: gzip stream truncated`})
	add(hostileCase{name: "gzip cut in the first bytes", data: gz(t, []byte{0xd4, 0xc3, 0xb2, 0xa1, 9, 9})[:12], openErr: `x: gzip stream truncated`})
	add(hostileCase{name: "gzip cut in file header", data: gzStored(t, pc().buf)[:10+5+18],
		openErr: `x: pcap file header at offset 0: gzip stream truncated (18 of 24 bytes)`})
	add(hostileCase{name: "gzip bad checksum", data: corruptCRC, frames: []int{1, 2},
		err: `x: record 3 at offset 176: gzip: invalid checksum`, warnings: []string{`record 3 at offset 176: gzip: invalid checksum`}})

	// Classic pcap.
	add(hostileCase{name: "pcap caplen 0xffffffff", data: pc().record(1, 0, p60, 60).recordLen(2, 0, 0xffffffff, 60, p60).buf,
		frames: []int{1}, err: `x: record 2 at offset 100: captured length 4294967295 exceeds snapshot length 262144`,
		warnings: []string{`record 2 at offset 100: captured length 4294967295 exceeds snapshot length 262144`}})
	add(hostileCase{name: "pcap caplen over limit, no snaplen", data: newPcap(le, magicMicro, 0, eth).recordLen(2, 0, 0xffffffff, 60, p60).buf,
		err: `x: record 1 at offset 24: captured length 4294967295 exceeds limit 262144`, warnings: []string{`record 1 at offset 24: captured length 4294967295 exceeds limit 262144`}})
	add(hostileCase{name: "pcap caplen over limit under snaplen", data: newPcap(le, magicMicro, 0x7fffffff, eth).recordLen(2, 0, 300000, 300000, p60).buf,
		err: `x: record 1 at offset 24: captured length 300000 exceeds limit 262144`, warnings: []string{`record 1 at offset 24: captured length 300000 exceeds limit 262144`}})
	add(hostileCase{name: "pcap caplen over snaplen", data: newPcap(le, magicMicro, 50, eth).record(1, 0, p60, 60).record(2, 0, p60, 60).buf,
		frames: []int{1, 2}, warnings: []string{`captured length exceeds snapshot length 50 2 times, first at frame 1`}})
	add(hostileCase{name: "pcap orig < caplen", data: pc().record(1, 0, p60, 60).record(2, 0, p60, 59).buf,
		frames: []int{1, 2}, warnings: []string{`original length less than captured length at frame 2`}})
	add(hostileCase{name: "pcap backwards", data: pc().record(5, 0, p60, 60).record(4, 0, p60, 60).record(6, 0, p60, 60).record(5, 999999, p60, 60).buf,
		frames: []int{1, 2, 3, 4}, warnings: []string{`timestamps go backwards 2 times, first at frame 2`},
		firstLast: [2]time.Time{ts(4, 0), ts(6, 0)}})
	add(hostileCase{name: "pcap usec overflow", data: pc().record(5, 1500000, p60, 60).buf,
		frames: []int{1}, warnings: []string{`sub-second timestamp field of a second or more at frame 1`},
		firstLast: [2]time.Time{ts(6, 500000000), ts(6, 500000000)}})
	v1 := pc().record(1, 0, p60, 60).buf
	le.PutUint16(v1[4:], 1)
	le.PutUint16(v1[6:], 0)
	add(hostileCase{name: "pcap version 1.0", data: v1, frames: []int{1}, warnings: []string{`unusual pcap version 1.0 at offset 0`}})
	fcs := newPcap(le, magicMicro, 0, 0x10000000|eth).record(1, 0, p60, 60).buf
	add(hostileCase{name: "pcap link type with FCS bits", data: fcs, frames: []int{1}})
	add(hostileCase{name: "pcap link type out of range", data: newPcap(le, magicMicro, 0, 0x01000000).buf,
		openErr: `x: pcap file header at offset 0: link type 16777216 out of range`})
	add(hostileCase{name: "pcap empty", data: pc().buf})

	// pcapng block lengths.
	shbLen := len(newNG(le).buf)
	idbOff := shbLen
	epbOff := shbLen + 20
	withLen := func(b *ngBuilder, i int, total uint32) []byte {
		out := bytes.Clone(b.buf)
		le.PutUint32(out[b.blocks[i].off+4:], total)
		return out
	}
	one := ng().epb(0, 1e6, p60, 60)
	for _, c := range []struct {
		total uint32
		msg   string
	}{
		{0, "block length 0 too small (minimum 32)"},
		{3, "block length 3 too small (minimum 32)"},
		{34, "block length 34 not a multiple of 4"},
		{0xfffffff0, "block length 4294967280 exceeds limit 327680"},
		{0xffffffff, "block length 4294967295 not a multiple of 4"},
	} {
		msg := fmt.Sprintf("record 1 at offset %d: %s", epbOff, c.msg)
		add(hostileCase{name: fmt.Sprintf("epb length %d", c.total), data: withLen(one, 2, c.total), err: "x: " + msg, warnings: []string{msg}})
	}
	add(hostileCase{name: "idb length 3", data: withLen(ng(), 1, 3),
		err:      fmt.Sprintf("x: interface description block at offset %d: block length 3 too small (minimum 20)", idbOff),
		warnings: []string{fmt.Sprintf("interface description block at offset %d: block length 3 too small (minimum 20)", idbOff)}})
	unk := ng().block(0x1234, make([]byte, 8))
	add(hostileCase{name: "unknown block huge", data: withLen(unk, 2, 100<<20),
		err:      fmt.Sprintf("x: block of type 0x00001234 at offset %d: block length 104857600 exceeds limit 67108864", epbOff),
		warnings: []string{fmt.Sprintf("block of type 0x00001234 at offset %d: block length 104857600 exceeds limit 67108864", epbOff)}})
	mism := ng().epb(0, 1e6, p60, 60)
	le.PutUint32(mism.buf[len(mism.buf)-4:], 36)
	add(hostileCase{name: "epb trailing length", data: mism.buf,
		err:      fmt.Sprintf("x: record 1 at offset %d: trailing block length 36 does not match leading length 100", epbOff),
		warnings: []string{fmt.Sprintf("record 1 at offset %d: trailing block length 36 does not match leading length 100", epbOff)}})
	nrb := ng().block(blockNRB, make([]byte, 4))
	le.PutUint32(nrb.buf[len(nrb.buf)-4:], 20)
	add(hostileCase{name: "nrb trailing length", data: nrb.buf,
		err:      fmt.Sprintf("x: name resolution block at offset %d: trailing block length 20 does not match leading length 16", epbOff),
		warnings: []string{fmt.Sprintf("name resolution block at offset %d: trailing block length 20 does not match leading length 16", epbOff)}})
	// A 2 MiB custom block, larger than the buffer, is skipped by discarding.
	add(hostileCase{name: "big custom block", data: ng().epb(0, 1e6, p60, 60).block(blockCustom, make([]byte, 2<<20)).epb(0, 2e6, p60, 60).buf,
		frames: []int{1, 3}, firstLast: [2]time.Time{ts(1, 0), ts(2, 0)}})

	// pcapng packets.
	add(hostileCase{name: "epb caplen 0xffffffff", data: ngSnap().epbLen(0, 1e6, 0xffffffff, 60, p60, nil).buf,
		err:      fmt.Sprintf("x: record 1 at offset %d: captured length 4294967295 exceeds snapshot length 65535", epbOff),
		warnings: []string{fmt.Sprintf("record 1 at offset %d: captured length 4294967295 exceeds snapshot length 65535", epbOff)}})
	add(hostileCase{name: "epb caplen over block", data: ng().epbLen(0, 1e6, 100, 100, p60, nil).buf,
		err:      fmt.Sprintf("x: record 1 at offset %d: captured length 100 exceeds block body of 60 bytes", epbOff),
		warnings: []string{fmt.Sprintf("record 1 at offset %d: captured length 100 exceeds block body of 60 bytes", epbOff)}})
	add(hostileCase{name: "epb orig < caplen and over snaplen", data: newNG(le).idb(layers.LinkTypeEthernet, 50).epb(0, 1e6, p60, 59).buf,
		frames: []int{1}, warnings: []string{`original length less than captured length at frame 1`, `captured length exceeds snapshot length 50 at frame 1`}})
	add(hostileCase{name: "undescribed interface", data: ng().epb(0, 1e6, p60, 60).epb(5, 2e6, p60, 60).epb(5, 3e6, p60, 60).epb(0, 4e6, p60, 60).buf,
		frames: []int{1, 4}, warnings: []string{`packet on undescribed interface 5 skipped 2 times, first at frame 2`},
		firstLast: [2]time.Time{ts(1, 0), ts(4, 0)}})
	add(hostileCase{name: "spb before any interface", data: newNG(le).spb(60, p60).idb(layers.LinkTypeEthernet, 0).spb(60, p60).buf,
		frames: []int{2}, warnings: []string{`packet on undescribed interface 0 skipped at frame 1`}})
	add(hostileCase{name: "unknown block types", data: ng().block(0x99, nil).epb(0, 1e6, p60, 60).block(0x99, nil).block(0x80000001, make([]byte, 4)).buf,
		frames: []int{1}, warnings: []string{
			fmt.Sprintf("unknown block type 0x00000099 skipped 2 times, first at offset %d", epbOff),
			fmt.Sprintf("unknown block type 0x80000001 skipped at offset %d", epbOff+12+100+12)},
		firstLast: [2]time.Time{ts(1, 0), ts(1, 0)}})
	many := ng()
	for i := range 25 {
		many.block(0x100+uint32(i), nil)
	}
	var manyWarn []string
	for i := range 20 {
		manyWarn = append(manyWarn, fmt.Sprintf("unknown block type 0x%08x skipped at offset %d", 0x100+i, epbOff+12*i))
	}
	add(hostileCase{name: "too many warning kinds", data: many.buf, warnings: append(manyWarn, "5 more warnings of other kinds")})
	add(hostileCase{name: "journal block counts as a frame", data: ng().epb(0, 1e6, p60, 60).block(blockJournal, []byte("MESSAGE=x\n")).epb(0, 2e6, p60, 60).buf,
		frames: []int{1, 3}, warnings: []string{`systemd journal export block skipped at frame 2`}, firstLast: [2]time.Time{ts(1, 0), ts(2, 0)}})
	add(hostileCase{name: "spb without a timestamp to borrow", data: ng().spb(60, p60).epb(0, 7e6, p60, 60).buf,
		frames: []int{1, 2}, firstLast: [2]time.Time{ts(7, 0), ts(7, 0)}})
	tsr := newNG(le)
	tsr.idb(layers.LinkTypeEthernet, 0, tsr.tsresol(0x7f)).epb(0, 2e6, p60, 60)
	add(hostileCase{name: "unsupported tsresol", data: tsr.buf, frames: []int{1},
		warnings:  []string{fmt.Sprintf("unsupported timestamp resolution 0x7f, microseconds assumed at offset %d", idbOff)},
		firstLast: [2]time.Time{ts(2, 0), ts(2, 0)}})
	badOpt := newNG(le)
	badOpt.idb(layers.LinkTypeEthernet, 0, badOpt.opt(2, []byte("a long interface name"))[:4])
	add(hostileCase{name: "malformed interface options", data: badOpt.epb(0, 1e6, p60, 60).buf, frames: []int{1},
		warnings: []string{fmt.Sprintf("malformed interface options ignored at offset %d", idbOff)}, firstLast: [2]time.Time{ts(1, 0), ts(1, 0)}})
	bom := newNG(le).buf
	copy(bom[8:], []byte{0x12, 0x34, 0x56, 0x78})
	add(hostileCase{name: "bad byte-order magic", data: bom, openErr: `x: pcapng section header at offset 0: bad byte-order magic 0x12345678`})
	ver := newNG(le).buf
	le.PutUint16(ver[12:], 2)
	add(hostileCase{name: "pcapng version 2", data: ver, openErr: `x: pcapng section header at offset 0: unsupported pcapng version 2.0`})
	shb0 := newNG(le).buf
	le.PutUint32(shb0[4:], 0)
	add(hostileCase{name: "shb length 0", data: shb0, openErr: `x: pcapng section header at offset 0: block length 0 too small (minimum 28)`})
	return cases
}

// TestHostileInputs checks the exact errors and warnings for crafted
// damaged or odd inputs.
func TestHostileInputs(t *testing.T) {
	for _, tt := range hostileCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(tt.data), "x")
			if tt.openErr != "" {
				var fe *FormatError
				if err == nil || err.Error() != tt.openErr || !errors.As(err, &fe) {
					t.Fatalf("NewReader error = %v,\nwant *FormatError %s", err, tt.openErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewReader: %v", err)
			}
			got, err := readAll(t, r)
			var frames []int
			for _, p := range got {
				frames = append(frames, p.Frame)
			}
			if !reflect.DeepEqual(frames, tt.frames) {
				t.Errorf("frames = %v, want %v", frames, tt.frames)
			}
			info := r.Info()
			if tt.err == "" {
				if err != io.EOF {
					t.Errorf("error = %v, want io.EOF", err)
				}
			} else {
				var fe *FormatError
				if err == nil || err.Error() != tt.err || !errors.As(err, &fe) {
					t.Errorf("error = %v,\nwant *FormatError %s", err, tt.err)
				}
				if _, again := r.Next(); again != err {
					t.Errorf("Next after the error = %v, want the same error", again)
				}
			}
			if info.Complete != (tt.err == "") {
				t.Errorf("Info().Complete = %v", info.Complete)
			}
			if !reflect.DeepEqual(info.Warnings, tt.warnings) {
				t.Errorf("Info().Warnings =\n\t%q\nwant\n\t%q", info.Warnings, tt.warnings)
			}
			if info.Packets != len(tt.frames) {
				t.Errorf("Info().Packets = %d, want %d", info.Packets, len(tt.frames))
			}
			if !tt.firstLast[0].IsZero() && (!info.First.Equal(tt.firstLast[0]) || !info.Last.Equal(tt.firstLast[1])) {
				t.Errorf("Info() First, Last = %v, %v; want %v, %v", info.First, info.Last, tt.firstLast[0], tt.firstLast[1])
			}
		})
	}
}

// cutWant is what reading a capture cut short must give.
type cutWant struct {
	openErr string // NewReader's error, when the cut is inside the file header
	packets int    // how many of the capture's packets come out
	err     string // the final error; "" for a clean end
	bytes   int64  // Info().Bytes
}

// checkCuts reads c cut at every byte offset and compares with want(cut).
func checkCuts(t *testing.T, c testCapture, want func(cut int) cutWant) {
	t.Helper()
	for cut := 0; cut <= len(c.data); cut++ {
		w := want(cut)
		r, err := NewReader(bytes.NewReader(c.data[:cut]), "cut")
		if w.openErr != "" {
			var fe *FormatError
			if err == nil || err.Error() != w.openErr || !errors.As(err, &fe) {
				t.Fatalf("cut %d: NewReader error = %v,\nwant *FormatError %s", cut, err, w.openErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("cut %d: NewReader: %v", cut, err)
		}
		got, err := readAll(t, r)
		if len(got) != w.packets {
			t.Fatalf("cut %d: %d packets, want %d", cut, len(got), w.packets)
		}
		comparePackets(t, got, c.packets[:w.packets])
		info := r.Info()
		if w.err == "" {
			if err != io.EOF || !info.Complete || info.Warnings != nil {
				t.Fatalf("cut %d: error %v, Complete %v, Warnings %q; want a clean end", cut, err, info.Complete, info.Warnings)
			}
		} else {
			var fe *FormatError
			if err == nil || err.Error() != w.err || !errors.As(err, &fe) || !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("cut %d: error = %v,\nwant *FormatError %s wrapping io.ErrUnexpectedEOF", cut, err, w.err)
			}
			wantWarn := []string{strings.TrimPrefix(w.err, "cut: ")}
			if info.Complete || !reflect.DeepEqual(info.Warnings, wantWarn) {
				t.Fatalf("cut %d: Complete %v, Warnings %q; want false, %q", cut, info.Complete, info.Warnings, wantWarn)
			}
		}
		if info.Packets != w.packets || info.Bytes != w.bytes {
			t.Fatalf("cut %d: Info() Packets, Bytes = %d, %d; want %d, %d", cut, info.Packets, info.Bytes, w.packets, w.bytes)
		}
	}
}

// TestGzipCutEverywhere cuts a gzip-compressed pcap at every byte: the
// packets decompressed so far come out, then an error that names gzip.
func TestGzipCutEverywhere(t *testing.T) {
	for _, c := range []testCapture{pcapCaptures()[0], ngCapture("le.pcapng", binary.LittleEndian)} {
		full := gz(t, c.data)
		t.Run(c.name, func(t *testing.T) {
			for cut := 0; cut <= len(full); cut++ {
				r, err := NewReader(bytes.NewReader(full[:cut]), "cut.gz")
				var fe *FormatError
				if err != nil {
					if !errors.As(err, &fe) {
						t.Fatalf("cut %d: NewReader error %v is not a *FormatError", cut, err)
					}
					if cut >= 2 && !strings.Contains(err.Error(), "gzip") {
						t.Errorf("cut %d: NewReader error %q does not mention gzip", cut, err)
					}
					continue
				}
				got, err := readAll(t, r)
				if len(got) > len(c.packets) {
					t.Fatalf("cut %d: %d packets, more than the %d written", cut, len(got), len(c.packets))
				}
				comparePackets(t, got, c.packets[:len(got)])
				if cut == len(full) {
					if err != io.EOF || len(got) != len(c.packets) {
						t.Errorf("uncut: %d packets, %v", len(got), err)
					}
					continue
				}
				if !errors.As(err, &fe) || !strings.Contains(err.Error(), "gzip") {
					t.Errorf("cut %d: error = %v, want a *FormatError naming gzip", cut, err)
				}
				if r.Info().Complete {
					t.Errorf("cut %d: Info().Complete = true", cut)
				}
			}
		})
	}
}

// TestNoAllocsPerPacket checks that reading a packet allocates nothing, for
// each format and through a Merger.
func TestNoAllocsPerPacket(t *testing.T) {
	pc := newPcap(binary.LittleEndian, magicMicro, 65535, uint32(layers.LinkTypeEthernet))
	ng := newNG(binary.BigEndian).idb(layers.LinkTypeEthernet, 0).idb(layers.LinkTypeLinuxSLL2, 0)
	for i := range 2000 {
		pc.record(uint32(i), 0, testPayload(i, 100+i%900), 1500)
		ng.epb(uint32(i%2), uint64(i)*1000, testPayload(i, 100+i%900), 1500)
	}
	open := func(t *testing.T, data []byte) *Reader {
		r, err := NewReader(bytes.NewReader(data), "x")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	type source interface{ Next() (*Packet, error) }
	for _, c := range []struct {
		name string
		src  func(t *testing.T) source
	}{
		{"pcap", func(t *testing.T) source { return open(t, pc.buf) }},
		{"pcapng", func(t *testing.T) source { return open(t, ng.buf) }},
		{"merger of one", func(t *testing.T) source { return NewMerger(open(t, pc.buf)) }},
		{"merger of two", func(t *testing.T) source { return NewMerger(open(t, pc.buf), open(t, ng.buf)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := c.src(t)
			if _, err := src.Next(); err != nil {
				t.Fatal(err)
			}
			allocs := testing.AllocsPerRun(1000, func() {
				if _, err := src.Next(); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("%v allocations per packet, want 0", allocs)
			}
		})
	}
}

// FuzzReader feeds arbitrary bytes to NewReader and reads everything: no
// panic, an end in bounded steps, bounded packets and one-line errors.
func FuzzReader(f *testing.F) {
	for _, c := range allCaptures(f) {
		f.Add(c.data)
	}
	for _, c := range hostileCases(f) {
		if len(c.data) < 64<<10 {
			f.Add(c.data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), "fuzz")
		if err != nil {
			checkFuzzError(t, err)
			return
		}
		defer r.Close()
		n, last := 0, 0
		var end error
		rt := newRoundTrip(t)
		for {
			p, err := r.Next()
			if err != nil {
				end = err
				break
			}
			n++
			if len(p.Data) > maxRecordLen {
				t.Fatalf("packet of %d bytes", len(p.Data))
			}
			if p.Frame <= last {
				t.Fatalf("frame %d after frame %d", p.Frame, last)
			}
			last = p.Frame
			if p.Interface < 0 || p.Interface >= len(r.interfaces) || r.Interface(p.Interface).LinkType != p.LinkType {
				t.Fatalf("frame %d: interface %d of %d", p.Frame, p.Interface, len(r.interfaces))
			}
			if p.Comments != nil && len(p.Comments) == 0 {
				t.Fatalf("frame %d: empty, not nil, Comments", p.Frame)
			}
			rt.write(r, p)
			// Each record takes at least 16 bytes of the (decompressed) file,
			// and deflate expands at most about 1032 times.
			if n > 1+len(data)*1100/16 {
				t.Fatalf("%d packets from %d bytes", n, len(data))
			}
		}
		info := r.Info()
		if end != io.EOF {
			checkFuzzError(t, end)
		}
		if info.Complete != (end == io.EOF) || info.Packets != n {
			t.Fatalf("Info = %+v after %d packets and %v", info, n, end)
		}
		if len(info.Warnings) > maxWarnings+2 {
			t.Fatalf("%d warnings", len(info.Warnings))
		}
		if info.Bytes < int64(n)*16 {
			t.Fatalf("Info().Bytes = %d for %d packets", info.Bytes, n)
		}
		rt.check()
	})
}

// roundTrip writes the packets a reader returns with NgWriter and checks
// that reading the result gives them back: data, lengths, link types and
// comments exactly, timestamps to within one unit of the interface (a
// simple packet block borrows another interface's time).
type roundTrip struct {
	t     *testing.T
	buf   bytes.Buffer
	w     *NgWriter
	ids   map[int]int
	units []time.Duration // per interface written
	span  [][2]time.Time  // per interface written: the earliest and latest times it can hold
	want  []roundTripPacket
}

type roundTripPacket struct {
	gotPacket
	comments []string
	unit     time.Duration
	span     [2]time.Time
}

func newRoundTrip(t *testing.T) *roundTrip {
	rt := &roundTrip{t: t, ids: map[int]int{}}
	var err error
	if rt.w, err = NewNgWriter(&rt.buf, SectionHeader{Comments: []string{"fuzz"}}); err != nil {
		t.Fatal(err)
	}
	return rt
}

func (rt *roundTrip) write(r *Reader, p *Packet) {
	id, ok := rt.ids[p.Interface]
	if !ok {
		ifc := r.Interface(p.Interface)
		var err error
		if id, err = rt.w.AddInterface(ifc); err != nil {
			rt.t.Fatal(err)
		}
		rt.ids[p.Interface] = id
		res := writableResolution(ifc.Resolution)
		unit := time.Second / time.Duration(pow10(min(res, 9)))
		if res&0x80 != 0 {
			unit = time.Second >> (res & 0x7f)
		}
		rt.units = append(rt.units, max(unit, 1))
		rt.span = append(rt.span, [2]time.Time{unitsTime(0, res, ifc.Offset), unitsTime(math.MaxUint64, res, ifc.Offset)})
	}
	if err := rt.w.WritePacket(id, p.Timestamp, p.Data, p.OriginalLength, p.Comments...); err != nil {
		rt.t.Fatal(err)
	}
	g := copyPacket(p)
	g.Orig = max(g.Orig, len(g.Data))
	g.Frame = len(rt.want) + 1
	rt.want = append(rt.want, roundTripPacket{g, slices.Clone(p.Comments), rt.units[id], rt.span[id]})
}

// unitsTime is the time a count of an interface's units reads back as,
// clamped as the reader clamps. The writer writes a time before the count 0
// or after the largest count as that count (a nanosecond count ends in 2554).
func unitsTime(units uint64, res uint8, offset int64) time.Time {
	f := iface{offset: offset}
	f.setResolution(res)
	sec, ns := f.time(units)
	if sec < minSec || sec > maxSec {
		sec, ns = min(max(sec, minSec), maxSec), 0
	}
	return time.Unix(sec, ns).UTC()
}

func (rt *roundTrip) check() {
	t := rt.t
	if err := rt.w.Flush(); err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(bytes.NewReader(rt.buf.Bytes()), "written")
	if err != nil {
		t.Fatalf("reading our own output: %v", err)
	}
	for i, w := range rt.want {
		p, err := r.Next()
		if err != nil {
			t.Fatalf("reading our own output, packet %d of %d: %v", i+1, len(rt.want), err)
		}
		g := copyPacket(p)
		if w.Timestamp.Before(w.span[0]) && g.Timestamp.Equal(w.span[0]) || w.Timestamp.After(w.span[1]) && g.Timestamp.Equal(w.span[1]) {
			g.Timestamp = w.Timestamp // saturated, as NgWriter documents
		}
		if d := g.Timestamp.Sub(w.Timestamp).Abs(); d <= w.unit && d > 0 && w.Timestamp.Unix() > minSec && w.Timestamp.Unix() < maxSec {
			g.Timestamp = w.Timestamp
		}
		if !reflect.DeepEqual(g, w.gotPacket) || !slices.Equal(p.Comments, w.comments) {
			t.Fatalf("packet %d written and read back as\n\t%+v %q\nwant\n\t%+v %q", i+1, g, p.Comments, w.gotPacket, w.comments)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("reading our own output: %v after the last packet", err)
	}
}

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the seed corpus in testdata/fuzz/FuzzReader")

// TestUpdateFuzzSeeds writes FuzzReader's seed files when run with
// -update-seeds: small valid captures of each kind and damaged copies.
// testdata/README.md lists them.
func TestUpdateFuzzSeeds(t *testing.T) {
	if !*updateSeeds {
		t.Skip("run with -update-seeds to rewrite testdata/fuzz/FuzzReader")
	}
	seeds := map[string][]byte{}
	for _, c := range allCaptures(t) {
		switch c.name {
		case "le-micro.pcap", "be-nano.pcap", "le-modified.pcap", "le.pcapng", "be.pcapng", "sections.pcapng", "comments.pcapng", "le-micro.pcap.gz", "be.pcapng.gz":
			seeds["valid-"+c.name] = c.data
		}
		switch c.name {
		case "be-micro.pcap", "le.pcapng", "sections.pcapng":
			seeds["cut-"+c.name] = c.data[:len(c.data)*2/3]
		case "le-nano.pcap.gz":
			seeds["cut-"+c.name] = c.data[:len(c.data)-5]
		}
	}
	for _, c := range hostileCases(t) {
		switch c.name {
		case "pcap caplen 0xffffffff", "epb length 0", "epb length 4294967280", "epb trailing length",
			"undescribed interface", "unknown block types", "bad byte-order magic", "gzip bad checksum", "spb before any interface":
			seeds["damaged-"+strings.ReplaceAll(c.name, " ", "-")] = c.data
		}
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzReader")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range seeds {
		text := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func checkFuzzError(t *testing.T, err error) {
	t.Helper()
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T) is not a *FormatError", err, err)
	}
	if strings.ContainsAny(err.Error(), "\n\r") {
		t.Fatalf("error text is not one line: %q", err)
	}
}

// benchData builds about 64 MB of 1000-byte packets in the given format.
func benchData(format Format) []byte {
	const n = 64 << 20 / 1016
	data := testPayload(7, 1000)
	if format == FormatPcap {
		b := newPcap(binary.LittleEndian, magicMicro, 65535, uint32(layers.LinkTypeEthernet))
		b.buf = append(make([]byte, 0, 65<<20), b.buf...)
		for i := range n {
			b.record(uint32(1700000000+i/1000), uint32(i%1000)*1000, data, 1000)
		}
		return b.buf
	}
	b := newNG(binary.LittleEndian).idb(layers.LinkTypeEthernet, 0)
	for i := range n {
		b.epbLen(0, uint64(1700000000_000000+i), 1000, 1000, data, nil)
	}
	return b.buf
}

// BenchmarkReader reads ~64 MB in memory: MB/s, packets/s and allocations
// (a few per file, none per packet).
func BenchmarkReader(b *testing.B) {
	pcapData := benchData(FormatPcap)
	ngData := benchData(FormatPcapNG)
	for _, c := range []struct {
		name  string
		data  []byte
		merge bool
	}{
		{"pcap", pcapData, false},
		{"pcapng", ngData, false},
		{"merger1", pcapData, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.data)))
			b.ReportAllocs()
			var pkts int
			for b.Loop() {
				r, err := NewReader(bytes.NewReader(c.data), c.name)
				if err != nil {
					b.Fatal(err)
				}
				var src interface{ Next() (*Packet, error) } = r
				if c.merge {
					src = NewMerger(r)
				}
				for {
					if _, err := src.Next(); err != nil {
						if err != io.EOF {
							b.Fatal(err)
						}
						break
					}
					pkts++
				}
			}
			b.ReportMetric(float64(pkts)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}

// ExampleNewReader reads a capture held in memory.
func ExampleNewReader() {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1700000000, 0), CaptureLength: 3, Length: 60}, []byte{1, 2, 3})

	r, err := NewReader(&buf, "mem.pcap")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	for {
		p, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(p.Frame, p.Timestamp.Format(time.RFC3339), len(p.Data), p.OriginalLength, LinkTypeName(p.LinkType))
	}
	in := r.Info()
	fmt.Println(in.Format, in.Packets, in.Complete)
	// Output:
	// 1 2023-11-14T22:13:20Z 3 60 ethernet
	// pcap 1 true
}

// corpusDir returns the shared corpus of real captures, or skips the test.
func corpusDir(t *testing.T) string {
	t.Helper()
	for _, d := range []string{"../../shared/corpus", "/work/shared/corpus"} {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
	}
	t.Skip("no capture corpus at ../../shared/corpus or /work/shared/corpus: real-file tests skipped")
	return ""
}

// corpusEntry is one row of the corpus's PROVENANCE.md table.
type corpusEntry struct {
	path       string
	format     Format
	compressed bool
	linkType   layers.LinkType
	packets    int
}

// provenanceRow matches the "link type, packets" column, such as
// "Ethernet (pcap), 63" or "BSD loopback (NULL) (pcap), 18".
var provenanceRow = regexp.MustCompile(`^(.+) \((pcap|pcapng|pcap\.gz)\), (\d+)$`)

// parseProvenance reads the table of files in PROVENANCE.md.
func parseProvenance(t *testing.T, dir string) []corpusEntry {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(dir, "PROVENANCE.md"))
	if err != nil {
		t.Fatal(err)
	}
	links := map[string]layers.LinkType{
		"Ethernet":            layers.LinkTypeEthernet,
		"BSD loopback (NULL)": layers.LinkTypeNull,
		"Linux SLL":           layers.LinkTypeLinuxSLL,
		"Linux SLL2":          layers.LinkTypeLinuxSLL2,
		"Raw IP":              layers.LinkTypeRaw,
	}
	var out []corpusEntry
	for _, line := range strings.Split(string(text), "\n") {
		cols := strings.Split(line, " | ")
		if !strings.HasPrefix(line, "| `") || len(cols) < 8 {
			continue // not a row of the files table
		}
		m := provenanceRow.FindStringSubmatch(cols[6])
		if m == nil {
			t.Fatalf("PROVENANCE.md: cannot parse %q", cols[6])
		}
		lt, ok := links[m[1]]
		if !ok {
			t.Fatalf("PROVENANCE.md: unknown link type %q", m[1])
		}
		n, _ := strconv.Atoi(m[3])
		e := corpusEntry{path: strings.Trim(cols[0], "| `"), linkType: lt, packets: n, format: FormatPcap}
		switch m[2] {
		case "pcapng":
			e.format = FormatPcapNG
		case "pcap.gz":
			e.compressed = true
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		t.Fatal("PROVENANCE.md: no files listed")
	}
	return out
}

// TestCorpus reads every capture of the shared corpus and checks packet
// counts, link types, formats and completeness against PROVENANCE.md.
func TestCorpus(t *testing.T) {
	dir := corpusDir(t)
	entries := parseProvenance(t, dir)
	listed := map[string]bool{}
	for _, e := range entries {
		listed[e.path] = true
		t.Run(e.path, func(t *testing.T) {
			r, err := Open(filepath.Join(dir, e.path))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			n := 0
			for {
				p, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("after %d packets: %v", n, err)
				}
				n++
				if p.Frame != n || p.LinkType != e.linkType || len(p.Data) > p.OriginalLength {
					t.Errorf("packet %d: Frame %d, LinkType %v, %d of %d bytes", n, p.Frame, p.LinkType, len(p.Data), p.OriginalLength)
				}
			}
			info := r.Info()
			if n != e.packets || info.Packets != e.packets {
				t.Errorf("read %d packets (Info says %d), PROVENANCE.md says %d", n, info.Packets, e.packets)
			}
			if !reflect.DeepEqual(info.LinkTypes, []layers.LinkType{e.linkType}) {
				t.Errorf("LinkTypes = %v, want [%v]", info.LinkTypes, e.linkType)
			}
			if info.Format != e.format || info.Compressed != e.compressed || !info.Complete {
				t.Errorf("Format %v, Compressed %v, Complete %v; want %v, %v, true", info.Format, info.Compressed, info.Complete, e.format, e.compressed)
			}
			if st, err := os.Stat(filepath.Join(dir, e.path)); err == nil && !e.compressed && info.Bytes != st.Size() {
				t.Errorf("Info().Bytes = %d, file size %d", info.Bytes, st.Size())
			}
			if len(info.Warnings) > 0 {
				t.Errorf("Warnings = %q", info.Warnings)
			}
		})
	}
	// Every capture in the corpus is in the table, so all of them are read.
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, ".md") {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if !listed[filepath.ToSlash(rel)] {
			t.Errorf("%s is not listed in PROVENANCE.md", rel)
		}
		return nil
	})
}

// requireTools skips the test when a Wireshark tool is missing, except
// under CI=true, where it fails.
func requireTools(t *testing.T, names ...string) {
	t.Helper()
	for _, name := range names {
		if _, err := exec.LookPath(name); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found on PATH (CI=true needs it): %v", name, err)
			}
			t.Skipf("%s not found on PATH: Wireshark oracle tests skipped", name)
		}
	}
}

// oracleFrame is one frame as tshark reports it.
type oracleFrame struct {
	number      int
	timed       bool // false for records without a timestamp (simple packet blocks)
	sec, ns     int64
	packet      bool // false for records that are not packets (custom blocks)
	len, caplen int
	md5         string
}

// parseEpoch parses "1258553208.781034000" exactly.
func parseEpoch(s string) (sec, ns int64, err error) {
	whole, frac, _ := strings.Cut(s, ".")
	if sec, err = strconv.ParseInt(whole, 10, 64); err != nil {
		return 0, 0, err
	}
	if len(frac) > 9 {
		return 0, 0, fmt.Errorf("%q: more than 9 decimals", s)
	}
	if frac != "" {
		if ns, err = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64); err != nil {
			return 0, 0, err
		}
	}
	return sec, ns, nil
}

// tsharkFrames lists the frames of a capture as tshark reads them.
func tsharkFrames(t *testing.T, path string) []oracleFrame {
	t.Helper()
	cmd := exec.Command("tshark", "-n", "-r", path, "-o", "frame.generate_md5_hash:TRUE", "-T", "fields",
		"-e", "frame.number", "-e", "frame.time_epoch", "-e", "frame.encap_type",
		"-e", "frame.len", "-e", "frame.cap_len", "-e", "frame.md5_hash")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark -r %s: %v", path, err)
	}
	var frames []oracleFrame
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 6 {
			t.Fatalf("tshark: unexpected line %q", line)
		}
		var o oracleFrame
		var errs [4]error
		o.number, errs[0] = strconv.Atoi(f[0])
		if o.timed = f[1] != ""; o.timed {
			o.sec, o.ns, errs[1] = parseEpoch(f[1])
		}
		o.packet = f[2] != ""
		o.len, errs[2] = strconv.Atoi(f[3])
		if f[4] != "" {
			o.caplen, errs[3] = strconv.Atoi(f[4])
		}
		if err := errors.Join(errs[:]...); err != nil {
			t.Fatalf("tshark: line %q: %v", line, err)
		}
		o.md5 = f[5]
		frames = append(frames, o)
	}
	return frames
}

// compareWithTshark reads path and compares every packet with tshark's
// frame of the same number: time, lengths and an MD5 of the captured bytes.
// Frames we do not return must be tshark's non-packet records.
func compareWithTshark(t *testing.T, path string) {
	t.Helper()
	want := tsharkFrames(t, path)
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := readAll(t, r)
	if err != io.EOF {
		t.Fatalf("after %d packets: %v", len(got), err)
	}
	bad := 0
	var prevSec, prevNs int64 // a simple packet block borrows the previous packet's time
	i := 0
	for _, w := range want {
		if i < len(got) && got[i].Frame == w.number {
			g := got[i]
			i++
			if w.timed {
				prevSec, prevNs = w.sec, w.ns
			}
			sum := md5.Sum(g.Data)
			if !w.packet || g.Timestamp.Unix() != prevSec || int64(g.Timestamp.Nanosecond()) != prevNs || g.Orig != w.len ||
				len(g.Data) != w.caplen || hex.EncodeToString(sum[:]) != w.md5 {
				t.Errorf("frame %d: got %d.%09d len %d caplen %d md5 %x; tshark %+v", w.number,
					g.Timestamp.Unix(), g.Timestamp.Nanosecond(), g.Orig, len(g.Data), sum, w)
				bad++
			}
		} else if w.packet {
			t.Errorf("frame %d: tshark reads a packet %+v, we return none", w.number, w)
			bad++
		}
		if bad > 5 {
			t.Fatal("too many differences")
		}
	}
	if i != len(got) {
		t.Errorf("we return %d packets; tshark has frames for %d of them", len(got), i)
	}
}

// TestCorpusCapinfos compares packet counts and first and last timestamps
// with capinfos, and every frame with tshark.
func TestCorpusCapinfos(t *testing.T) {
	dir := corpusDir(t)
	requireTools(t, "capinfos", "tshark")
	entries := parseProvenance(t, dir)
	args := []string{"-T", "-r", "-c", "-a", "-e", "-S", "-M"}
	for _, e := range entries {
		args = append(args, filepath.Join(dir, e.path))
	}
	out, err := exec.Command("capinfos", args...).Output()
	if err != nil {
		t.Fatalf("capinfos: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(entries) {
		t.Fatalf("capinfos printed %d lines for %d files", len(lines), len(entries))
	}
	for _, line := range lines {
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			t.Fatalf("capinfos: unexpected line %q", line)
		}
		path := f[0]
		t.Run(filepath.Base(path), func(t *testing.T) {
			r, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if _, err := readAll(t, r); err != io.EOF {
				t.Fatal(err)
			}
			info := r.Info()
			count, _ := strconv.Atoi(f[1])
			fs, fns, err1 := parseEpoch(f[2])
			ls, lns, err2 := parseEpoch(f[3])
			if err := errors.Join(err1, err2); err != nil {
				t.Fatalf("capinfos line %q: %v", line, err)
			}
			if info.Packets != count || !info.First.Equal(ts(fs, fns)) || !info.Last.Equal(ts(ls, lns)) {
				t.Errorf("Packets %d, First %d.%09d, Last %d.%09d; capinfos %s %s %s",
					info.Packets, info.First.Unix(), info.First.Nanosecond(), info.Last.Unix(), info.Last.Nanosecond(), f[1], f[2], f[3])
			}
		})
	}
	for _, e := range entries {
		t.Run("tshark/"+e.path, func(t *testing.T) {
			t.Parallel()
			compareWithTshark(t, filepath.Join(dir, e.path))
		})
	}
}

// TestBuiltCapturesTshark has tshark read the captures the tests build
// (both byte orders, nanoseconds, 2^-20 s, SLL2, several sections, gzip), so
// that the builders, not only the reader, are checked against Wireshark.
func TestBuiltCapturesTshark(t *testing.T) {
	requireTools(t, "tshark")
	dir := t.TempDir()
	for _, c := range allCaptures(t) {
		path := filepath.Join(dir, c.name)
		if err := os.WriteFile(path, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			compareWithTshark(t, path)
		})
	}
}
