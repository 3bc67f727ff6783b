package annotate

import (
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"ftpdiag/analyze"
	"ftpdiag/ftpflow"
	"ftpdiag/pcap"
)

const captures = "../fixtures/captures/"

// packet is a packet read back, with what identifies it.
type packet struct {
	input, frame int
	ts           time.Time
	data         []byte
	orig         int
	lt           layers.LinkType
	comments     []string
}

// readMerged reads inputs merged as the analysis reads them.
func readMerged(t *testing.T, names ...string) []packet {
	t.Helper()
	var rs []*pcap.Reader
	for _, n := range names {
		r, err := pcap.OpenSequential(n)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		rs = append(rs, r)
	}
	return readAll(t, pcap.NewMerger(rs...))
}

func readAll(t *testing.T, src interface{ Next() (*pcap.Packet, error) }) []packet {
	t.Helper()
	var out []packet
	for {
		p, err := src.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, packet{p.Input, p.Frame, p.Timestamp, bytes.Clone(p.Data), p.OriginalLength, p.LinkType, slices.Clone(p.Comments)})
	}
}

// annotated analyses the files and writes their annotated capture.
func annotated(t *testing.T, opt Options, names ...string) (*analyze.Analysis, []byte) {
	t.Helper()
	in := analyze.Files(names...)
	a, _ := analyze.Run(context.Background(), in, analyze.Options{Tracker: ftpflow.Config{KeepLog: opt.Lesson}})
	var buf bytes.Buffer
	if _, err := Write(context.Background(), in, a, &buf, opt); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return a, buf.Bytes()
}

// testInputs builds the kinds of input the annotated capture must copy
// exactly: pcap at micro- and nanoseconds, pcapng with several interfaces
// and link types (one at a binary resolution), gzip, several files, a
// pcapng whose packets already carry comments.
func testInputs(t *testing.T) map[string][]string {
	dir := t.TempDir()
	nat := captures + "02-nat-pasv-curl-follow-client.pcap"
	nano := filepath.Join(dir, "rejected-nano.pcap")
	toNano(t, captures+"03-pasv-rejected-ftplib-client.pcap", nano)
	ng := filepath.Join(dir, "two-interfaces.pcapng")
	toNG(t, ng, nil, captures+"04-active-client-firewall-curl-client.pcap", captures+"15-any-interface-sll2-server.pcap")
	commented := filepath.Join(dir, "commented.pcapng")
	toNG(t, commented, func(p *pcap.Packet) []string {
		if p.Frame%3 == 0 {
			return []string{fmt.Sprintf("analyst: look at frame %d", p.Frame), "second comment"}
		}
		return nil
	}, captures+"10-client-abort-curl-client.pcap")
	gz := filepath.Join(dir, "lan-address.pcap.gz")
	gzipFile(t, captures+"05-masq-port-lan-address-client.pcap", gz)
	return map[string][]string{
		"pcap micro":               {nat},
		"pcap nano":                {nano},
		"pcapng interfaces":        {ng},
		"gzip":                     {gz},
		"merged":                   {nat, captures + "02-nat-pasv-curl-follow-server.pcap"},
		"pcapng already commented": {commented},
	}
}

// TestWrite checks, for every kind of input, that the annotated capture
// holds every packet as the input has it (bytes, lengths, link type,
// timestamp), the input's comments first, and that every frame a finding
// cites carries the finding.
func TestWrite(t *testing.T) {
	for name, files := range testInputs(t) {
		t.Run(name, func(t *testing.T) {
			a, out := annotated(t, Options{Lesson: true}, files...)
			if len(a.Findings) == 0 {
				t.Fatal("no finding to annotate: a poor test input")
			}
			want := readMerged(t, files...)
			r, err := pcap.NewReader(bytes.NewReader(out), "out")
			if err != nil {
				t.Fatal(err)
			}
			got := readAll(t, r)
			if len(got) != len(want) {
				t.Fatalf("%d packets written, want %d", len(got), len(want))
			}
			at := map[frameKey]int{}
			for i, w := range want {
				g := got[i]
				at[frameKey{w.input, w.frame}] = i
				if !g.ts.Equal(w.ts) || !bytes.Equal(g.data, w.data) || g.orig != w.orig || g.lt != w.lt {
					t.Errorf("packet %d: %s %d/%d bytes %v, want %s %d/%d bytes %v (frame %d of input %d)", i+1,
						g.ts.Format(time.RFC3339Nano), len(g.data), g.orig, g.lt, w.ts.Format(time.RFC3339Nano), len(w.data), w.orig, w.lt, w.frame, w.input)
				}
				if len(g.comments) < len(w.comments) || !slices.Equal(g.comments[:len(w.comments)], w.comments) {
					t.Errorf("packet %d: comments %q do not begin with the input's %q", i+1, g.comments, w.comments)
				}
				if len(files) > 1 && len(g.comments) > len(w.comments) && !slices.Contains(g.comments, fmt.Sprintf("ftpdiag: frame %d of %s", w.frame, files[w.input])) {
					t.Errorf("packet %d: comments %q do not say where it comes from", i+1, g.comments)
				}
			}
			for _, f := range a.Findings {
				for _, fr := range citedFrames(f) {
					i, ok := at[frameKey{inputOf(a, f, fr), fr}]
					if !ok {
						t.Errorf("%s cites frame %d, not in the capture", f.ID, fr)
						continue
					}
					if !slices.Contains(got[i].comments, headline(f)) || !hasPrefix(got[i].comments, f.ID+": ") {
						t.Errorf("%s %s cites frame %d; its comments are %q", f.ID, f.Kind, fr, got[i].comments)
					}
				}
			}
		})
	}
}

// citedFrames lists every frame a finding's references name.
func citedFrames(f analyze.Finding) []int {
	r := f.Refs
	fs := []int{r.Offer.Frame, r.CommandFrame, r.RequestFrame, r.AcceptedFrame}
	fs = append(append(append(fs, r.ReplyFrames...), r.Frames...), r.ICMPFrames...)
	return slices.DeleteFunc(fs, func(n int) bool { return n == 0 })
}

// inputOf tells which input a cited frame is in, for the test captures:
// the only one, or, merged, the session's.
func inputOf(a *analyze.Analysis, f analyze.Finding, frame int) int {
	for _, s := range a.Sessions {
		if s.ID == f.Session {
			return s.Control.First.Input
		}
	}
	return 0
}

func hasPrefix(cs []string, prefix string) bool {
	return slices.ContainsFunc(cs, func(c string) bool { return strings.HasPrefix(c, prefix) })
}

// TestLessonAndPasswords checks the lesson's notes on the key frames and
// that no comment shows a password.
func TestLessonAndPasswords(t *testing.T) {
	_, out := annotated(t, Options{Lesson: true}, captures+"02-nat-pasv-curl-follow-client.pcap")
	r, err := pcap.NewReader(bytes.NewReader(out), "out")
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, r)
	for frame, want := range map[int]string{
		6:  "greeting",
		10: "logged in",
		14: "server announces 172.16.40.222:30004 (port 117*256+52 = 30004)",
		15: "3 SYNs over 2.047s, no answer",
		19: "control connection closed by the FTP client",
	} {
		if !slices.ContainsFunc(got[frame-1].comments, func(c string) bool { return strings.HasSuffix(c, want) }) {
			t.Errorf("frame %d: comments %q, want the lesson's %q", frame, got[frame-1].comments, want)
		}
	}
	for _, lesson := range []bool{false, true} {
		_, out := annotated(t, Options{Lesson: lesson}, captures+"01-passive-pureftpd-ftplib-client.pcap")
		if bytes.Contains(bytes.ReplaceAll(out, []byte("PASS fixture-pass"), nil), []byte("fixture-pass")) {
			t.Errorf("lesson %v: the password appears outside its packet", lesson)
		}
	}
}

// TestDamagedAndStreams checks that an input the analysis found damaged is
// written up to the damage, and that a stream cannot be read twice.
func TestDamagedAndStreams(t *testing.T) {
	data, err := os.ReadFile(captures + "10-client-abort-curl-client.pcap")
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.pcap")
	if err := os.WriteFile(cut, data[:len(data)*2/3], 0o644); err != nil {
		t.Fatal(err)
	}
	a, out := annotated(t, Options{}, cut)
	r, err := pcap.NewReader(bytes.NewReader(out), "out")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(readAll(t, r)), a.Inputs[0].Packets; got != want || a.Inputs[0].Complete {
		t.Errorf("%d packets written, want the %d read before the damage", got, want)
	}

	in := []analyze.Input{{Name: "-", Reader: bytes.NewReader(data)}}
	a, _ = analyze.Run(context.Background(), in, analyze.Options{})
	in[0].Reader = io.MultiReader(bytes.NewReader(data))
	if _, err := Write(context.Background(), in, a, io.Discard, Options{}); err == nil || !strings.Contains(err.Error(), "not a stream") {
		t.Errorf("Write on a stream: %v, want an error saying it must be a file", err)
	}
}

// TestWriteErrors checks that a failing writer's error comes back.
func TestWriteErrors(t *testing.T) {
	in := analyze.Files(captures + "02-nat-pasv-curl-follow-client.pcap")
	a, _ := analyze.Run(context.Background(), in, analyze.Options{})
	for _, n := range []int{0, 100, 1000} {
		if _, err := Write(context.Background(), in, a, &failAfter{n: n}, Options{}); err == nil {
			t.Errorf("writer failing after %d bytes: no error", n)
		}
	}
}

type failAfter struct{ n int }

func (w *failAfter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		n := w.n
		w.n = 0
		return n, io.ErrShortWrite
	}
	w.n -= len(p)
	return len(p), nil
}

// toNano rewrites a pcap at nanosecond resolution, each timestamp moved
// by 123 ns so that the nanoseconds matter.
func toNano(t *testing.T, from, to string) {
	r, err := pcap.OpenSequential(from)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var buf bytes.Buffer
	w := pcapgo.NewWriterNanos(&buf)
	if err := w.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for {
		p, err := r.Next()
		if err != nil {
			break
		}
		ci := gopacket.CaptureInfo{Timestamp: p.Timestamp.Add(123), CaptureLength: len(p.Data), Length: p.OriginalLength}
		if err := w.WritePacket(ci, p.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(to, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// toNG writes captures merged into one pcapng, one interface per input
// (the second at 2^-20 s), with the comments comment gives each packet.
func toNG(t *testing.T, to string, comment func(*pcap.Packet) []string, from ...string) {
	var rs []*pcap.Reader
	for _, f := range from {
		r, err := pcap.OpenSequential(f)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		rs = append(rs, r)
	}
	var buf bytes.Buffer
	w, err := pcap.NewNgWriter(&buf, pcap.SectionHeader{Application: "annotate test"})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		ifc := r.Interface(0)
		ifc.Options = []pcap.Option{{Code: 2, Value: []byte(fmt.Sprintf("if%d", i))}}
		if i == 1 {
			ifc.Resolution = 0x80 | 20
		}
		if _, err := w.AddInterface(ifc); err != nil {
			t.Fatal(err)
		}
	}
	m := pcap.NewMerger(rs...)
	for {
		p, err := m.Next()
		if err != nil {
			break
		}
		var cs []string
		if comment != nil {
			cs = comment(p)
		}
		if err := w.WritePacket(p.Input, p.Timestamp, p.Data, p.OriginalLength, cs...); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func gzipFile(t *testing.T, from, to string) {
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

var update = flag.Bool("update", false, "rewrite the annotated lesson captures in ../fixtures/annotated")

// lessonCaptures are the captures of the lessons in fixtures/README.md:
// each has an annotated copy in fixtures/annotated, with the lesson's
// notes, so that a student needs only Wireshark.
var lessonCaptures = []string{
	"01-active-vsftpd-lftp-client.pcap",
	"02-nat-pasv-curl-follow-client.pcap",
	"05-masq-helper-port2121-client.pcap",
	"13-timewait-reuse-ts-off-client.pcap",
	"13-synthetic-windows-timewait-425.pcap",
	"12-pasv-range-exhausted-client.pcap",
}

// TestLessonCaptures checks that the annotated lesson captures are what
// ftpdiag --annotate --annotate-lesson writes today; -update rewrites
// them (review the change with tshark -Y frame.comment).
func TestLessonCaptures(t *testing.T) {
	for _, name := range lessonCaptures {
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(captures + name)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			in := []analyze.Input{{Name: name, Reader: f}}
			a, err := analyze.Run(context.Background(), in, analyze.Options{Tracker: ftpflow.Config{KeepLog: true}})
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if _, err := Write(context.Background(), in, a, &buf, Options{Lesson: true}); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("..", "fixtures", "annotated", strings.TrimSuffix(name, ".pcap")+".pcapng")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test ./annotate -update writes it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s is not what ftpdiag writes today: go test ./annotate -run TestLessonCaptures -update rewrites it", path)
			}
		})
	}
}
