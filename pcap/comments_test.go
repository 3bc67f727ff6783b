package pcap

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// This file tests what the reader keeps for writing files again (packet
// comments, interface descriptions) and the pcapng writer.

// ngCommentsCapture builds a pcapng file whose packets carry comments: two
// sections (little- then big-endian), the second describing its first
// interface as the first section did (one interface for both) and a second
// one of its own; EPBs with no, one and two comments among other options,
// an obsolete PB with a comment and an SPB. (Malformed options are in
// TestMalformedPacketOptions: Wireshark refuses them.)
func ngCommentsCapture() (c testCapture, comments [][]string, ifaces []int) {
	b := newNG(binary.LittleEndian)
	eth0 := func() []byte { return b.opt(2, []byte("eth0")) }
	b.idb(layers.LinkTypeEthernet, 262144, eth0(), b.opt(1, []byte("uplink")), b.tsresol(9), b.opt(8, b.order.AppendUint64(nil, 1e9)))
	var want []wantPacket
	add := func(sec, ns int64, data []byte, orig int, lt layers.LinkType, ifc int, cs ...string) {
		want = append(want, wantPacket{ts(sec, ns), data, orig, lt, b.frames, 0})
		comments = append(comments, cs)
		ifaces = append(ifaces, ifc)
	}
	opts := func(o ...[]byte) []byte {
		var all []byte
		for _, x := range o {
			all = append(all, x...)
		}
		return append(all, b.opt(0, nil)...)
	}
	flags := func() []byte { return b.opt(2, b.order.AppendUint32(nil, 1)) } // epb_flags: inbound
	b.epbLen(0, 1700000000_000000001, 61, 61, testPayload(1, 61), nil)
	add(1700000000, 1, testPayload(1, 61), 61, layers.LinkTypeEthernet, 0)
	b.epbLen(0, 1700000000_000000002, 62, 62, testPayload(2, 62), opts(flags(), b.opt(1, []byte("first look here"))))
	add(1700000000, 2, testPayload(2, 62), 62, layers.LinkTypeEthernet, 0, "first look here")
	b.epbLen(0, 1700000000_000000003, 63, 1500, testPayload(3, 63), opts(b.opt(1, []byte("one")), flags(), b.opt(1, []byte("two, ünïcode"))))
	add(1700000000, 3, testPayload(3, 63), 1500, layers.LinkTypeEthernet, 0, "one", "two, ünïcode")
	b.section(binary.BigEndian)
	b.idb(layers.LinkTypeEthernet, 262144, eth0(), b.opt(1, []byte("uplink")), b.tsresol(9), b.opt(8, b.order.AppendUint64(nil, 1e9)))
	b.idb(layers.LinkTypeLinuxSLL2, 0, b.opt(2, []byte("any")), b.tsresol(0x80|20))
	b.epbLen(1, 1700000001<<20|1<<19, 64, 64, testPayload(4, 64), opts(b.opt(1, []byte("on sll2"))))
	add(1700000001, 500000000, testPayload(4, 64), 64, layers.LinkTypeLinuxSLL2, 1, "on sll2")
	b.pb(0, 1700000002_000000000, testPayload(5, 64), 64)
	// pb writes no options: add a comment by rewriting the block.
	b.buf = b.buf[:b.blocks[len(b.blocks)-1].off]
	b.blocks = b.blocks[:len(b.blocks)-1]
	b.frames--
	var body []byte
	body = b.order.AppendUint16(body, 0)
	body = b.order.AppendUint16(body, 0)
	body = b.order.AppendUint32(body, uint32(1700000002_000000000>>32))
	body = b.order.AppendUint32(body, uint32(1700000002_000000000&0xffffffff))
	body = b.order.AppendUint32(body, 64)
	body = b.order.AppendUint32(body, 64)
	body = append(body, testPayload(5, 64)...)
	body = append(body, opts(b.opt(1, []byte("obsolete block")))...)
	b.block(blockPB, body)
	add(1700000002, 0, testPayload(5, 64), 64, layers.LinkTypeEthernet, 0, "obsolete block")
	b.spb(65, testPayload(6, 65))
	add(1700000002, 0, testPayload(6, 65), 65, layers.LinkTypeEthernet, 0)
	lt := []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL2}
	c = testCapture{
		name: "comments.pcapng", data: b.buf, packets: want, blocks: b.blocks,
		info: Info{
			Name: "comments.pcapng", Format: FormatPcapNG, LinkTypes: lt, Snaplen: 262144, Nanosecond: true,
			Packets: len(want), First: want[0].ts, Last: want[len(want)-1].ts, Bytes: int64(len(b.buf)), Complete: true,
		},
	}
	return c, comments, ifaces
}

// TestPacketComments reads the comments and interface of every packet and
// the interfaces' descriptions.
func TestPacketComments(t *testing.T) {
	c, comments, ifaces := ngCommentsCapture()
	r, err := NewReader(bytes.NewReader(c.data), c.name)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		p, err := r.Next()
		if err == io.EOF {
			if i != len(comments) {
				t.Errorf("%d packets, want %d", i, len(comments))
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(p.Comments, comments[i]) && (len(p.Comments) != 0 || len(comments[i]) != 0) {
			t.Errorf("frame %d: Comments = %q, want %q", p.Frame, p.Comments, comments[i])
		}
		if len(comments[i]) == 0 && p.Comments != nil {
			t.Errorf("frame %d: Comments = %#v, want nil", p.Frame, p.Comments)
		}
		if p.Interface != ifaces[i] {
			t.Errorf("frame %d: Interface = %d, want %d", p.Frame, p.Interface, ifaces[i])
		}
		if got := r.Interface(p.Interface).LinkType; got != p.LinkType {
			t.Errorf("frame %d: Interface(%d).LinkType = %v, packet's %v", p.Frame, p.Interface, got, p.LinkType)
		}
	}
	want := []Interface{
		{LinkType: layers.LinkTypeEthernet, Snaplen: 262144, Resolution: 9,
			Options: []Option{{2, []byte("eth0")}, {1, []byte("uplink")}}},
		{LinkType: layers.LinkTypeLinuxSLL2, Resolution: 0x80 | 20, Options: []Option{{2, []byte("any")}}},
	}
	if got := r.interfaces; !reflect.DeepEqual(got, want) {
		t.Errorf("interfaces =\n\t%+v\nwant\n\t%+v", got, want)
	}

	pc := pcapCaptures()
	for _, c := range []struct {
		data []byte
		res  uint8
	}{{pc[0].data, 6}, {pc[3].data, 9}} {
		r, err := NewReader(bytes.NewReader(c.data), "x.pcap")
		if err != nil {
			t.Fatal(err)
		}
		want := Interface{LinkType: layers.LinkTypeEthernet, Snaplen: 200, Resolution: c.res}
		if got := r.Interface(0); !reflect.DeepEqual(got, want) {
			t.Errorf("pcap: Interface(0) = %+v, want %+v", got, want)
		}
	}
}

// TestMalformedPacketOptions checks that comments before a malformed
// option are kept, and the packet read, where Wireshark gives up on the
// file.
func TestMalformedPacketOptions(t *testing.T) {
	b := newNG(binary.BigEndian).idb(layers.LinkTypeEthernet, 0)
	bad := b.opt(1, []byte("kept"))
	bad = b.order.AppendUint16(bad, 1)
	bad = b.order.AppendUint16(bad, 200)
	bad = append(bad, "lost"...)
	b.epbLen(0, 1700000003_000000, 66, 66, testPayload(7, 66), bad)
	r, err := NewReader(bytes.NewReader(b.buf), "x")
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.Data, testPayload(7, 66)) || !reflect.DeepEqual(p.Comments, []string{"kept"}) {
		t.Errorf("packet %x with comments %q, want its data and %q", p.Data, p.Comments, "kept")
	}
	if w := r.Info().Warnings; len(w) > 0 {
		t.Errorf("warnings %q", w)
	}
}

// TestInterfacesAcrossSections checks that interfaces described again the
// same way keep their number, and that others, even at the same place or
// alike at another place, get one of their own.
func TestInterfacesAcrossSections(t *testing.T) {
	b := newNG(binary.LittleEndian)
	name := func(s string) []byte { return b.opt(2, []byte(s)) }
	b.idb(layers.LinkTypeEthernet, 0, name("a")).idb(layers.LinkTypeEthernet, 0, name("b"))
	b.epbLen(0, 1, 0, 0, nil, nil).epbLen(1, 2, 0, 0, nil, nil)
	b.section(binary.BigEndian)
	b.idb(layers.LinkTypeEthernet, 0, name("b")).idb(layers.LinkTypeEthernet, 0, name("b"))
	b.epbLen(0, 3, 0, 0, nil, nil).epbLen(1, 4, 0, 0, nil, nil)
	b.section(binary.LittleEndian)
	b.idb(layers.LinkTypeEthernet, 0, name("a")).idb(layers.LinkTypeEthernet, 0, name("b"))
	b.epbLen(1, 5, 0, 0, nil, nil).epbLen(0, 6, 0, 0, nil, nil)
	r, err := NewReader(bytes.NewReader(b.buf), "x")
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for {
		p, err := r.Next()
		if err != nil {
			break
		}
		got = append(got, p.Interface)
	}
	if want := []int{0, 1, 2, 1, 1, 0}; !reflect.DeepEqual(got, want) {
		t.Errorf("interfaces of the packets = %v, want %v", got, want)
	}
}

// TestNoAllocsWithoutComments checks that a packet block with options but
// no comment costs no allocation, and one with a comment a single one.
func TestNoAllocsWithoutComments(t *testing.T) {
	for _, c := range []struct {
		name    string
		comment bool
		want    float64
	}{{"flags only", false, 0}, {"a comment", true, 1}} {
		t.Run(c.name, func(t *testing.T) {
			ng := newNG(binary.LittleEndian).idb(layers.LinkTypeEthernet, 0)
			for i := range 2000 {
				o := ng.opt(2, ng.order.AppendUint32(nil, 1))
				if c.comment {
					o = append(o, ng.opt(1, fmt.Appendf(nil, "packet %d", i))...)
				}
				ng.epbLen(0, uint64(i), 100, 100, testPayload(i, 100), append(o, ng.opt(0, nil)...))
			}
			r, err := NewReader(bytes.NewReader(ng.buf), "x")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.Next(); err != nil {
				t.Fatal(err)
			}
			allocs := testing.AllocsPerRun(1000, func() {
				if _, err := r.Next(); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != c.want {
				t.Errorf("%v allocations per packet, want %v", allocs, c.want)
			}
		})
	}
}

// rewrite reads a capture and writes it again with NgWriter, every
// interface as the reader describes it and every packet with its
// comments, plus extra ones when extra is set.
func rewrite(t testing.TB, data []byte, extra func(p *Packet) []string) ([]byte, error) {
	r, err := NewReader(bytes.NewReader(data), "in")
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	w, err := NewNgWriter(&out, SectionHeader{Comments: []string{"written by a test", ""}, Application: "pcap test"})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[int]int{}
	for {
		p, err := r.Next()
		if err != nil {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			return out.Bytes(), err
		}
		id, ok := ids[p.Interface]
		if !ok {
			if id, err = w.AddInterface(r.Interface(p.Interface)); err != nil {
				t.Fatal(err)
			}
			ids[p.Interface] = id
		}
		cs := p.Comments
		if extra != nil {
			cs = append(cs[:len(cs):len(cs)], extra(p)...)
		}
		if err := w.WritePacket(id, p.Timestamp, p.Data, p.OriginalLength, cs...); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWriterRoundTrip writes every capture the tests build again with
// NgWriter and reads it back: the same packets, timestamps to the
// nanosecond, link types and comments, ours after the file's.
func TestWriterRoundTrip(t *testing.T) {
	for _, c := range allCaptures(t) {
		t.Run(c.name, func(t *testing.T) {
			out, err := rewrite(t, c.data, func(p *Packet) []string { return []string{fmt.Sprintf("frame %d", p.Frame)} })
			if err != io.EOF {
				t.Fatalf("reading the input: %v", err)
			}
			r, err := NewReader(bytes.NewReader(out), "out")
			if err != nil {
				t.Fatal(err)
			}
			var got []gotPacket
			var comments [][]string
			for {
				p, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, copyPacket(p))
				comments = append(comments, append([]string(nil), p.Comments...))
			}
			want := make([]wantPacket, len(c.packets))
			for i, w := range c.packets {
				w.frame = i + 1
				w.orig = max(w.orig, len(w.data))
				want[i] = w
			}
			comparePackets(t, got, want)
			for i, cs := range comments {
				if len(cs) == 0 || cs[len(cs)-1] != fmt.Sprintf("frame %d", c.packets[i].frame) {
					t.Errorf("packet %d: comments %q, want ours last", i+1, cs)
				}
			}
			if w := r.Info().Warnings; len(w) > 0 {
				t.Errorf("warnings reading our output: %q", w)
			}
		})
	}
	c, comments, _ := ngCommentsCapture()
	out, _ := rewrite(t, c.data, nil)
	r, err := NewReader(bytes.NewReader(out), "out")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		p, err := r.Next()
		if err != nil {
			break
		}
		if len(p.Comments)+len(comments[i]) > 0 && !reflect.DeepEqual(p.Comments, comments[i]) {
			t.Errorf("frame %d: comments %q, want the input's %q", p.Frame, p.Comments, comments[i])
		}
	}
	if got := r.Interface(0).Options; !reflect.DeepEqual(got, []Option{{2, []byte("eth0")}, {1, []byte("uplink")}}) {
		t.Errorf("interface 0 options written: %+v", got)
	}
}

// TestToUnits checks that converting a decoded timestamp back to units
// gives the file's number for every resolution the writer keeps.
func TestToUnits(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var resolutions []uint8
	for e := range uint8(10) {
		resolutions = append(resolutions, e)
	}
	for e := range uint8(30) {
		resolutions = append(resolutions, 0x80|e)
	}
	for _, res := range resolutions {
		var f iface
		if !f.setResolution(res) || writableResolution(res) != res {
			t.Fatalf("resolution %#x not kept", res)
		}
		for range 2000 {
			sec := rng.Uint64N(1 << 33)
			var ts uint64
			if res&0x80 != 0 {
				ts = sec<<f.exp | rng.Uint64N(1<<f.exp)
			} else {
				ts = sec*f.div + rng.Uint64N(f.div)
			}
			f.offset = rng.Int64N(2000) - 1000
			s, ns := f.time(ts)
			if got := toUnits(s, uint64(ns), f.offset, res); got != ts {
				t.Fatalf("resolution %#x: %d units read as %d.%09d, written back as %d", res, ts, s, ns, got)
			}
		}
	}
	for _, res := range []uint8{10, 12, 19, 0x80 | 30, 0x80 | 32, 0x80 | 63} {
		if got := writableResolution(res); got != 9 {
			t.Errorf("writableResolution(%#x) = %d, want 9", res, got)
		}
	}
}

// TestWriterTshark has Wireshark read a file the writer made: the
// comments, the interfaces' link types and the timestamps to the
// nanosecond.
func TestWriterTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but tshark is not installed")
		}
		t.Skip("skipping: tshark is not installed (apt-get install tshark)")
	}
	c, comments, _ := ngCommentsCapture()
	out, _ := rewrite(t, c.data, func(p *Packet) []string { return []string{fmt.Sprintf("ours %d", p.Frame)} })
	path := t.TempDir() + "/out.pcapng"
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tshark, "-r", path, "-T", "fields", "-E", "aggregator=|",
		"-e", "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len", "-e", "frame.interface_id", "-e", "frame.comment")
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != len(c.packets) {
		t.Fatalf("tshark shows %d packets, want %d:\n%s", len(lines), len(c.packets), b)
	}
	for i, line := range lines {
		p := c.packets[i]
		cs := append(append([]string(nil), comments[i]...), fmt.Sprintf("ours %d", p.frame))
		want := fmt.Sprintf("%d.%09d\t%d\t%d\t%d\t%s", p.ts.Unix(), p.ts.Nanosecond(), max(p.orig, len(p.data)), len(p.data),
			map[layers.LinkType]int{layers.LinkTypeEthernet: 0, layers.LinkTypeLinuxSLL2: 1}[p.lt], strings.Join(cs, "|"))
		if line != want {
			t.Errorf("frame %d:\n\ttshark %q\n\twant   %q", i+1, line, want)
		}
	}
}
