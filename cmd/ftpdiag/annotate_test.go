package main

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"fmt"
	"io"
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

	"ftpdiag/analyze"
	"ftpdiag/pcap"
)

// TestAnnotateTshark writes annotated captures with --annotate
// --annotate-lesson and has Wireshark read them back: every packet has the
// input's timestamp, lengths and bytes (MD5 per frame), and every frame a
// finding cites carries the finding's comments, findable with the filter
// the section header gives. Inputs: pcap at micro- and nanoseconds, a
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
	cases := map[string][]string{
		"pcap micro":        {fx + "09-read-error-vsftpd-curl-client.pcap"},
		"pcap nano":         {nano},
		"pcapng interfaces": {ng},
		"gzip":              {gz},
		"merged":            {fx + "02-nat-pasv-curl-follow-client.pcap", fx + "02-nat-pasv-curl-follow-server.pcap"},
		"already commented": {repoRoot + "/fixtures/annotated/13-synthetic-windows-timewait-425.pcapng"},
	}
	for name, files := range cases {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.pcapng")
			args := append([]string{"--annotate", out, "--annotate-lesson", "--fail-on", "never", "-q"}, files...)
			if _, errOut, code := runCLI(t, args...); code != exitOK || !strings.Contains(errOut, "wrote "+out) {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			// The frames in the order the analysis reads them, as tshark
			// shows them, against the output's.
			type row struct {
				input, frame int
				sec, ns      int64
				fields       string // time, lengths, MD5
			}
			var want []row
			for i, f := range files {
				for j, line := range tsharkRows(t, tshark, f, "frame.time_epoch", "frame.len", "frame.cap_len", "frame.md5_hash") {
					sec, frac, _ := strings.Cut(strings.Fields(line)[0], ".")
					s, _ := strconv.ParseInt(sec, 10, 64)
					ns, _ := strconv.ParseInt(frac, 10, 64)
					want = append(want, row{i, j + 1, s, ns, line})
				}
			}
			slices.SortStableFunc(want, func(a, b row) int {
				return cmp.Or(cmp.Compare(a.sec, b.sec), cmp.Compare(a.ns, b.ns), cmp.Compare(a.input, b.input))
			})
			got := tsharkRows(t, tshark, out, "frame.time_epoch", "frame.len", "frame.cap_len", "frame.md5_hash", "frame.comment")
			if len(got) != len(want) {
				t.Fatalf("tshark reads %d frames, want %d", len(got), len(want))
			}
			number := map[[2]int]int{}
			comments := map[int]string{}
			for i, w := range want {
				number[[2]int{w.input, w.frame}] = i + 1
				f := strings.SplitN(got[i], "\t", 5)
				if len(f) < 5 || strings.Join(f[:4], "\t") != w.fields {
					t.Errorf("frame %d: %q, want %q (frame %d of %s)", i+1, got[i], w.fields, w.frame, files[w.input])
					continue
				}
				comments[i+1] = f[4]
			}
			a, _ := analyze.Run(context.Background(), analyze.Files(files...), analyze.Options{})
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
