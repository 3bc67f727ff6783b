package analyze

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ftpdiag/ftpflow"
	"ftpdiag/internal/simtrace"
	"ftpdiag/pcap"
)

// readCapture returns every packet of a capture file, copied.
func readCapture(t *testing.T, path string) []*pcap.Packet {
	t.Helper()
	r, err := pcap.OpenSequential(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var ps []*pcap.Packet
	for {
		p, err := r.Next()
		if err != nil {
			return ps
		}
		c := *p
		c.Data = slices.Clone(p.Data)
		ps = append(ps, &c)
	}
}

// quietTail returns packets of an unrelated connection, one every half
// second for d after the last of ps: capture time passes, nothing FTP.
func quietTail(ps []*pcap.Packet, d time.Duration) []*pcap.Packet {
	last := ps[len(ps)-1]
	tr := simtrace.New()
	tr.Now = last.Timestamp
	c := tr.Conv("198.51.100.250:33333", "192.0.2.250:443").Open()
	for end := tr.Now.Add(d); tr.Now.Before(end); {
		tr.Wait(500 * time.Millisecond)
		c.Say(simtrace.Client, "x")
	}
	for i, p := range tr.Packets {
		p.Frame = last.Frame + i + 1
	}
	return tr.Packets
}

// findingsJSON encodes findings for comparison, without their IDs and in
// a fixed order: findings are numbered in the order sessions retire, which
// depends on when the capture lets each one go.
func findingsJSON(t *testing.T, fs []Finding) string {
	t.Helper()
	var out []string
	for _, f := range fs {
		f.ID = ""
		b, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

// canRetireEarly reports whether s can be handed on before the end of the
// capture: its control connection closed, and so did that of every session
// to the same server that announced a passive port, or was refused one,
// before s ended.
func canRetireEarly(s *ftpflow.Session, all []*ftpflow.Session) bool {
	if !s.Control.Closed() {
		return false
	}
	for _, x := range all {
		if x.Server.Addr() != s.Server.Addr() || x.Control.Closed() {
			continue
		}
		for _, o := range x.Offers {
			if o.Passive() && !o.Time.After(s.Control.Last.Time) {
				return false
			}
		}
		for _, r := range x.Refusals {
			if !r.Reply.Time.After(s.Control.Last.Time) {
				return false
			}
		}
	}
	return true
}

// TestSessionsHandedOnWhileReading: on every fixture, followed by a minute
// of other traffic, every session that can (see canRetireEarly) reaches
// Options.Sessions while the capture is still being read, and the sessions
// and findings are exactly those of the fixture analysed alone (where all
// sessions retire at its end). This is what lets the JSON report be written without holding the
// whole analysis.
func TestSessionsHandedOnWhileReading(t *testing.T) {
	paths, _ := filepath.Glob("../fixtures/captures/*.pcap*")
	if len(paths) == 0 {
		t.Fatal("no fixtures in ../fixtures/captures")
	}
	early := 0
	defer func() {
		if early == 0 {
			t.Error("no session was handed on before the end of its capture")
		}
	}()
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			ps := readCapture(t, path)
			if len(ps) == 0 {
				t.Skip("empty capture")
			}
			alone, err := Run(&source{ps: ps}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			withTail := append(slices.Clip(ps), quietTail(ps, time.Minute)...)
			src := &source{ps: withTail}
			var got []*ftpflow.Session
			var findings []Finding
			late := 0
			a, err := Run(src, Options{Sessions: func(s *ftpflow.Session, fs []Finding) {
				switch {
				case src.i < len(withTail):
					early++
				case canRetireEarly(s, alone.Sessions):
					late++
				}
				got = append(got, s)
				findings = append(findings, fs...)
			}})
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Sessions) != 0 {
				t.Errorf("Analysis.Sessions holds %d sessions with a Sessions callback", len(a.Sessions))
			}
			if late > 0 {
				t.Errorf("%d of %d sessions handed on only at the end of the capture", late, len(got))
			}
			findings = append(findings, a.Findings...)
			slices.SortFunc(got, func(x, y *ftpflow.Session) int { return x.ID - y.ID })
			if len(got) != len(alone.Sessions) {
				t.Fatalf("%d sessions handed on, %d alone", len(got), len(alone.Sessions))
			}
			for i, s := range got {
				x := alone.Sessions[i]
				if s.ID != x.ID || s.Client != x.Client || len(s.Transfers) != len(x.Transfers) {
					t.Errorf("session %d: %v %d transfers, alone %d %v %d", s.ID, s.Client, len(s.Transfers), x.ID, x.Client, len(x.Transfers))
				}
			}
			if g, w := findingsJSON(t, findings), findingsJSON(t, alone.Findings); g != w {
				t.Errorf("findings differ\n got: %s\nwant: %s", g, w)
			}
		})
	}
}
