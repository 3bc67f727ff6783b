package main

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"ftpdiag"
	"ftpdiag/analyze"
	"ftpdiag/pcap"
)

// TestAnnotateTshark writes annotated captures with --annotate
// --annotate-lesson and has Wireshark read them back: every packet has the
// input's timestamp, lengths, bytes (MD5 per frame) and encapsulation, on
// an interface of its own per input interface (which the pcap package
// finds at the input's link type and timestamp resolution), with the
// input's comments first; every frame a finding cites carries the
// finding's comments, findable with the filter the section header gives;
// an input's section comments come before ours. Inputs: pcap at micro- and nanoseconds, a
// pcapng with two interfaces of two link types, gzip, two files merged,
// and pcapng files whose packets already carry comments (the committed
// annotated lessons themselves).
func TestAnnotateTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but tshark is not installed (.ci/run installs it)")
		}
		t.Skip("skipping: tshark is not installed (apt-get install tshark)")
	}
	fx := repoRoot + "/fixtures/captures/"
	dir := t.TempDir()
	nano := filepath.Join(dir, "nano.pcap")
	writeNano(t, fx+"03-pasv-rejected-ftplib-client.pcap", nano)
	ng := filepath.Join(dir, "two-interfaces.pcapng")
	writeTwoInterfaces(t, ng, fx+"04-active-client-firewall-curl-client.pcap", fx+"15-any-interface-sll2-server.pcap")
	gz := filepath.Join(dir, "lan.pcap.gz")
	writeGzip(t, fx+"05-masq-port-lan-address-client.pcap", gz)
	edited := filepath.Join(dir, "edited.pcapng")
	writeEditcapComments(t, fx+"02-nat-pasv-curl-follow-client.pcap", edited)
	cases := map[string][]string{
		"pcap micro":        {fx + "09-read-error-vsftpd-curl-client.pcap"},
		"pcap nano":         {nano},
		"pcapng interfaces": {ng},
		"gzip":              {gz},
		"merged":            {fx + "02-nat-pasv-curl-follow-client.pcap", fx + "02-nat-pasv-curl-follow-server.pcap"},
		"already commented": {repoRoot + "/fixtures/annotated/13-synthetic-windows-timewait-425.pcapng"},
		"editcap comments":  {edited},
	}
	for name, files := range cases {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.pcapng")
			args := append([]string{"--annotate", out, "--annotate-lesson", "--fail-on", "never", "-q"}, files...)
			if _, errOut, code := runCLI(t, args...); code != exitOK || !strings.Contains(errOut, "wrote "+out) {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			want := inputRows(t, tshark, files)
			comments := checkRows(t, files, want, tsharkRows(t, tshark, out, rowFields...))
			checkInterfaces(t, files, out)
			if name == "already commented" || name == "editcap comments" {
				checkKeptComments(t, want, comments)
				checkSectionComments(t, files[0], out)
			}
			number := map[[2]int]int{}
			for i, w := range want {
				number[[2]int{w.input, w.frame}] = i + 1
			}
			a := cliAnalysis(t, files)
			for i, f := range a.Findings {
				var frames []int
				for _, fr := range citedFrames(f) {
					n := number[[2]int{sessionInput(a, f.Session), fr}]
					frames = append(frames, n)
					if !strings.Contains(comments[n], f.ID+" "+strings.ToUpper(f.Severity.String())+" "+f.Kind+": ") ||
						!strings.Contains(comments[n], f.ID+": ") {
						t.Errorf("%s cites frame %d (%d in the output), whose comments are %q", f.ID, fr, n, comments[n])
					}
				}
				if i > 0 {
					continue // one filter per capture: tshark takes its time
				}
				filter := fmt.Sprintf(`frame.comment matches "^%s[: ]"`, f.ID)
				var shown []int
				for _, line := range tsharkRows(t, tshark, out, "-Y", filter, "frame.number") {
					n, _ := strconv.Atoi(line)
					shown = append(shown, n)
				}
				slices.Sort(frames)
				if frames = slices.Compact(frames); !slices.Equal(shown, frames) {
					t.Errorf("%s: %s shows frames %v, want %v", f.ID, filter, shown, frames)
				}
			}
		})
	}
}

// rowFields are the fields tshark shows of every frame: time, lengths,
// bytes (MD5), link type (as Wireshark's encapsulation), then the
// interface and comments, which the output may number and extend.
var rowFields = []string{"frame.time_epoch", "frame.len", "frame.cap_len", "frame.md5_hash", "frame.encap_type", "frame.interface_id", "frame.comment"}

// row is one input frame as tshark shows it.
type row struct {
	input, frame int
	sec, ns      int64
	fields       string // time, lengths, MD5, encapsulation
	iface        int    // the input's interface
	comments     string // the input's comments, joined by "|"
}

// inputRows are the input frames in the order the analysis reads them
// (merged in time order), as tshark shows them.
func inputRows(t *testing.T, tshark string, files []string) []row {
	t.Helper()
	var want []row
	for i, f := range files {
		for j, line := range tsharkRows(t, tshark, f, rowFields...) {
			cols := strings.Split(line, "\t")
			if len(cols) != len(rowFields) {
				t.Fatalf("%s: tshark row %q", f, line)
			}
			sec, frac, _ := strings.Cut(cols[0], ".")
			s, _ := strconv.ParseInt(sec, 10, 64)
			ns, _ := strconv.ParseInt(frac, 10, 64)
			iface, _ := strconv.Atoi(cols[5]) // empty for a pcap file: its one interface
			want = append(want, row{i, j + 1, s, ns, strings.Join(cols[:5], "\t"), iface, cols[6]})
		}
	}
	slices.SortStableFunc(want, func(a, b row) int {
		return cmp.Or(cmp.Compare(a.sec, b.sec), cmp.Compare(a.ns, b.ns), cmp.Compare(a.input, b.input))
	})
	return want
}

// checkRows compares the output's frames, as tshark shows them, with the
// input's: the same time, lengths, bytes and encapsulation; each input
// interface as one output interface, numbered in order of first use; the
// input's comments first. It returns each output frame's comments, by
// frame number.
func checkRows(t *testing.T, files []string, want []row, got []string) map[int]string {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("tshark reads %d frames, want %d", len(got), len(want))
	}
	ifaces := map[[2]int]int{}
	comments := map[int]string{}
	for i, w := range want {
		id, ok := ifaces[[2]int{w.input, w.iface}]
		if !ok {
			id = len(ifaces)
			ifaces[[2]int{w.input, w.iface}] = id
		}
		cols := strings.Split(got[i], "\t")
		if len(cols) != len(rowFields) || strings.Join(cols[:5], "\t") != w.fields {
			t.Errorf("frame %d: %q, want %q (frame %d of %s)", i+1, got[i], w.fields, w.frame, files[w.input])
			continue
		}
		if cols[5] != strconv.Itoa(id) {
			t.Errorf("frame %d: interface %s, want %d (interface %d of %s)", i+1, cols[5], id, w.iface, files[w.input])
		}
		if c := cols[6]; w.comments != "" && c != w.comments && !strings.HasPrefix(c, w.comments+"|") {
			t.Errorf("frame %d: comments %q do not begin with the input's %q (frame %d of %s)", i+1, c, w.comments, w.frame, files[w.input])
		}
		comments[i+1] = cols[6]
	}
	return comments
}

// checkKeptComments checks, for an input whose frames have comments,
// that some have and that ours follow them on some frames.
func checkKeptComments(t *testing.T, want []row, got map[int]string) {
	t.Helper()
	commented, extended := 0, 0
	for i, w := range want {
		if w.comments == "" {
			continue
		}
		commented++
		if len(got[i+1]) > len(w.comments) {
			extended++
		}
	}
	if commented == 0 || extended == 0 {
		t.Errorf("%d input frames with comments, %d of them with ours after theirs: want some of each", commented, extended)
	}
}

// checkSectionComments checks with capinfos that the output's section
// header has the input's section comments first.
func checkSectionComments(t *testing.T, in, out string) {
	t.Helper()
	capinfos, err := exec.LookPath("capinfos")
	if err != nil {
		t.Fatal("tshark is installed but not capinfos")
	}
	read := func(path string) []string {
		b, err := exec.Command(capinfos, "-k", path).Output()
		if err != nil {
			t.Fatalf("capinfos -k %s: %v", path, err)
		}
		var cs []string
		for _, line := range strings.Split(string(b), "\n") {
			if c, ok := strings.CutPrefix(line, "Capture comment:"); ok {
				cs = append(cs, strings.TrimSpace(c))
			}
		}
		return cs
	}
	want, got := read(in), read(out)
	if len(want) == 0 || len(got) <= len(want) || !slices.Equal(got[:len(want)], want) {
		t.Errorf("section comments %q, want the input's %q first, then ours", got, want)
	}
}

// checkInterfaces reads the inputs and the output with the pcap package
// and checks that every packet's output interface has its input
// interface's link type, timestamp resolution (if_tsresol), snapshot
// length and offset, and that the output has one interface per input
// interface used.
func checkInterfaces(t *testing.T, files []string, out string) {
	t.Helper()
	var rs []*pcap.Reader
	for _, f := range files {
		r, err := pcap.OpenSequential(f)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		rs = append(rs, r)
	}
	or, err := pcap.OpenSequential(out)
	if err != nil {
		t.Fatal(err)
	}
	defer or.Close()
	m := pcap.NewMerger(rs...)
	used := map[[2]int]int{}
	for n := 1; ; n++ {
		p, err := m.Next()
		q, qerr := or.Next()
		if err != nil || qerr != nil {
			if err != io.EOF || qerr != io.EOF {
				t.Fatalf("packet %d: input %v, output %v", n, err, qerr)
			}
			break
		}
		key := [2]int{p.Input, p.Interface}
		if id, ok := used[key]; ok {
			if id != q.Interface {
				t.Fatalf("packet %d: interface %d, where earlier packets of the same input interface were on %d", n, q.Interface, id)
			}
			continue
		}
		used[key] = q.Interface
		in, got := rs[p.Input].Interface(p.Interface), or.Interface(q.Interface)
		if got.LinkType != in.LinkType || got.Resolution != in.Resolution || got.Snaplen != in.Snaplen || got.Offset != in.Offset {
			t.Errorf("packet %d: interface %d is %v at if_tsresol %#x (snaplen %d, offset %d), want %v at %#x (%d, %d) as interface %d of %s",
				n, q.Interface, got.LinkType, got.Resolution, got.Snaplen, got.Offset, in.LinkType, in.Resolution, in.Snaplen, in.Offset, p.Interface, files[p.Input])
		}
	}
	if ids := slices.Sorted(maps.Values(used)); len(ids) == 0 || ids[len(ids)-1] != len(used)-1 || len(slices.Compact(ids)) != len(used) {
		t.Errorf("output interfaces %v for %d input interfaces", ids, len(used))
	}
}

// TestAnnotateShowPasswords checks --show-passwords: with it the lesson's
// note on the PASS frame shows the password, without it the note masks
// it and no comment has it.
func TestAnnotateShowPasswords(t *testing.T) {
	capture := repoRoot + "/fixtures/captures/01-passive-pureftpd-ftplib-client.pcap"
	for _, c := range []struct {
		flags []string
		want  string // the lesson's comment on the PASS frame begins so
	}{
		{nil, "PASS **** — "},
		{[]string{"--show-passwords"}, "PASS fixture-pass — "},
	} {
		t.Run(strings.Join(append([]string{"lesson"}, c.flags...), " "), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.pcapng")
			args := append(append([]string{"--annotate", out, "--annotate-lesson", "--fail-on", "never", "-q"}, c.flags...), capture)
			if _, errOut, code := runCLI(t, args...); code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			r, err := pcap.OpenSequential(out)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			noted, shown := false, false
			for p, err := r.Next(); err == nil; p, err = r.Next() {
				for _, cm := range p.Comments {
					noted = noted || strings.HasPrefix(cm, c.want)
					shown = shown || strings.Contains(cm, "fixture-pass")
				}
			}
			if !noted {
				t.Errorf("no comment begins %q", c.want)
			}
			if want := len(c.flags) > 0; shown != want {
				t.Errorf("the password in a comment: %v, want %v", shown, want)
			}
		})
	}
}

// TestAnnotateUsage checks the flag's refusals and write failures.
func TestAnnotateUsage(t *testing.T) {
	capture := repoRoot + "/fixtures/captures/02-nat-pasv-curl-follow-client.pcap"
	if _, errOut, code := runCLI(t, "--annotate-lesson", capture); code != exitUsage || !strings.Contains(errOut, "--annotate-lesson needs --annotate") {
		t.Errorf("--annotate-lesson alone: exit %d, %s", code, errOut)
	}
	data, err := os.ReadFile(capture)
	if err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	code := run(context.Background(), []string{"--annotate", t.TempDir() + "/x.pcapng", "--fail-on", "never", "-"}, bytes.NewReader(data), io.Discard, &errb)
	if code != exitOutput || !strings.Contains(errb.String(), "not standard input") {
		t.Errorf("--annotate on standard input: exit %d, %s", code, errb.String())
	}
	if _, errOut, code := runCLI(t, "--annotate", t.TempDir()+"/missing/x.pcapng", "--fail-on", "never", capture); code != exitOutput || !strings.Contains(errOut, "--annotate") {
		t.Errorf("--annotate into a missing directory: exit %d, %s", code, errOut)
	}
	dir := t.TempDir()
	fx := repoRoot + "/fixtures/captures/"
	if _, errOut, code := runCLI(t, "--each", "--annotate", dir, "--fail-on", "never", capture, fx+"03-pasv-rejected-ftplib-client.pcap"); code != exitOK {
		t.Errorf("--each --annotate DIR: exit %d, %s", code, errOut)
	}
	for _, name := range []string{"02-nat-pasv-curl-follow-client.pcap.pcapng", "03-pasv-rejected-ftplib-client.pcap.pcapng"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("--each --annotate DIR: %v", err)
		}
	}
}

// citedFrames lists every frame a finding's references name.
func citedFrames(f analyze.Finding) []int {
	r := f.Refs
	fs := []int{r.Offer.Frame, r.CommandFrame, r.RequestFrame, r.AcceptedFrame}
	fs = append(append(append(fs, r.ReplyFrames...), r.Frames...), r.ICMPFrames...)
	return slices.DeleteFunc(fs, func(n int) bool { return n == 0 })
}

// sessionInput is the input a session's control connection began in.
// cliAnalysis analyses files as the CLI does by default: compared as
// views of the same traffic when they are, joined into one session per
// real session.
func cliAnalysis(t *testing.T, files []string) *analyze.Analysis {
	t.Helper()
	ctx := context.Background()
	open := func(context.Context) ([]analyze.Input, func(), error) { return analyze.Files(files...), nil, nil }
	views, _ := ftpdiag.CompareViews(ctx, len(files), open, ftpdiag.ViewsAuto)
	res, _ := ftpdiag.Run(ctx, analyze.Files(files...), analyze.Options{}, ftpdiag.Outputs{KeepSessions: true, Views: views})
	return res.Analysis
}

func sessionInput(a *analyze.Analysis, id int) int {
	for _, s := range a.Sessions {
		if s.ID == id {
			return s.Control.First.Input
		}
	}
	return 0
}

// tsharkRows runs tshark -T fields on a file: args are options (up to
// and including a -Y filter) and then fields.
func tsharkRows(t *testing.T, tshark, file string, args ...string) []string {
	t.Helper()
	cmd := []string{"-r", file, "-o", "frame.generate_md5_hash:TRUE", "-T", "fields", "-E", "aggregator=|"}
	if len(args) > 1 && args[0] == "-Y" {
		cmd, args = append(cmd, args[:2]...), args[2:]
	}
	for _, f := range args {
		cmd = append(cmd, "-e", f)
	}
	out, err := exec.Command(tshark, cmd...).Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", strings.Join(cmd, " "), err)
	}
	s := strings.TrimRight(string(out), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// writeEditcapComments has editcap write a pcapng copy of a capture with
// comments of an analyst: on the section header, and on frames 3 and 15
// (the control SYN and the data SYN of 02-nat-pasv-curl-follow-client,
// frame 15 cited by its finding).
func writeEditcapComments(t *testing.T, from, to string) {
	t.Helper()
	editcap, err := exec.LookPath("editcap")
	if err != nil {
		t.Fatal("tshark is installed but not editcap")
	}
	args := []string{"-F", "pcapng", "--capture-comment", "analyst: taken on the client", "--capture-comment", "analyst: second comment",
		"-a", "3:analyst: the control connection", "-a", "15:analyst: why no answer?", from, to}
	if b, err := exec.Command(editcap, args...).CombinedOutput(); err != nil {
		t.Fatalf("editcap %s: %v: %s", strings.Join(args, " "), err, b)
	}
}

// writeNano rewrites a pcap at nanoseconds, each time moved by 123 ns.
func writeNano(t *testing.T, from, to string) {
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
	for p, err := r.Next(); err == nil; p, err = r.Next() {
		ci := gopacket.CaptureInfo{Timestamp: p.Timestamp.Add(123), CaptureLength: len(p.Data), Length: p.OriginalLength}
		if err := w.WritePacket(ci, p.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(to, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeTwoInterfaces merges two captures into a pcapng of two interfaces,
// the second at 2^-20 s.
func writeTwoInterfaces(t *testing.T, to string, from ...string) {
	var rs []*pcap.Reader
	var buf bytes.Buffer
	w, err := pcap.NewNgWriter(&buf, pcap.SectionHeader{Application: "ftpdiag test"})
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range from {
		r, err := pcap.OpenSequential(f)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		rs = append(rs, r)
		ifc := r.Interface(0)
		if i == 1 {
			ifc.Resolution = 0x80 | 20
		}
		if _, err := w.AddInterface(ifc); err != nil {
			t.Fatal(err)
		}
	}
	m := pcap.NewMerger(rs...)
	for p, err := m.Next(); err == nil; p, err = m.Next() {
		if err := w.WritePacket(p.Input, p.Timestamp, p.Data, p.OriginalLength); err != nil {
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

func writeGzip(t *testing.T, from, to string) {
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
