package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// tsharkFields are the announced-endpoint fields tshark decodes, as
// (address field, alternative address field, port field) triples.
var tsharkFields = [][3]string{
	{"ftp.passive.ip", "", "ftp.passive.port"},
	{"ftp.active.cip", "", "ftp.active.port"},
	{"ftp.eprt.ip", "ftp.eprt.ipv6", "ftp.eprt.port"},
	{"ftp.epsv.ip", "ftp.epsv.ipv6", "ftp.epsv.port"},
}

// knownTsharkDifferences lists captures where tshark and ftpdiag are known
// to disagree, and why. Keys are capture paths from the repository root
// (capture.shown); the test fails if one of them starts agreeing, so the
// list stays true.
var knownTsharkDifferences = map[string]string{
	"fixtures/captures/05-port-privileged-proftpd-client.pcap": "PORT 198,51,100,10,0,0 names port 0: tshark decodes it as an endpoint; " +
		"ftpdiag keeps it in invalid_offers (nothing can connect to port 0) and reports the server's refusal",
	"fixtures/captures/18-ftps-pasv-vsftpd-curl-client-dsb.pcapng": "the key log embedded in the pcapng decrypts the control connection for both, " +
		"but tshark 4.0 does not follow curl's AUTH SSL into TLS and decodes no reply; ftpdiag reads the two 229 replies " +
		"(keylog_test.go checks them against tshark on a copy that says AUTH TLS)",
}

// TestAnnouncedEndpointsMatchTshark compares every announced endpoint
// ftpdiag finds (frame, address, port) with tshark's FTP dissector on every
// fixture and corpus capture. Non-standard control ports are decoded as FTP
// in tshark with -d, as an analyst would.
func TestAnnouncedEndpointsMatchTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but tshark is not installed (.ci/run installs it)")
		}
		t.Skip("skipping: tshark is not installed (apt-get install tshark)")
	}
	var cs []capture
	cs = append(cs, fixtureCaptures(t)...)
	t.Run("fixtures", func(t *testing.T) { compareWithTshark(t, tshark, cs) })
	t.Run("corpus", func(t *testing.T) { compareWithTshark(t, tshark, corpusCaptures(t)) })
}

func compareWithTshark(t *testing.T, tshark string, cs []capture) {
	for _, c := range cs {
		t.Run(filepath.Base(c.golden), func(t *testing.T) {
			out, errOut, code := runCLI(t, "--format", "json", "--fail-on", "never", c.path)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var doc struct {
				Sessions []struct {
					Server string
					Offers []struct {
						Frame int
						IP    string
						Port  int
					}
				}
			}
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatal(err)
			}
			var ours []string
			ports := map[string]bool{}
			for _, s := range doc.Sessions {
				if p := s.Server[strings.LastIndexByte(s.Server, ':')+1:]; p != "21" {
					ports[p] = true
				}
				for _, o := range s.Offers {
					ours = append(ours, fmt.Sprintf("%d %s %d", o.Frame, o.IP, o.Port))
				}
			}
			theirs := tsharkEndpoints(t, tshark, c.path, ports)
			slices.Sort(ours)
			ours = slices.Compact(ours)
			why, known := knownTsharkDifferences[c.shown]
			same := slices.Equal(ours, theirs)
			switch {
			case same && known:
				t.Errorf("tshark now agrees; remove the known difference (%s)", why)
			case !same && !known:
				t.Errorf("announced endpoints differ from tshark's\nftpdiag only: %v\ntshark only:  %v", minus(ours, theirs), minus(theirs, ours))
			}
			if len(ours) > 0 {
				t.Logf("%d endpoints agree", len(ours))
			}
		})
	}
}

func tsharkEndpoints(t *testing.T, tshark, path string, ports map[string]bool) []string {
	t.Helper()
	args := []string{"-r", path, "-n"}
	for p := range ports {
		args = append(args, "-d", "tcp.port=="+p+",ftp")
	}
	var filter []string
	args = append(args, "-T", "fields", "-E", "occurrence=a", "-e", "frame.number")
	for _, f := range tsharkFields {
		args = append(args, "-e", f[0])
		if f[1] != "" {
			args = append(args, "-e", f[1])
		}
		args = append(args, "-e", f[2])
		filter = append(filter, f[2])
	}
	args = append(args, "-Y", strings.Join(filter, " || "))
	cmd := exec.Command(tshark, args...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %v: %v", args, err)
	}
	var eps []string
	for _, line := range strings.Split(strings.TrimRight(string(out), "\r\n"), "\n") {
		if line == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		frame := cols[0]
		i := 1
		for _, f := range tsharkFields {
			addr := cols[i]
			i++
			if f[1] != "" {
				if addr == "" {
					addr = cols[i]
				}
				i++
			}
			port := cols[i]
			i++
			if port == "" {
				continue
			}
			addrs, portList := strings.Split(addr, ","), strings.Split(port, ",")
			for k, p := range portList {
				n, err := strconv.Atoi(p)
				if err != nil {
					t.Fatalf("tshark port %q: %v", p, err)
				}
				a := addrs[min(k, len(addrs)-1)]
				eps = append(eps, fmt.Sprintf("%s %s %d", frame, a, n))
			}
		}
	}
	slices.Sort(eps)
	return slices.Compact(eps)
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// TestWiresharkFiltersSelectEvidence checks that every finding's display
// filter is valid for tshark and selects at least one packet of the capture.
func TestWiresharkFiltersSelectEvidence(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but tshark is not installed")
		}
		t.Skip("skipping: tshark is not installed")
	}
	cs := fixtureCaptures(t)
	if _, err := os.Stat(corpusDir); err == nil {
		cs = append(cs, corpusCaptures(t)...)
	}
	for _, c := range cs {
		out, _, _ := runCLI(t, "--format", "json", "--fail-on", "never", c.path)
		var doc struct {
			Sessions []struct{ Server string }
			Findings []struct {
				ID, Kind string
				Filter   string `json:"wireshark_filter"`
			}
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		args := []string{"-r", c.path, "-n"}
		for _, s := range doc.Sessions {
			if p := s.Server[strings.LastIndexByte(s.Server, ':')+1:]; p != "21" {
				args = append(args, "-d", "tcp.port=="+p+",ftp")
			}
		}
		for _, f := range doc.Findings {
			if f.Filter == "" {
				t.Errorf("%s %s %s: no Wireshark filter", c.path, f.ID, f.Kind)
				continue
			}
			got, err := exec.Command(tshark, append(args, "-Y", f.Filter, "-T", "fields", "-e", "frame.number")...).CombinedOutput()
			lines := strings.Fields(string(got))
			if err != nil || len(lines) == 0 {
				t.Errorf("%s %s %s: filter %q selects nothing or is invalid: %v %s", c.path, f.ID, f.Kind, f.Filter, err, got)
			}
		}
	}
}

// findingKinds lists every finding kind analyze can report.
var findingKinds = []string{
	"active_mode_source_port", "analysis_partial", "capture_damaged", "capture_incomplete", "control_channel_encrypted",
	"control_half_open", "data_fin_without_data", "data_not_attempted", "data_reset", "data_syn_refused",
	"data_syn_unanswered", "mtu_blackhole", "nonstandard_control_port", "passive_port_exhaustion", "passive_port_range",
	"pasv_address_mismatch", "port_address_mismatch", "server_refused_data_endpoint", "slow_data_connect",
	"timewait_tuple_reuse", "transfer_failed_reply",
}

// knownFilterGaps lists the kinds whose filters are known to miss some of
// their evidence frames, and why; the test fails when one of them starts
// selecting all of it, so that the list stays true.
var knownFilterGaps = map[string]string{}

// TestWiresharkFiltersSelectAllEvidence: on every fixture, each finding's
// display filter, run by tshark, selects every frame its evidence cites
// (every evidence member whose name holds "frame"). It logs the kinds no
// fixture produces, which this check therefore does not cover.
func TestWiresharkFiltersSelectAllEvidence(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but tshark is not installed")
		}
		t.Skip("skipping: tshark is not installed")
	}
	seen := map[string]bool{}
	gaps := map[string][]string{}
	for _, c := range fixtureCaptures(t) {
		out, _, _ := runCLI(t, "--format", "json", "--fail-on", "never", c.path)
		var doc struct {
			Sessions []struct{ Server string }
			Findings []struct {
				ID, Kind string
				Evidence map[string]any
				Filter   string `json:"wireshark_filter"`
			}
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		args := decodeAsFTP(c.path, doc.Sessions)
		for _, f := range doc.Findings {
			seen[f.Kind] = true
			want := evidenceFrames("", f.Evidence, nil)
			if f.Filter == "" || len(want) == 0 {
				continue
			}
			got, err := exec.Command(tshark, append(args, "-Y", f.Filter, "-T", "fields", "-e", "frame.number")...).Output()
			if err != nil {
				t.Errorf("%s %s %s: tshark rejects %q: %v", c.shown, f.ID, f.Kind, f.Filter, err)
				continue
			}
			selected := strings.Fields(string(got))
			var missed []string
			for _, fr := range want {
				if !slices.Contains(selected, strconv.Itoa(fr)) {
					missed = append(missed, strconv.Itoa(fr))
				}
			}
			if len(missed) > 0 {
				gaps[f.Kind] = append(gaps[f.Kind], fmt.Sprintf("%s %s: filter %q misses evidence frames %v", c.shown, f.ID, f.Filter, missed))
			}
		}
	}
	for _, kind := range findingKinds {
		why, known := knownFilterGaps[kind]
		switch {
		case !seen[kind]:
			t.Logf("no fixture produces %s: its filter is not checked", kind)
		case len(gaps[kind]) > 0 && !known:
			t.Errorf("%s:\n%s", kind, strings.Join(gaps[kind], "\n"))
		case len(gaps[kind]) == 0 && known:
			t.Errorf("%s: every filter now selects all its evidence; remove the known gap (%s)", kind, why)
		case known:
			t.Logf("known gap, %s (%s): %d finding(s), first: %s", kind, why, len(gaps[kind]), gaps[kind][0])
		}
	}
}

// decodeAsFTP returns tshark's arguments to read path with every
// session's non-standard control port decoded as FTP.
func decodeAsFTP(path string, sessions []struct{ Server string }) []string {
	args := []string{"-r", path, "-n"}
	for _, s := range sessions {
		if p := s.Server[strings.LastIndexByte(s.Server, ':')+1:]; p != "21" {
			args = append(args, "-d", "tcp.port=="+p+",ftp")
		}
	}
	return args
}

// evidenceFrames collects the frame numbers an evidence value cites: the
// numbers under every member whose name holds "frame", at any depth.
func evidenceFrames(key string, v any, out []int) []int {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			out = evidenceFrames(k, e, out)
		}
	case []any:
		for _, e := range x {
			out = evidenceFrames(key, e, out)
		}
	case float64:
		if strings.Contains(key, "frame") && x > 0 {
			out = append(out, int(x))
		}
	}
	return out
}
