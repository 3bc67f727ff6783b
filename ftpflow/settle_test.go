package ftpflow

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"ftpdiag/internal/simtrace"
	"ftpdiag/pcap"
)

// recordingSink notes when the tracker hands each session on, as the
// capture second at which it happened.
type recordingSink struct {
	tk     *Tracker
	start  time.Time
	events []string
}

func (r *recordingSink) Settled(s *Session) {
	r.events = append(r.events, fmt.Sprintf("settled %d at %ds", s.ID, int(r.tk.now.Sub(r.start).Seconds())))
}

func (r *recordingSink) Retired(s *Session) {
	if len(s.Transfers) > 0 && s.Transfers[0].Outcome != OutcomeCompleted {
		r.events = append(r.events, fmt.Sprintf("session %d retired unjudged", s.ID))
	}
	r.events = append(r.events, fmt.Sprintf("retired %d at %ds", s.ID, int(r.tk.now.Sub(r.start).Seconds())))
}

// trackWithSink feeds a trace to a tracker whose sink records when each
// session is handed on; the caller calls Finish.
func trackWithSink(tr *simtrace.Trace, start time.Time) (*Tracker, *recordingSink) {
	tk := NewTracker(Config{})
	sink := &recordingSink{tk: tk, start: start}
	tk.cfg.Sink = sink
	d := pcap.NewDecoder()
	for _, p := range tr.Packets {
		tk.Packet(p, d.Decode(p))
	}
	return tk, sink
}

// TestSessionsSettleAndRetire: sessions are handed on while the capture is
// read, once over for SettleAfter, and retired only when no open session
// to the same server overlaps them; the sessions and their outcomes are
// those a tracker without a sink returns.
func TestSessionsSettleAndRetire(t *testing.T) {
	tr := simtrace.New()
	start := tr.Now
	session := func(cli, srv string, dataPort int) *simtrace.Conv {
		c := tr.Login(cli, srv)
		c.Say(simtrace.Client, "PASV\r\n")
		c.Say(simtrace.Server, fmt.Sprintf("227 Entering Passive Mode (203,0,113,%s,%d,%d)\r\n", srv[len("203.0.113."):len(srv)-len(":21")], dataPort/256, dataPort%256))
		c.Say(simtrace.Client, "RETR f\r\n")
		d := tr.Conv(cli[:len(cli)-len(":40000")]+":50000", srv[:len(srv)-len(":21")]+fmt.Sprintf(":%d", dataPort)).Open()
		c.Say(simtrace.Server, "150 Opening BINARY mode data connection for f (2 bytes).\r\n")
		d.Say(simtrace.Server, "ok")
		d.Close(simtrace.Server)
		c.Say(simtrace.Server, "226 Transfer complete.\r\n")
		return c
	}
	tick := func(until time.Duration) {
		other := tr.Conv("198.51.100.99:33333", "192.0.2.1:443").Open()
		for tr.Now.Sub(start) < until {
			tr.Wait(500 * time.Millisecond)
			other.Say(simtrace.Client, "x")
		}
	}
	s1 := session("198.51.100.1:40000", "203.0.113.5:21", 50001) // t=0
	tick(3 * time.Second)
	s2 := session("198.51.100.2:40000", "203.0.113.5:21", 50002) // t=3, overlaps s1
	tick(4 * time.Second)
	s1.Close(simtrace.Client) // s1 ends at t=4
	s3 := session("198.51.100.3:40000", "203.0.113.6:21", 50003)
	s3.Close(simtrace.Client) // another server: nothing holds it back
	tick(30 * time.Second)
	s2.Close(simtrace.Client) // s2 ends at t=30
	tick(60 * time.Second)

	tk, sink := trackWithSink(tr, start)
	if r := tk.Finish(); len(r.Sessions) != 0 {
		t.Errorf("Finish returned %d sessions with a sink", len(r.Sessions))
	}
	want := []string{
		"settled 1 at 14s", "settled 3 at 14s", "retired 3 at 14s",
		"settled 2 at 40s", "retired 1 at 40s", "retired 2 at 40s",
	}
	if !slices.Equal(sink.events, want) {
		t.Errorf("events\n%q\nwant\n%q", sink.events, want)
	}
	batch := run(tr)
	if len(batch.Sessions) != 3 {
		t.Fatalf("%d sessions without a sink, want 3", len(batch.Sessions))
	}
	for i, s := range batch.Sessions {
		if s.ID != i+1 || s.Transfers[0].Outcome != OutcomeCompleted {
			t.Errorf("session %d: ID %d outcome %s", i+1, s.ID, s.Transfers[0].Outcome)
		}
	}
}

// TestOpenSessionHoldsBackOnlyWithPassivePorts: a session that stays open
// to the end holds back the sessions to its server that ended after it
// announced a passive port, not those that ended before, nor any while it
// only idles.
func TestOpenSessionHoldsBackOnlyWithPassivePorts(t *testing.T) {
	tr := simtrace.New()
	start := tr.Now
	idle := tr.Login("198.51.100.1:40000", "203.0.113.5:21") // never closes
	other := tr.Conv("198.51.100.99:33333", "192.0.2.1:443").Open()
	tick := func(d time.Duration) {
		for end := tr.Now.Add(d); tr.Now.Before(end); {
			tr.Wait(500 * time.Millisecond)
			other.Say(simtrace.Client, "x")
		}
	}
	short := func(cli string) {
		c := tr.Login(cli, "203.0.113.5:21")
		c.Say(simtrace.Client, "QUIT\r\n")
		c.Say(simtrace.Server, "221 Goodbye.\r\n")
		c.Close(simtrace.Client)
	}
	short("198.51.100.2:40000") // session 2: the idle session does not hold it
	tick(20 * time.Second)
	idle.Say(simtrace.Client, "PASV\r\n")
	idle.Say(simtrace.Server, "227 Entering Passive Mode (203,0,113,5,195,80).\r\n")
	short("198.51.100.3:40000") // session 3: ends while port 50000 is held
	tick(20 * time.Second)

	tk, sink := trackWithSink(tr, start)
	during := slices.Clone(sink.events)
	tk.Finish()
	if !slices.Contains(during, "retired 2 at 10s") || slices.ContainsFunc(during, func(e string) bool { return strings.HasPrefix(e, "retired 3") }) {
		t.Errorf("handed on while reading: %q", during)
	}
	if !slices.Contains(sink.events, "settled 3 at 30s") || !slices.Contains(sink.events, "retired 3 at 40s") {
		t.Errorf("events: %q", sink.events)
	}
}
