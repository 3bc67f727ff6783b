package analyze

import (
	"context"
	"encoding/json"
	"fmt"
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
	otherTraffic(tr)(d)
	for i, p := range tr.Packets {
		p.Frame = last.Frame + i + 1
	}
	return tr.Packets
}

// otherTraffic returns a function that lets capture time pass in tr with
// a packet of an unrelated connection every half second, so that the
// tracker's clock runs.
func otherTraffic(tr *simtrace.Trace) func(d time.Duration) {
	c := tr.Conv("198.51.100.250:33333", "192.0.2.250:443").Open()
	return func(d time.Duration) {
		for end := tr.Now.Add(d); tr.Now.Before(end); {
			tr.Wait(500 * time.Millisecond)
			c.Say(simtrace.Client, "x")
		}
	}
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

// wholeCapture makes Run settle no session before the end of the capture:
// the reference a streamed analysis must equal.
var wholeCapture = Options{Tracker: ftpflow.Config{SettleAfter: 1000 * time.Hour}}

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

// TestSessionsHandedOnWhileReading: on every fixture, followed by three
// minutes of other traffic (longer than a data connection left open is
// waited for), every session that can (see canRetireEarly) reaches
// Options.Sessions while the capture is still being read, and the sessions
// and findings are exactly those of the fixture read whole first (a
// tracker that settles nothing before the end). This is what lets the JSON
// report be written without holding the whole analysis.
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
			alone, err := Packets(context.Background(), &source{ps: ps}, wholeCapture)
			if err != nil {
				t.Fatal(err)
			}
			withTail := append(slices.Clip(ps), quietTail(ps, 3*time.Minute)...)
			src := &source{ps: withTail}
			var got []*ftpflow.Session
			var findings []Finding
			late := 0
			a, err := Packets(context.Background(), src, Options{Sessions: func(s *ftpflow.Session, fs []Finding) {
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

// TestLateDataAfterControlClosed: the client left (control connection
// closed) while TCP still retries on a data connection, with back-off gaps
// longer than SettleAfter, until a RST ends it. The session must wait for
// it and conclude as from the whole capture, not from a connection cut off
// at the first long gap.
func TestLateDataAfterControlClosed(t *testing.T) {
	segment := strings.Repeat("x", 1400)
	tests := []struct {
		name string
		// data plays the data connection after the control one closed;
		// wait lets capture time pass with other traffic.
		data func(d *simtrace.Conv, wait func(time.Duration))
		want ftpflow.Outcome
	}{
		{"established, the server retransmits then resets", func(d *simtrace.Conv, wait func(time.Duration)) {
			seq := d.Seq[simtrace.Server] - uint32(len(segment))
			for _, gap := range []time.Duration{15, 30, 60} {
				wait(gap * time.Second)
				d.Seq[simtrace.Server] = seq
				d.Packet(simtrace.Server, "PA", segment)
			}
			wait(30 * time.Second)
			d.Packet(simtrace.Server, "RA", "")
		}, ftpflow.OutcomeReset},
		{"SYNs retried at doubling intervals, then refused", func(d *simtrace.Conv, wait func(time.Duration)) {
			for _, gap := range []time.Duration{8, 16, 32} {
				wait(gap * time.Second)
				d.Packet(simtrace.Client, "S", "")
				d.Seq[simtrace.Client]--
			}
			wait(time.Second)
			d.Packet(simtrace.Server, "RA", "")
		}, ftpflow.OutcomeSYNRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := simtrace.New()
			c := tr.Login(cli, srv)
			c.Say(simtrace.Client, "PASV\r\n")
			c.Say(simtrace.Server, "227 Entering Passive Mode (203,0,113,5,195,80).\r\n")
			c.Say(simtrace.Client, "RETR f\r\n")
			d := tr.Conv("198.51.100.10:40001", "203.0.113.5:50000")
			if tt.want == ftpflow.OutcomeReset {
				d.Open()
				c.Say(simtrace.Server, "150 Opening BINARY mode data connection for f (100000 bytes).\r\n")
				d.Say(simtrace.Server, segment)
			} else {
				for _, gap := range []time.Duration{1, 2, 4} {
					d.Packet(simtrace.Client, "S", "")
					d.Seq[simtrace.Client]--
					tr.Wait(gap * time.Second)
				}
			}
			c.Say(simtrace.Client, "QUIT\r\n")
			c.Close(simtrace.Client)
			wait := otherTraffic(tr)
			tt.data(d, wait)
			wait(3 * time.Minute)

			whole, err := Packets(context.Background(), &source{ps: tr.Packets}, wholeCapture)
			if err != nil {
				t.Fatal(err)
			}
			var got *ftpflow.Session
			if _, err := Packets(context.Background(), &source{ps: tr.Packets}, Options{Sessions: func(s *ftpflow.Session, _ []Finding) { got = s }}); err != nil {
				t.Fatal(err)
			}
			if got == nil || len(whole.Sessions) != 1 {
				t.Fatal("no session")
			}
			w, g := whole.Sessions[0].Transfers[0], got.Transfers[0]
			if w.Outcome != tt.want || g.Outcome != w.Outcome || g.Data.SYNCount != w.Data.SYNCount || g.Data.Retransmissions != w.Data.Retransmissions {
				t.Errorf("streamed: %s, %d SYNs, %v retransmissions; whole capture: %s, %d, %v",
					g.Outcome, g.Data.SYNCount, g.Data.Retransmissions, w.Outcome, w.Data.SYNCount, w.Data.Retransmissions)
			}
		})
	}
}

// TestSessionBound: without Options.Sessions the analysis keeps at most
// Tracker.MaxSessions sessions and counts the others, whether they were
// open at once or one after the other.
func TestSessionBound(t *testing.T) {
	tr := simtrace.New()
	for i := range 3 {
		c := tr.Login(fmt.Sprintf("198.51.100.10:%d", 40000+i), srv)
		c.Say(simtrace.Client, "QUIT\r\n")
		c.Say(simtrace.Server, "221 Goodbye.\r\n")
		c.Close(simtrace.Client)
		tr.Wait(time.Minute)
	}
	a, err := Packets(context.Background(), &source{ps: tr.Packets}, Options{Tracker: ftpflow.Config{MaxSessions: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Sessions) != 1 || a.Stats.DroppedSessions != 2 {
		t.Errorf("%d sessions kept, %d dropped; want 1 and 2", len(a.Sessions), a.Stats.DroppedSessions)
	}
}
