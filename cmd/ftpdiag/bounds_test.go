package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"ftpdiag/internal/simtrace"
)

// boundFormats are the output formats whose exit status and findings must
// agree when a bound drops sessions.
var boundFormats = []string{"text", "json", "html"}

// jsonReport is the part of the JSON report the bound tests read.
type jsonReport struct {
	Sessions []struct {
		ID        int    `json:"id"`
		Client    string `json:"client"`
		Transfers []struct {
			Data *struct {
				Client string `json:"client"`
				Bytes  int64  `json:"bytes"`
			} `json:"data_connection"`
		} `json:"transfers"`
	} `json:"sessions"`
	Findings []struct {
		Kind     string         `json:"kind"`
		Severity string         `json:"severity"`
		Session  int            `json:"session"`
		Summary  string         `json:"summary"`
		Evidence map[string]any `json:"evidence"`
		Filter   string         `json:"wireshark_filter"`
	} `json:"findings"`
}

func decodeReport(t *testing.T, out string) jsonReport {
	t.Helper()
	var r jsonReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("decoding the JSON report: %v\n%s", err, out)
	}
	return r
}

// TestMaxSessionsNeverMixesSessions: with --max-sessions 1 on three
// concurrent sessions, the session kept must keep its own data connection
// (not the one a dropped session's client made to the same passive port),
// and the dropped sessions must show as an analysis_partial error, with
// the same exit status in every format (issue 13).
func TestMaxSessionsNeverMixesSessions(t *testing.T) {
	capture := repoRoot + "/fixtures/captures/12-synthetic-pasv-in-use-425.pcap"
	out, errOut, code := runCLI(t, "--max-sessions", "1", "--format", "json", capture)
	if code != exitFindings {
		t.Errorf("json: exit %d, want %d; stderr:\n%s", code, exitFindings, errOut)
	}
	r := decodeReport(t, out)
	if len(r.Sessions) != 1 {
		t.Fatalf("%d sessions, want 1", len(r.Sessions))
	}
	s := r.Sessions[0]
	for _, tr := range s.Transfers {
		if tr.Data != nil && !strings.HasPrefix(tr.Data.Client, "198.51.100.21:") {
			t.Errorf("session %d (client %s) got data connection from %s (%d bytes): another session's", s.ID, s.Client, tr.Data.Client, tr.Data.Bytes)
		}
	}
	partial := 0
	for _, f := range r.Findings {
		if f.Kind == "analysis_partial" {
			partial++
			if f.Severity != "error" {
				t.Errorf("analysis_partial is %s, want error", f.Severity)
			}
		}
		if strings.Contains(f.Summary, "198.51.100.10") {
			t.Errorf("finding %s cites the dropped session's client: %s", f.Kind, f.Summary)
		}
	}
	if partial != 1 {
		t.Errorf("%d analysis_partial findings, want 1", partial)
	}
	for _, format := range []string{"text", "html"} {
		out, _, c := runCLI(t, "--max-sessions", "1", "--format", format, capture)
		if c != code {
			t.Errorf("%s: exit %d, json %d", format, c, code)
		}
		if !strings.Contains(out, "analysis_partial") {
			t.Errorf("%s report does not name analysis_partial", format)
		}
	}
}

// TestMaxSessionsExitStatusSameInEveryFormat: sessions one after another
// fit --max-sessions 1 in the JSON stream, but the text and HTML reports
// keep only one: the error finding of the second must still decide the
// exit status, and the report must say a session was left out (issue 20).
func TestMaxSessionsExitStatusSameInEveryFormat(t *testing.T) {
	tr := simtrace.New()
	c := tr.Login("198.51.100.10:40000", "203.0.113.5:21")
	c.Say(simtrace.Client, "QUIT\r\n")
	c.Say(simtrace.Server, "221 Goodbye.\r\n")
	c.Close(simtrace.Server)
	tr.Wait(time.Minute)
	c = tr.Login("198.51.100.10:40002", "203.0.113.5:21")
	c.Say(simtrace.Client, "PASV\r\n")
	c.Say(simtrace.Server, "227 Entering Passive Mode (203,0,113,5,195,81).\r\n")
	c.Say(simtrace.Client, "LIST\r\n")
	d := tr.Conv("198.51.100.10:41002", "203.0.113.5:50001")
	for i := range 3 {
		d.Packet(simtrace.Client, "S", "")
		d.Seq[simtrace.Client]--
		tr.Wait(time.Duration(1<<i) * time.Second)
	}
	c.Say(simtrace.Server, "425 Failed to establish connection.\r\n")
	path := writeTrace(t, t.TempDir(), "sequential.pcap", tr)
	for _, format := range boundFormats {
		out, errOut, code := runCLI(t, "--max-sessions", "1", "--format", format, path)
		if code != exitFindings {
			t.Errorf("%s: exit %d, want %d; stderr:\n%s", format, code, exitFindings, errOut)
		}
		if format != "json" && !strings.Contains(out, "analysis_partial") {
			t.Errorf("%s report does not say a session was left out", format)
		}
	}
}

// TestSYNFloodHoldsNoSessionSlots: half-open connections to port 21 (a SYN
// flood from many addresses) must not take the session slots of the real
// session after them, which fails: its error decides the exit status, it
// is the only session listed, and the flood is reported as such (issue 20).
func TestSYNFloodHoldsNoSessionSlots(t *testing.T) {
	tr := simtrace.New()
	for i := range 300 {
		c := tr.Conv(fmt.Sprintf("192.0.2.%d:%d", 1+i%200, 1024+i), "203.0.113.5:21")
		c.Packet(simtrace.Client, "S", "")
	}
	tr.Wait(time.Second)
	c := tr.Login("198.51.100.10:40000", "203.0.113.5:21")
	c.Say(simtrace.Client, "PASV\r\n")
	c.Say(simtrace.Server, "227 Entering Passive Mode (203,0,113,5,195,80).\r\n")
	c.Say(simtrace.Client, "LIST\r\n")
	d := tr.Conv("198.51.100.10:41000", "203.0.113.5:50000")
	for i := range 3 {
		d.Packet(simtrace.Client, "S", "")
		d.Seq[simtrace.Client]--
		tr.Wait(time.Duration(1<<i) * time.Second)
	}
	c.Say(simtrace.Server, "425 Failed to establish connection.\r\n")
	path := writeTrace(t, t.TempDir(), "flood.pcap", tr)
	for _, format := range boundFormats {
		out, errOut, code := runCLI(t, "--max-sessions", "100", "--format", format, path)
		if code != exitFindings {
			t.Errorf("%s: exit %d, want %d; stderr:\n%s", format, code, exitFindings, errOut)
		}
		if format != "json" {
			continue
		}
		r := decodeReport(t, out)
		if len(r.Sessions) != 1 || r.Sessions[0].Client != "198.51.100.10:40000" {
			t.Errorf("%d sessions, want only the real one", len(r.Sessions))
		}
		kinds := map[string]string{}
		for _, f := range r.Findings {
			kinds[f.Kind] = f.Severity
			if f.Kind == "control_half_open" && (!strings.Contains(f.Summary, "SYN flood") || f.Evidence["count"] != 300.0) {
				t.Errorf("control_half_open: %s (count %v), want a SYN flood of 300", f.Summary, f.Evidence["count"])
			}
		}
		if kinds["control_half_open"] != "warning" || kinds["data_syn_unanswered"] != "error" || kinds["analysis_partial"] != "" {
			t.Errorf("findings %v, want control_half_open warning, data_syn_unanswered error, no analysis_partial", kinds)
		}
	}
}
