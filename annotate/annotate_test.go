package annotate

import (
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
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
	toNG(t, ng, nil, nil, captures+"04-active-client-firewall-curl-client.pcap", captures+"15-any-interface-sll2-server.pcap")
	commented := filepath.Join(dir, "commented.pcapng")
	toNG(t, commented, []string{"analyst: capture taken on the client", "second section comment"}, func(p *pcap.Packet) []string {
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

// TestLesson checks the lesson's notes on the key frames.
func TestLesson(t *testing.T) {
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
}

// TestPasswords checks that the password of the PASS line stays masked in
// the comments unless Options.ShowPasswords, and that the lesson's note
// on the PASS frame shows it then.
func TestPasswords(t *testing.T) {
	const capture = captures + "01-passive-pureftpd-ftplib-client.pcap"
	const passFrame = 11 // PASS fixture-pass
	for _, c := range []struct {
		name string
		opt  Options
		note string // the comment on the PASS frame, up to its note
	}{
		{"findings only", Options{}, ""},
		{"findings only, passwords shown", Options{ShowPasswords: true}, ""},
		{"lesson", Options{Lesson: true}, "PASS **** — "},
		{"lesson, passwords shown", Options{Lesson: true, ShowPasswords: true}, "PASS fixture-pass — "},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, out := annotated(t, c.opt, capture)
			r, err := pcap.NewReader(bytes.NewReader(out), "out")
			if err != nil {
				t.Fatal(err)
			}
			var comments []string
			for _, p := range readAll(t, r) {
				comments = append(comments, p.comments...)
				if p.frame == passFrame && c.note != "" && !hasPrefix(p.comments, c.note) {
					t.Errorf("frame %d: comments %q, want the lesson's %q...", p.frame, p.comments, c.note)
				}
			}
			shown := strings.Contains(strings.Join(comments, "\n"), "fixture-pass")
			if want := c.opt.ShowPasswords && c.opt.Lesson; shown != want {
				t.Errorf("the password in a comment: %v, want %v", shown, want)
			}
			if !c.opt.ShowPasswords && bytes.Contains(bytes.ReplaceAll(out, []byte("PASS fixture-pass"), nil), []byte("fixture-pass")) {
				t.Error("the password appears outside its packet")
			}
		})
	}
}

// TestEveryFixtureRoles annotates every fixture capture and checks that
// every frame a finding cites says the role it plays: none is left with
// the generic "cited as evidence", which says a frame was not found among
// the places of the sessions searched.
func TestEveryFixtureRoles(t *testing.T) {
	files, err := filepath.Glob(captures + "*.pcap*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixture capture in %s: %v", captures, err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			a, out := annotated(t, Options{Lesson: true}, file)
			r, err := pcap.NewReader(bytes.NewReader(out), "out")
			if err != nil {
				t.Fatal(err)
			}
			got := readAll(t, r)
			for _, p := range got {
				for _, c := range p.comments {
					if strings.HasSuffix(c, ": cited as evidence") {
						t.Errorf("frame %d: %q", p.frame, c)
					}
				}
			}
			for _, f := range a.Findings {
				for _, fr := range citedFrames(f) {
					if fr > len(got) || !hasPrefix(got[fr-1].comments, f.ID+": ") {
						t.Errorf("%s %s cites frame %d, which says no role of it", f.ID, f.Kind, fr)
					}
				}
			}
		})
	}
}

// TestMergedRoles checks, in captures of two inputs, that the frames a
// finding cites outside its session are commented in the input that holds
// them, and only there: the SYN of a control connection that never became
// a session (control_connection_refused, which no session holds, while a session
// of the other input has a frame of the same number), and the
// announcements of other sessions that held the passive ports
// (passive_port_exhaustion, Refs.Sessions).
func TestMergedRoles(t *testing.T) {
	refused := captures + "17-control-refused-curl-client.pcap"
	nat := captures + "02-nat-pasv-curl-follow-client.pcap"
	exhausted := captures + "12-pasv-range-exhausted-client.pcap"
	rejected := captures + "03-pasv-rejected-ftplib-client.pcap"
	for _, c := range []struct {
		name  string
		files []string
		kind  string
		input int // the input that holds the frames cited
		role  string
	}{
		{"refused second", []string{nat, refused}, analyze.KindControlRefused, 1, "SYN to the FTP control port of 203.0.113.10:21, refused with a RST"},
		{"refused first", []string{refused, nat}, analyze.KindControlRefused, 0, "SYN to the FTP control port of 203.0.113.10:21, refused with a RST"},
		{"held ports second", []string{rejected, exhausted}, analyze.KindPassivePortExhaustion, 1, "a passive port still held when the server refused, announced by session"},
		{"held ports first", []string{exhausted, rejected}, analyze.KindPassivePortExhaustion, 0, "a passive port still held when the server refused, announced by session"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, out := annotated(t, Options{Lesson: true}, c.files...)
			i := slices.IndexFunc(a.Findings, func(f analyze.Finding) bool { return f.Kind == c.kind })
			if i < 0 {
				t.Fatalf("no %s finding: a poor test input", c.kind)
			}
			f := a.Findings[i]
			want := map[frameKey]bool{}
			for _, fr := range citedFrames(f) {
				want[frameKey{c.input, fr}] = true
			}
			got := readAll(t, mustReader(t, out))
			roled := false
			for i, w := range readMerged(t, c.files...) {
				k := frameKey{w.input, w.frame}
				has := hasPrefix(got[i].comments, f.ID+": ")
				if has != want[k] {
					t.Errorf("frame %d of input %d: comments %q; cited by %s: %v", w.frame, w.input, got[i].comments, f.ID, want[k])
				}
				roled = roled || hasPrefix(got[i].comments, f.ID+": "+c.role)
			}
			if !roled {
				t.Errorf("no frame says %q", f.ID+": "+c.role)
			}
		})
	}
}

// TestSectionHeader checks the output's section header: the comments of
// the inputs' section headers first, in order (prefixed with the input's
// name when there are several), then ours, which name the version; and
// that capinfos reads them so.
func TestSectionHeader(t *testing.T) {
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first.pcapng"), filepath.Join(dir, "second.pcapng")
	toNG(t, first, []string{"taken on the client", "second line\nof a comment"}, nil, captures+"02-nat-pasv-curl-follow-client.pcap")
	toNG(t, second, []string{"taken on the server"}, nil, captures+"02-nat-pasv-curl-follow-server.pcap")
	plain := captures + "03-pasv-rejected-ftplib-client.pcap"
	const version = "v9.8.7-test"
	for _, c := range []struct {
		name  string
		files []string
		want  []string // the inputs' comments, before ours
	}{
		{"pcap", []string{plain}, nil},
		{"pcapng", []string{first}, []string{"taken on the client", "second line\nof a comment"}},
		{"merged", []string{first, plain, second}, []string{first + ": taken on the client", first + ": second line\nof a comment", second + ": taken on the server"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, out := annotated(t, Options{Version: version}, c.files...)
			got := mustReader(t, out).SectionComments()
			if len(got) <= len(c.want) || !slices.Equal(got[:len(c.want)], c.want) {
				t.Fatalf("section comments %q, want %q first", got, c.want)
			}
			if ours := got[len(c.want)]; !strings.HasPrefix(ours, "ftpdiag "+version+": diagnosis of "+strings.Join(c.files, ", ")) {
				t.Errorf("our first section comment %q does not name the version and the inputs", ours)
			}
			capinfosComments(t, out, got)
		})
	}
}

// capinfosComments checks that capinfos reads the capture's section
// comments as want (each on one line: capinfos prints a line break as a
// space).
func capinfosComments(t *testing.T, capture []byte, want []string) {
	t.Helper()
	capinfos, err := exec.LookPath("capinfos")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but capinfos is not installed")
		}
		t.Log("capinfos is not installed (apt-get install tshark): section comments not checked with it")
		return
	}
	path := filepath.Join(t.TempDir(), "out.pcapng")
	if err := os.WriteFile(path, capture, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := exec.Command(capinfos, "-k", path).Output()
	if err != nil {
		t.Fatalf("capinfos -k: %v", err)
	}
	var got []string
	for _, line := range strings.Split(string(b), "\n") {
		if c, ok := strings.CutPrefix(line, "Capture comment:"); ok {
			got = append(got, strings.TrimSpace(c))
		}
	}
	var flat []string
	for _, c := range want {
		flat = append(flat, strings.TrimSpace(strings.ReplaceAll(c, "\n", " ")))
	}
	if !slices.Equal(got, flat) {
		t.Errorf("capinfos reads the section comments\n%q\nwant\n%q", got, flat)
	}
}

// mustReader reads a capture in memory.
func mustReader(t *testing.T, capture []byte) *pcap.Reader {
	t.Helper()
	r, err := pcap.NewReader(bytes.NewReader(capture), "out")
	if err != nil {
		t.Fatal(err)
	}
	return r
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
// (the second at 2^-20 s), with the section header's comments section and
// the comments comment gives each packet.
func toNG(t *testing.T, to string, section []string, comment func(*pcap.Packet) []string, from ...string) {
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
	w, err := pcap.NewNgWriter(&buf, pcap.SectionHeader{Comments: section, Application: "annotate test"})
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

// lesson is an annotated capture of the lessons in fixtures/README.md:
// the annotated copy of one capture, or of several merged (a lesson that
// reads them side by side).
type lesson struct {
	name  string   // the annotated capture's name in fixtures/annotated, without .pcapng
	files []string // its inputs, in fixtures/captures, in the order given to ftpdiag
}

// lessonCaptures are the captures of the lessons in fixtures/README.md:
// each has an annotated copy in fixtures/annotated, with the lesson's
// notes, so that a student needs only Wireshark.
var lessonCaptures = []lesson{
	single("01-active-vsftpd-lftp-client.pcap"),
	single("02-nat-pasv-curl-follow-client.pcap"),
	{"02-nat-pasv-curl-follow-both", []string{"02-nat-pasv-curl-follow-client.pcap", "02-nat-pasv-curl-follow-server.pcap"}},
	single("05-masq-helper-port2121-client.pcap"),
	single("13-timewait-reuse-ts-off-client.pcap"),
	single("13-synthetic-windows-timewait-425.pcap"),
	single("12-pasv-range-exhausted-client.pcap"),
}

// single is the lesson of one capture, named after it.
func single(file string) lesson {
	return lesson{strings.TrimSuffix(file, ".pcap"), []string{file}}
}

// TestLessonCaptures checks that the annotated lesson captures are what
// ftpdiag --annotate --annotate-lesson writes today; -update rewrites
// them (review the change with tshark -Y frame.comment).
func TestLessonCaptures(t *testing.T) {
	for _, l := range lessonCaptures {
		t.Run(l.name, func(t *testing.T) {
			got := lessonCapture(t, l)
			path := filepath.Join("..", "fixtures", "annotated", l.name+".pcapng")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test ./annotate -update writes it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s is not what ftpdiag writes today: go test ./annotate -run TestLessonCaptures -update rewrites it", path)
			}
		})
	}
}

// lessonCapture writes a lesson's annotated capture, its inputs named as
// in fixtures/captures (not by their path, so that it does not depend on
// where the repository is).
func lessonCapture(t *testing.T, l lesson) []byte {
	t.Helper()
	var in []analyze.Input
	for _, name := range l.files {
		f, err := os.Open(captures + name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		in = append(in, analyze.Input{Name: name, Reader: f})
	}
	a, err := analyze.Run(context.Background(), in, analyze.Options{Tracker: ftpflow.Config{KeepLog: true}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := Write(context.Background(), in, a, &buf, Options{Lesson: true}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestLessonsLinked checks that fixtures/README.md links every annotated
// lesson capture, and that every annotated capture is a lesson's.
func TestLessonsLinked(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "fixtures", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, l := range lessonCaptures {
		names[l.name+".pcapng"] = true
		link := fmt.Sprintf("(annotated/%s.pcapng)", l.name)
		if !bytes.Contains(readme, []byte(link)) {
			t.Errorf("fixtures/README.md has no link %s", link)
		}
	}
	files, err := filepath.Glob(filepath.Join("..", "fixtures", "annotated", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !names[filepath.Base(f)] {
			t.Errorf("%s is no lesson's annotated capture (lessonCaptures)", f)
		}
	}
}
