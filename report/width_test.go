package report

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"ftpdiag/ftpflow"
)

// widthCaptures are the fixtures whose narrow reports are kept as golden
// files: an IPv4 NAT failure with three hosts, and IPv6 with EPRT.
var widthCaptures = []string{
	"02-nat-pasv-curl-follow-client.pcap",
	"08-ipv6-eprt-vsftpd-lftp-client.pcap",
	"12-synthetic-pasv-in-use-425.pcap",
}

// TestGoldenWidth keeps the --explain report of each width capture at 80
// and 100 columns under testdata/golden/<capture>.w<N>.explain.txt (go
// test ./report -run Golden -update rewrites them).
func TestGoldenWidth(t *testing.T) {
	for _, name := range widthCaptures[:2] {
		a := analyseFile(t, filepath.Join("../fixtures/captures", name), nil)
		for _, width := range []int{80, 100} {
			var got bytes.Buffer
			if err := WriteText(&got, a, TextOptions{Explain: true, Width: width}); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata/golden", fmt.Sprintf("%s.w%d.explain.txt", strings.TrimSuffix(name, ".pcap"), width))
			if *update {
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("golden file missing (go test ./report -run Golden -update writes it): %v", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("output differs from %s:\n%s", golden, firstDiff(string(want), got.String()))
			}
		}
	}
}

var addressPattern = regexp.MustCompile(`\b\d{1,3}(\.\d{1,3}){3}\b|\b[0-9a-f]{1,4}(:[0-9a-f]{0,4}){2,7}\b`)

// TestTextFitsWidth: at 80 and 100 columns every line of the report fits,
// but for the Wireshark filters, kept whole to be copied; no line ends
// with a piece of an address (wrapping never cuts one); every address of
// the unlimited report still appears whole. Unlimited, the same report
// is wider than 100 columns (else the test would prove nothing).
func TestTextFitsWidth(t *testing.T) {
	for _, name := range widthCaptures {
		a := analyseFile(t, filepath.Join("../fixtures/captures", name), nil)
		var wide bytes.Buffer
		if err := WriteText(&wide, a, TextOptions{Explain: true}); err != nil {
			t.Fatal(err)
		}
		if widest(wide.String()) <= 100 {
			t.Fatalf("%s: the unlimited report is only %d columns", name, widest(wide.String()))
		}
		addrs := map[string]bool{}
		for _, m := range addressPattern.FindAllString(wide.String(), -1) {
			if _, err := netip.ParseAddr(m); err == nil {
				addrs[m] = true
			}
		}
		for _, width := range []int{80, 100} {
			var b bytes.Buffer
			if err := WriteText(&b, a, TextOptions{Explain: true, Width: width}); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			for i, line := range strings.Split(out, "\n") {
				if n := columns(line); n > width && !strings.HasPrefix(line, "    Wireshark: ") {
					t.Errorf("%s at %d: line %d is %d columns: %q", name, width, i+1, n, line)
				}
				last := strings.Trim(line, " │|")
				if f := strings.Fields(last); len(f) > 0 {
					last = strings.TrimRight(f[len(f)-1], ",")
				}
				for addr := range addrs {
					if len(last) >= 4 && last != addr && strings.HasPrefix(addr, last) {
						t.Errorf("%s at %d: line %d ends with a piece of %s: %q", name, width, i+1, addr, line)
					}
				}
			}
			for addr := range addrs {
				if !regexp.MustCompile(`(^|[^0-9a-f.:])` + regexp.QuoteMeta(addr) + `($|[^0-9a-f.:])`).MatchString(out) {
					t.Errorf("%s at %d: %s no longer appears whole", name, width, addr)
				}
			}
		}
	}
}

func widest(s string) int {
	n := 0
	for _, line := range strings.Split(s, "\n") {
		n = max(n, columns(line))
	}
	return n
}

// TestWidthChoice: --width wins (0: no limit), then COLUMNS, then 100
// for what is not a terminal; absurdly narrow widths are raised.
func TestWidthChoice(t *testing.T) {
	var buf bytes.Buffer
	tests := []struct {
		columns string
		flag    int
		want    int
	}{
		{"", -1, DefaultWidth},
		{"", 0, 0},
		{"", 120, 120},
		{"", 5, minWidth},
		{"90", -1, 90},
		{"90", 0, 0},
		{"junk", -1, DefaultWidth},
	}
	for _, tc := range tests {
		t.Setenv("COLUMNS", tc.columns)
		if got := Width(&buf, tc.flag); got != tc.want {
			t.Errorf("COLUMNS=%q --width %d: %d, want %d", tc.columns, tc.flag, got, tc.want)
		}
	}
}

// TestWrapKeepsWords: wrapping breaks at spaces, never inside a word
// that fits, and keeps words joined by keep together.
func TestWrapKeepsWords(t *testing.T) {
	tests := []struct {
		in    string
		width int
		want  []string
	}{
		{"A:34206 > C:30004", 10, []string{"A:34206 >", "C:30004"}},
		{"[2001:db8::10]:50122 > [2001:db8::20]:21", 24, []string{"[2001:db8::10]:50122 >", "[2001:db8::20]:21"}},
		{"offer" + keep + "14, cmd" + keep + "16", 10, []string{"offer" + keep + "14,", "cmd" + keep + "16"}},
		{"incoming/a-very-long-directory/upload.bin", 20, []string{"incoming/", "a-very-long-", "directory/upload.bin"}},
		{"short", 0, []string{"short"}},
	}
	for _, tc := range tests {
		got := wrapLine(tc.in, tc.width)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("wrapLine(%q, %d) = %q, want %q", tc.in, tc.width, got, tc.want)
		}
	}
}

// TestFileNamesCutInTheMiddle: two ring-buffer files that differ only at
// the end stay distinct when the width cuts them, and are whole without a
// limit.
func TestFileNamesCutInTheMiddle(t *testing.T) {
	names := []string{"/var/captures/ftp-gateway-eth0-ring-buffer_00001_20261204185410.pcap", "/var/captures/ftp-gateway-eth0-ring-buffer_00002_20261204185411.pcap"}
	for _, width := range []int{0, 80} {
		tt := &textTable{header: []string{"File", "Format", "Link", "Packets", "Span", "Complete"}, cut: map[int]bool{0: true}}
		for _, n := range names {
			tt.rows = append(tt.rows, []any{n, "pcap", "ethernet", 21, "2026-11-26 02:59:41 UTC +3.001s", "yes"})
		}
		tw := &textWriter{width: width}
		tw.opt.Color = false
		var b bytes.Buffer
		tw.w = &b
		tw.renderFit(tt)
		out := b.String()
		for _, n := range names {
			tail := n[len(n)-12:]
			if !strings.Contains(out, tail) {
				t.Errorf("width %d: the end %q of %s is gone:\n%s", width, tail, n, out)
			}
			if width == 0 && !strings.Contains(out, n) {
				t.Errorf("no limit: %s is cut:\n%s", n, out)
			}
		}
		if width > 0 && (widest(out) > width || !strings.Contains(out, "…")) {
			t.Errorf("width %d: not cut to fit:\n%s", width, out)
		}
	}
}

// TestLadderCapped: past MaxLadderSteps steps, a ladder draws the first
// and last ones and those with a finding, and counts what it left out;
// All draws everything.
func TestLadderCapped(t *testing.T) {
	start := time.Unix(0, 0)
	var steps []Step
	for i := range 5000 {
		st := Step{Kind: StepControl, At: ftpflow.Event{Frame: i + 1, Time: start.Add(time.Duration(i) * time.Millisecond)}, From: 1, To: 0, Label: "227 Entering Passive Mode"}
		if i == 2500 {
			st.Findings = []string{"F1 pasv_address_mismatch"}
		}
		steps = append(steps, st)
	}
	tl := &Timeline{Lanes: []string{"198.51.100.10", "203.0.113.5"}, Steps: steps, Start: start}
	var capped, all bytes.Buffer
	newLadder(tl, 100, false).write(&capped)
	newLadder(tl, 100, true).write(&all)
	if n := strings.Count(all.String(), "\n"); n != 5001 {
		t.Errorf("all: %d lines, want 5001", n)
	}
	out := capped.String()
	if n := strings.Count(out, "\n"); n > MaxLadderSteps+10 {
		t.Errorf("capped: %d lines", n)
	}
	hidden := 0
	for _, m := range regexp.MustCompile(`(\d+) more exchanges not drawn`).FindAllStringSubmatch(out, -1) {
		var n int
		fmt.Sscan(m[1], &n)
		hidden += n
	}
	drawn := strings.Count(out, "227 Entering")
	if hidden+drawn != 5000 || !strings.Contains(out, "F1 pasv_address_mismatch") || !strings.Contains(out, " 5000  ") {
		t.Errorf("capped: %d drawn + %d counted, want 5000, with F1 and the last frame:\n%s", drawn, hidden, out)
	}
}

// TestLanesCapped: data connections to many hosts share one lane past
// MaxLanes, each step naming its host.
func TestLanesCapped(t *testing.T) {
	s := &ftpflow.Session{Client: netip.MustParseAddrPort("198.51.100.10:40000"), Server: netip.MustParseAddrPort("203.0.113.5:21"), Control: &ftpflow.Conn{}}
	b := &timelineBuilder{tl: &Timeline{Session: s, Lanes: []string{"198.51.100.10", "203.0.113.5"}}, s: s,
		laneOf: map[netip.Addr]int{s.Client.Addr(): 0, s.Server.Addr(): 1}}
	for i := range 2000 {
		b.lane(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}))
	}
	if len(b.tl.Lanes) != MaxLanes || b.tl.Lanes[MaxLanes-1] != otherHosts {
		t.Errorf("lanes %q", b.tl.Lanes)
	}
}
