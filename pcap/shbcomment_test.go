package pcap

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// This file tests the comments of pcapng section headers
// (Reader.SectionComments).

// sectionWith starts a section in the given byte order whose header has
// the options opts (encoded, without opt_endofopt).
func (b *ngBuilder) sectionWith(order byteOrder, opts ...[]byte) *ngBuilder {
	b.order = order
	var body []byte
	body = order.AppendUint32(body, byteOrderMagic)
	body = order.AppendUint16(body, 1)
	body = order.AppendUint16(body, 0)
	body = order.AppendUint64(body, ^uint64(0))
	for _, o := range opts {
		body = append(body, o...)
	}
	if len(opts) > 0 {
		body = append(body, b.opt(optEnd, nil)...)
	}
	return b.block(blockSHB, body)
}

// commented builds a pcapng file of one section in order, whose header
// has the options opts, with one interface and two packets.
func commented(order byteOrder, opts func(b *ngBuilder) [][]byte) []byte {
	b := &ngBuilder{order: order}
	b.sectionWith(order, opts(b)...)
	b.idb(layers.LinkTypeEthernet, 0)
	b.epb(0, 1_700_000_000_000_000, testPayload(1, 60), 60)
	b.epb(0, 1_700_000_001_000_000, testPayload(2, 60), 60)
	return b.buf
}

// comments encodes each text as an opt_comment.
func comments(b *ngBuilder, texts ...string) [][]byte {
	var out [][]byte
	for _, c := range texts {
		out = append(out, b.opt(optComment, []byte(c)))
	}
	return out
}

// TestSectionComments checks which section header comments the reader
// keeps: in order, among other options, in either byte order, of every
// section read so far, within the bounds, and none of a classic pcap file.
func TestSectionComments(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	many := make([]string, maxSectionComments+10)
	for i := range many {
		many[i] = strings.Repeat("c", i%7+1)
	}
	big := strings.Repeat("x", 40<<10)
	twoSections := func() []byte {
		b := &ngBuilder{order: le}
		b.sectionWith(le, comments(b, "first section")...)
		b.idb(layers.LinkTypeEthernet, 0)
		b.epb(0, 1_700_000_000_000_000, testPayload(1, 60), 60)
		b.order = be // the options are encoded in the section's order
		b.sectionWith(be, comments(b, "second section", "and more")...)
		b.idb(layers.LinkTypeEthernet, 0)
		b.epb(0, 1_700_000_001_000_000, testPayload(2, 60), 60)
		return b.buf
	}
	cut := func(b *ngBuilder) [][]byte {
		o := comments(b, "kept", "lost")
		binary.LittleEndian.PutUint16(o[1][2:], 400) // longer than the block
		return o
	}
	for _, c := range []struct {
		name     string
		data     []byte
		atOpen   []string // after NewReader
		atEnd    []string // after reading every packet
		packets  int
		hostile  bool // exceeds a bound: the packets must still be read
		gzipped  bool
		notFound bool
	}{
		{name: "classic pcap", data: newPcap(le, magicMicro, 65535, uint32(layers.LinkTypeEthernet)).record(1, 0, testPayload(1, 60), 60).buf, packets: 1},
		{name: "no options", data: commented(le, func(*ngBuilder) [][]byte { return nil }), packets: 2},
		{name: "little-endian, among other options", packets: 2,
			data: commented(le, func(b *ngBuilder) [][]byte {
				return [][]byte{b.opt(2, []byte("hardware")), b.opt(optComment, []byte("one")), b.opt(4, []byte("app")), b.opt(optComment, []byte("two, ünïcode\nsecond line"))}
			}),
			atOpen: []string{"one", "two, ünïcode\nsecond line"}},
		{name: "big-endian", data: commented(be, func(b *ngBuilder) [][]byte { return comments(b, "abc", "defgh") }), atOpen: []string{"abc", "defgh"}, packets: 2},
		{name: "gzip", data: commented(le, func(b *ngBuilder) [][]byte { return comments(b, "zipped") }), atOpen: []string{"zipped"}, packets: 2, gzipped: true},
		{name: "empty comment left out", data: commented(le, func(b *ngBuilder) [][]byte { return comments(b, "", "after") }), atOpen: []string{"after"}, packets: 2},
		{name: "two sections", data: twoSections(), atOpen: []string{"first section"}, atEnd: []string{"first section", "second section", "and more"}, packets: 2},
		{name: "malformed option ends the list", data: commented(le, cut), atOpen: []string{"kept"}, packets: 2},
		{name: "too many comments", data: commented(le, func(b *ngBuilder) [][]byte { return comments(b, many...) }),
			atOpen: many[:maxSectionComments], packets: 2, hostile: true},
		{name: "too many bytes", data: commented(le, func(b *ngBuilder) [][]byte { return comments(b, big, "small", big, "after") }),
			atOpen: []string{big, "small"}, packets: 2, hostile: true},
		{name: "section header too long to read", packets: 2, hostile: true,
			data: commented(le, func(b *ngBuilder) [][]byte {
				return append(comments(b, "lost"), slices.Repeat(comments(b, strings.Repeat("y", 60000)), 5)...)
			})},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := c.data
			if c.gzipped {
				data = gz(t, data)
			}
			r, err := NewReader(bytes.NewReader(data), "x")
			if err != nil {
				t.Fatalf("NewReader: %v", err)
			}
			defer r.Close()
			if got := r.SectionComments(); !slices.Equal(got, c.atOpen) {
				t.Errorf("after NewReader: %d comments %.80q, want %d %.80q", len(got), got, len(c.atOpen), c.atOpen)
			}
			n := 0
			for _, err = r.Next(); err == nil; _, err = r.Next() {
				n++
			}
			if err != io.EOF || n != c.packets {
				t.Fatalf("%d packets, then %v; want %d and EOF", n, err, c.packets)
			}
			want := c.atEnd
			if want == nil {
				want = c.atOpen
			}
			got := r.SectionComments()
			if !slices.Equal(got, want) {
				t.Errorf("at the end: %d comments %.80q, want %d %.80q", len(got), got, len(want), want)
			}
			total := 0
			for _, s := range got {
				total += len(s)
			}
			if len(got) > maxSectionComments || total > maxSectionCommentBytes {
				t.Errorf("%d comments of %d bytes kept, beyond the bounds", len(got), total)
			}
		})
	}
}

// TestSectionCommentsDamage checks that a section header read for its
// comments is still checked: its trailing length, its end.
func TestSectionCommentsDamage(t *testing.T) {
	data := commented(binary.LittleEndian, func(b *ngBuilder) [][]byte { return comments(b, "a comment") })
	shbLen := int(binary.LittleEndian.Uint32(data[4:]))
	mismatch := bytes.Clone(data)
	binary.LittleEndian.PutUint32(mismatch[shbLen-4:], uint32(shbLen+4))
	for _, c := range []struct {
		name, want string
		data       []byte
	}{
		{"trailing length", "trailing block length", mismatch},
		{"cut", "truncated", data[:shbLen-6]},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewReader(bytes.NewReader(c.data), "x")
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "section header") {
				t.Errorf("NewReader: %v, want an error about the section header's %s", err, c.want)
			}
		})
	}
}

// TestSectionCommentsRoundTrip checks that comments NgWriter writes in a
// section header are read back, in order.
func TestSectionCommentsRoundTrip(t *testing.T) {
	want := []string{"first", "second\nwith two lines", "ünïcode"}
	var buf bytes.Buffer
	w, err := NewNgWriter(&buf, SectionHeader{Comments: want, Application: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(bytes.NewReader(buf.Bytes()), "x")
	if err != nil {
		t.Fatal(err)
	}
	if got := r.SectionComments(); !slices.Equal(got, want) {
		t.Errorf("SectionComments = %q, want %q", got, want)
	}
}

// TestSectionCommentsEditcap has editcap --capture-comment write the
// comments, as Wireshark users do, and reads them back.
func TestSectionCommentsEditcap(t *testing.T) {
	editcap, err := exec.LookPath("editcap")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but editcap is not installed")
		}
		t.Skip("skipping: editcap is not installed (apt-get install tshark)")
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.pcap"), filepath.Join(dir, "out.pcapng")
	data := newPcap(binary.LittleEndian, magicMicro, 65535, uint32(layers.LinkTypeEthernet)).record(1, 0, testPayload(1, 60), 60).buf
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	want := []string{"taken at the firewall", "second comment, ünïcode"}
	args := []string{"-F", "pcapng"}
	for _, c := range want {
		args = append(args, "--capture-comment", c)
	}
	if b, err := exec.Command(editcap, append(args, in, out)...).CombinedOutput(); err != nil {
		t.Fatalf("editcap: %v: %s", err, b)
	}
	r, err := OpenSequential(out)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := r.SectionComments(); !slices.Equal(got, want) {
		t.Errorf("SectionComments = %q, want editcap's %q", got, want)
	}
}
