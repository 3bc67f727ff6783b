package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"ftpdiag/analyze"
)

// allKinds are the finding kinds ftpdiag can report.
var allKinds = []string{
	analyze.KindPASVAddressMismatch, analyze.KindPORTAddressMismatch, analyze.KindDataSYNUnanswered,
	analyze.KindDataSYNRefused, analyze.KindServerRefusedEndpoint, analyze.KindDataNotAttempted,
	analyze.KindDataFINWithoutData, analyze.KindDataReset, analyze.KindSlowDataConnect,
	analyze.KindTimeWaitReuse, analyze.KindPassivePortExhaustion, analyze.KindMTUBlackhole,
	analyze.KindControlEncrypted, analyze.KindNonstandardPort, analyze.KindTransferFailedReply,
	analyze.KindCaptureIncomplete, analyze.KindActiveSourcePort,
}

var catalogueRow = regexp.MustCompile("^\\| `([^`]+\\.pcap(?:ng)?)` \\| ([^|]+) \\| ([^|]+) \\| ([^|]+) \\|$")

// readCatalogue parses the index of fixtures/README.md: capture name to
// the findings it says ftpdiag reports ("kind (severity)").
func readCatalogue(t *testing.T) map[string][]string {
	t.Helper()
	f, err := os.Open(repoRoot + "/fixtures/README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = strings.HasPrefix(line, "## Index: every capture")
		}
		if !in {
			continue
		}
		m := catalogueRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		var kinds []string
		if s := strings.TrimSpace(m[4]); s != "nothing wrong" {
			for _, k := range strings.Split(s, ", ") {
				kinds = append(kinds, strings.TrimSpace(k))
			}
		}
		out[m[1]] = kinds
	}
	return out
}

// TestFixtureCatalogue compares ftpdiag's findings on every fixture with
// what the catalogue says, and checks the catalogue itself: every capture
// listed, every finding kind shown by at least one real capture and absent
// from another, and no warning or error on the sessions that work.
func TestFixtureCatalogue(t *testing.T) {
	want := readCatalogue(t)
	caps := fixtureCaptures(t)
	if len(want) != len(caps) {
		t.Errorf("the catalogue lists %d captures, fixtures/captures holds %d", len(want), len(caps))
	}
	seen := map[string]int{}
	for _, c := range caps {
		name := filepath.Base(c.path)
		exp, ok := want[name]
		if !ok {
			t.Errorf("%s is not in the fixtures/README.md index", name)
			continue
		}
		out, _ := runCLIWant(t, exitOK, "--format", "json", "--fail-on", "never", c.path)
		var doc struct {
			Findings []struct{ Kind, Severity string }
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range doc.Findings {
			got = append(got, f.Kind+" ("+f.Severity+")")
		}
		slices.Sort(got)
		got = slices.Compact(got)
		if !slices.Equal(got, exp) {
			t.Errorf("%s: ftpdiag reports %q, the catalogue says %q", name, got, exp)
		}
		for _, k := range got {
			kind := strings.Fields(k)[0]
			if !strings.Contains(name, "synthetic") && !strings.Contains(name, "fake") {
				seen[kind]++
			}
		}
		if strings.HasPrefix(name, "01-") || strings.HasPrefix(name, "08-") || strings.Contains(name, "sequential") || strings.Contains(name, "empty-file") {
			for _, k := range got {
				if !strings.HasSuffix(k, "(info)") {
					t.Errorf("%s: a session that works has %s", name, k)
				}
			}
		}
	}
	for _, k := range allKinds {
		if seen[k] == 0 {
			t.Errorf("no real fixture shows %s", k)
		}
		if seen[k] == len(caps) {
			t.Errorf("%s fires on every fixture", k)
		}
	}
}

// cleanCorpus lists corpus captures of sessions that work (TRUTH.md):
// ftpdiag must report no warning and no error on them.
var cleanCorpus = []string{
	"suricata-verify/ftp-download-active_input.pcap", "suricata-verify/ftp-download-passive_input.pcap",
	"suricata-verify/ftp-upload-active_input.pcap", "suricata-verify/ftp-upload-passive_input.pcap",
	"suricata-verify/ruletype-firewall-116-ftp-all-data-ipv4_input.pcap", "suricata-verify/ruletype-firewall-117-ftp-all-data-ipv6_input.pcap",
	"suricata-verify/ruletype-firewall-118-ftp-stou-no-filename-active_input.pcap", "suricata-verify/bug-4877_input.pcap",
	"suricata-verify/output-eve-ftp-data_input.pcap", "suricata-verify/ftp-active-mode.pcap", "suricata-verify/ftp-passive-mode.pcap",
	"suricata-verify/filestore-v2.7-stream-depth_input.pcap", "suricata-verify/ftp-epsv_input.pcap", "suricata-verify/bug-3519_input.pcap",
	"zeek/ipv4.pcap", "zeek/ipv6.pcap", "zeek/retr.pcap", "zeek/ipv6-retr-samba.pcap", "zeek/ftp-with-numbers-in-filename.pcap",
	"zeek/pe-single.pcap", "zeek/bigtransfer.pcap", "ndpi/ftp.pcap", "chrissanders-packets/tickedoffdeveloper.pcapng",
	"chrissanders-packets/wrongdissector.pcapng", "protolens/ftp_pasv.pcap",
}

// TestCleanCorpusHasNoWarnings: sessions that work, in other projects'
// captures, get no warning and no error.
func TestCleanCorpusHasNoWarnings(t *testing.T) {
	corpusCaptures(t)
	for _, name := range cleanCorpus {
		out, _ := runCLIWant(t, exitOK, "--format", "json", "--fail-on", "never", filepath.Join(corpusDir, name))
		var doc struct {
			Findings []struct{ Kind, Severity string }
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		for _, f := range doc.Findings {
			if f.Severity != "info" {
				t.Errorf("%s: %s %s on sessions that work", name, f.Severity, f.Kind)
			}
		}
	}
}
