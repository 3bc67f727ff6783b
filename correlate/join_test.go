package correlate

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"ftpdiag/analyze"
	"ftpdiag/ftpflow"
)

var t0 = time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)

// session builds a session of input as its own analysis numbers it, with
// a control connection from client to server beginning at frame first,
// sec seconds after t0.
func session(input, id int, client, server string, first int, sec float64, transfers ...string) *ftpflow.Session {
	c := netip.MustParseAddrPort(client)
	s := netip.MustParseAddrPort(server)
	start := ftpflow.Event{Input: input, Frame: first, Time: t0.Add(time.Duration(sec * float64(time.Second)))}
	out := &ftpflow.Session{ID: id, Client: c, Server: s, Control: &ftpflow.Conn{Client: c, Server: s, First: start, Last: start}}
	for i, cmd := range transfers {
		out.Transfers = append(out.Transfers, &ftpflow.Transfer{ID: i + 1, Command: cmd})
	}
	return out
}

func finding(kind string, sev analyze.Severity, conf analyze.Confidence, sess, transfer int, summary string) analyze.Finding {
	return analyze.Finding{Kind: kind, Severity: sev, Confidence: conf, Session: sess, Transfer: transfer, Summary: summary,
		Explanation: "why", Evidence: map[string]any{}}
}

// matched is a control connection seen in inputs a and b.
func matched(a, b *ftpflow.Session) ConnMatch {
	ea := Endpoints{Client: a.Client, Server: a.Server, ClientKnown: true, FirstFrame: a.Control.First.Frame}
	eb := Endpoints{Client: b.Client, Server: b.Server, ClientKnown: true, FirstFrame: b.Control.First.Frame}
	return ConnMatch{InA: ea, InB: eb, NAT: natOf(ea, eb), Control: true}
}

// joined describes a joined analysis for comparison: each session as
// "id client>server [input:id:nat ...]", each finding as "id kind
// session/transfer severity confidence seen_in".
func joined(a *analyze.Analysis) string {
	var b strings.Builder
	for _, s := range a.Sessions {
		fmt.Fprintf(&b, "S%d %s>%s", s.ID, s.Client, s.Server)
		for _, v := range a.Views[s.ID] {
			fmt.Fprintf(&b, " %d:%d:%s", v.Input, v.ID, v.NAT)
		}
		b.WriteString("\n")
	}
	for _, f := range a.Findings {
		fmt.Fprintf(&b, "%s %s %d/%d %s %s %v\n", f.ID, f.Kind, f.Session, f.Transfer, f.Severity, f.Confidence, f.Evidence["seen_in"])
	}
	return b.String()
}

// TestJoin checks the join on its edge cases, with analyses and a
// comparison built by hand.
func TestJoin(t *testing.T) {
	tests := []struct {
		name  string
		build func() (*Result, []*analyze.Analysis)
		want  string
	}{{
		name: "destination NAT, one finding told by both views",
		build: func() (*Result, []*analyze.Analysis) {
			c := session(0, 1, "198.51.100.10:60572", "203.0.113.10:21", 3, 0)
			s := session(1, 1, "198.51.100.10:60572", "172.16.40.222:21", 3, 0)
			r := &Result{Mode: Views, Files: make([]File, 2), Pairs: []Pair{{A: 0, B: 1, Views: true, Conns: []ConnMatch{matched(c, s)}}}}
			return r, []*analyze.Analysis{
				{Sessions: []*ftpflow.Session{c}, Findings: []analyze.Finding{finding("pasv_address_mismatch", analyze.Error, analyze.Likely, 1, 0, "client's")}},
				{Sessions: []*ftpflow.Session{s}, Findings: []analyze.Finding{finding("pasv_address_mismatch", analyze.Error, analyze.Certain, 1, 0, "server's")}},
			}
		},
		want: "S1 198.51.100.10:60572>203.0.113.10:21 0:1:none 1:1:destination\n" +
			"F1 pasv_address_mismatch 1/0 error certain [0 1]\n",
	}, {
		name: "no NAT; a session one file alone saw stays on its own, numbered by time",
		build: func() (*Result, []*analyze.Analysis) {
			c1 := session(0, 1, "198.51.100.10:50000", "203.0.113.10:21", 3, 0)
			c2 := session(0, 2, "198.51.100.10:50002", "203.0.113.10:21", 40, 5)
			s1 := session(1, 1, "198.51.100.10:50000", "203.0.113.10:21", 1, 0)
			early := session(1, 2, "198.51.100.10:49000", "203.0.113.10:21", 2, -1)
			r := &Result{Mode: Views, Files: make([]File, 2), Pairs: []Pair{{A: 0, B: 1, Views: true, Conns: []ConnMatch{matched(c1, s1)}}}}
			return r, []*analyze.Analysis{
				{Sessions: []*ftpflow.Session{c1, c2}, Findings: []analyze.Finding{finding("data_reset", analyze.Error, analyze.Certain, 2, 0, "c2")}},
				{Sessions: []*ftpflow.Session{s1, early}, Findings: []analyze.Finding{
					finding("data_not_attempted", analyze.Warning, analyze.Likely, 2, 0, "early"),
					finding("control_half_open", analyze.Warning, analyze.Certain, 0, 0, "flood"),
				}},
			}
		},
		want: "S1 198.51.100.10:49000>203.0.113.10:21\n" +
			"S2 198.51.100.10:50000>203.0.113.10:21 0:1:none 1:1:none\n" +
			"S3 198.51.100.10:50002>203.0.113.10:21\n" +
			"F1 data_not_attempted 1/0 warning likely <nil>\n" +
			"F2 data_reset 3/0 error certain <nil>\n" +
			"F3 control_half_open 0/0 warning certain <nil>\n",
	}, {
		name: "three views: client, router, server; failure families and transfers mapped",
		build: func() (*Result, []*analyze.Analysis) {
			c := session(0, 1, "198.51.100.10:45170", "203.0.113.10:21", 3, 0, "LIST", "RETR")
			m := session(1, 1, "198.51.100.10:45170", "203.0.113.10:21", 3, 0, "LIST", "RETR")
			s := session(2, 1, "198.51.100.10:45170", "172.16.40.222:21", 3, 0, "LIST", "RETR")
			r := &Result{Mode: Views, Files: make([]File, 3), Pairs: []Pair{
				{A: 0, B: 1, Views: true, Conns: []ConnMatch{matched(c, m)}},
				{A: 0, B: 2, Views: true, Conns: []ConnMatch{matched(c, s)}},
				{A: 1, B: 2, Views: true, Conns: []ConnMatch{matched(m, s)}},
			}}
			return r, []*analyze.Analysis{
				{Sessions: []*ftpflow.Session{c}, Findings: []analyze.Finding{
					finding("data_syn_unanswered", analyze.Error, analyze.Certain, 1, 2, "client"),
					// Two failures of one view stay two.
					finding("data_syn_unanswered", analyze.Error, analyze.Certain, 1, 2, "client again"),
				}},
				{Sessions: []*ftpflow.Session{m}},
				{Sessions: []*ftpflow.Session{s}, Findings: []analyze.Finding{
					finding("data_not_attempted", analyze.Warning, analyze.Likely, 1, 2, "server"),
					finding("nonstandard_control_port", analyze.Info, analyze.Certain, 1, 0, "server only"),
				}},
			}
		},
		want: "S1 198.51.100.10:45170>203.0.113.10:21 0:1:none 1:1:none 2:1:destination\n" +
			"F1 data_syn_unanswered 1/2 error certain [0 2]\n" +
			"F2 data_syn_unanswered 1/2 error certain [0]\n" +
			"F3 nonstandard_control_port 1/0 info certain [2]\n",
	}, {
		name: "neither view tells where it was captured: the first input's is shown",
		build: func() (*Result, []*analyze.Analysis) {
			s := session(0, 1, "198.51.100.10:60572", "172.16.40.222:21", 3, 0, "RETR")
			c := session(1, 1, "198.51.100.10:60572", "203.0.113.10:21", 3, 0, "LIST")
			r := &Result{Mode: Views, Files: make([]File, 2), Pairs: []Pair{{A: 0, B: 1, Views: true, Conns: []ConnMatch{matched(s, c)}}}}
			return r, []*analyze.Analysis{
				{Sessions: []*ftpflow.Session{s}},
				// A different command at the same place: the other view's
				// transfer is not the shown one's.
				{Sessions: []*ftpflow.Session{c}, Findings: []analyze.Finding{finding("data_reset", analyze.Error, analyze.Certain, 1, 1, "client")}},
			}
		},
		want: "S1 198.51.100.10:60572>172.16.40.222:21 0:1:none 1:1:destination\n" +
			"F1 data_reset 1/0 error certain [1]\n",
	}, {
		name: "the 5-tuple used twice: the session beginning at the matched frame",
		build: func() (*Result, []*analyze.Analysis) {
			c1 := session(0, 1, "198.51.100.10:40000", "203.0.113.10:21", 3, 0)
			c2 := session(0, 2, "198.51.100.10:40000", "203.0.113.10:21", 90, 30)
			s1 := session(1, 1, "198.51.100.10:40000", "203.0.113.10:21", 2, 0)
			s2 := session(1, 2, "198.51.100.10:40000", "203.0.113.10:21", 70, 30)
			r := &Result{Mode: Views, Files: make([]File, 2), Pairs: []Pair{{A: 0, B: 1, Views: true, Conns: []ConnMatch{matched(c2, s2), matched(c1, s1)}}}}
			return r, []*analyze.Analysis{{Sessions: []*ftpflow.Session{c1, c2}}, {Sessions: []*ftpflow.Session{s1, s2}}}
		},
		want: "S1 198.51.100.10:40000>203.0.113.10:21 0:1:none 1:1:none\n" +
			"S2 198.51.100.10:40000>203.0.113.10:21 0:2:none 1:2:none\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, views := tt.build()
			if got := joined(Join(r, views)); got != tt.want {
				t.Errorf("got:\n%swant:\n%s", got, tt.want)
			}
		})
	}
}

// TestJoinable checks when analyses can be joined: every input a view of
// another.
func TestJoinable(t *testing.T) {
	two := []File{{}, {}}
	three := []File{{}, {}, {}}
	tests := []struct {
		name string
		r    *Result
		want bool
	}{
		{"nil", nil, false},
		{"separate", &Result{Mode: Separate, Files: two, Pairs: []Pair{{A: 0, B: 1}}}, false},
		{"a pair of views", &Result{Mode: Views, Files: two, Pairs: []Pair{{A: 0, B: 1, Views: true}}}, true},
		{"a third file shares nothing", &Result{Mode: Views, Files: three, Pairs: []Pair{{A: 0, B: 1, Views: true}, {A: 0, B: 2}, {A: 1, B: 2}}}, false},
		{"three views, one pair sharing nothing", &Result{Mode: Views, Files: three, Pairs: []Pair{{A: 0, B: 1, Views: true}, {A: 0, B: 2}, {A: 1, B: 2, Views: true}}}, true},
	}
	for _, tt := range tests {
		if got := Joinable(tt.r); got != tt.want {
			t.Errorf("%s: Joinable = %v; want %v", tt.name, got, tt.want)
		}
	}
}
