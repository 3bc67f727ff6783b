package report

import (
	"fmt"
	"io"
	"net/netip"
	"strings"

	"ftpdiag/analyze"
	"ftpdiag/correlate"
	"ftpdiag/ftpflow"
)

// View is one input that saw traffic another input saw too: where it was
// taken (the hosts on its side of the path) and its clock against the
// input it is compared with.
type View struct {
	Input int    `json:"input"`
	File  string `json:"file"`
	// Hosts are the hosts on this file's side of the path, as this file
	// shows their addresses.
	Hosts []string `json:"hosts"`
	// RelativeTo is the input whose clock ClockOffset is measured against
	// (the view itself for the first one, with offset 0).
	RelativeTo int `json:"relative_to"`
	// ClockOffset is this file's clock minus RelativeTo's, in seconds.
	ClockOffset float64 `json:"clock_offset"`
	// Vantage is where the file was captured: the side its sessions'
	// vantage points agree on (unknown when none tells or they disagree).
	Vantage Vantage `json:"vantage"`
}

// Correlation is what comparing the inputs packet by packet found
// (package correlate).
type Correlation struct {
	// Mode is "views" when inputs saw the same traffic from different
	// places, "separate" when they share nothing.
	Mode  string     `json:"mode"`
	Pairs []ViewPair `json:"pairs"`
}

// ViewPair compares inputs A and B.
type ViewPair struct {
	A     int  `json:"a"`
	B     int  `json:"b"`
	Views bool `json:"views"`
	// MatchedPackets counts the packets seen in both.
	MatchedPackets int `json:"matched_packets"`
	// ClockOffset is B's clock minus A's, in seconds; Delay the one-way
	// delay from A's capture point to B's (null when packets matched in
	// one direction only).
	ClockOffset float64  `json:"clock_offset"`
	Delay       *float64 `json:"delay"`
	SideA       []string `json:"side_a"`
	SideB       []string `json:"side_b"`
	// Connections seen in both, and in one only.
	Connections []ViewConn `json:"connections"`
	Lone        []LoneConn `json:"lone_connections"`
	// Omitted counts connections left out beyond the reporting cap.
	Omitted int `json:"omitted"`
}

// ViewConn is a connection seen in both files of a pair.
type ViewConn struct {
	// InA and InB are "client > server" as each file shows it, with the
	// connection's first frame there.
	InA        string `json:"in_a"`
	InB        string `json:"in_b"`
	FirstFrame [2]int `json:"first_frames"`
	// NAT is "none", "source", "destination" or "both".
	NAT        string   `json:"nat"`
	Control    bool     `json:"control"`
	MatchedBy  []string `json:"matched_by"`
	Packets    int      `json:"matched_packets"`
	Unanswered bool     `json:"unanswered"`
	Vanished   []Lost   `json:"vanished"`
	Rewritten  []Rewrit `json:"rewritten"`
	Options    []OptChg `json:"options_changed"`
}

// LoneConn is a connection seen in one input of a pair only.
type LoneConn struct {
	Input      int    `json:"input"`
	Conn       string `json:"connection"`
	FirstFrame int    `json:"first_frame"`
	Vanished   []Lost `json:"vanished"`
}

// Lost is a group of packets of one direction seen in one input only,
// with what that means.
type Lost struct {
	Kind    string `json:"kind"`
	Seen    int    `json:"seen_in"`
	Missing int    `json:"missing_in"`
	From    string `json:"from"`
	To      string `json:"to"`
	Packets int    `json:"packets"`
	Bytes   int    `json:"bytes"`
	Frames  []int  `json:"frames"`
	First   string `json:"first"`
	Last    string `json:"last"`
	// LargestPassed and SmallestLost are payload sizes (full_size_lost).
	LargestPassed int    `json:"largest_passed,omitempty"`
	SmallestLost  int    `json:"smallest_lost,omitempty"`
	Meaning       string `json:"meaning"`
}

// Rewrit is a payload rewritten between A and B (an FTP helper changing
// PORT or 227).
type Rewrit struct {
	From     string `json:"from"`
	To       string `json:"to"`
	FrameA   int    `json:"frame_a"`
	FrameB   int    `json:"frame_b"`
	TextA    string `json:"text_a"`
	TextB    string `json:"text_b"`
	LenA     int    `json:"len_a"`
	LenB     int    `json:"len_b"`
	SeqShift int64  `json:"seq_shift"`
}

// OptChg is a SYN or SYN-ACK whose MSS or window differs between A and B
// (MSS clamping).
type OptChg struct {
	From    string `json:"from"`
	To      string `json:"to"`
	FrameA  int    `json:"frame_a"`
	FrameB  int    `json:"frame_b"`
	MSSA    int    `json:"mss_a"`
	MSSB    int    `json:"mss_b"`
	WindowA int    `json:"window_a"`
	WindowB int    `json:"window_b"`
}

// BuildViews turns a correlation into the document's "views" and
// "correlation" members, each file's vantage read from the sessions of
// the analysis; both are nil when r is nil.
func BuildViews(r *correlate.Result, sessions []*ftpflow.Session) ([]View, *Correlation) {
	return buildViews(r, fileVantages{}.addAll(sessions))
}

func buildViews(r *correlate.Result, fv fileVantages) ([]View, *Correlation) {
	if r == nil {
		return nil, nil
	}
	c := &Correlation{Mode: r.Mode.String(), Pairs: []ViewPair{}}
	views := []View{}
	placed := map[int]bool{}
	for _, p := range r.Pairs {
		c.Pairs = append(c.Pairs, buildPair(r, p))
		if !p.Views {
			continue
		}
		if !placed[p.A] {
			placed[p.A] = true
			views = append(views, View{Input: p.A, File: Clean(r.Files[p.A].Name), Hosts: addrs(p.SideA), RelativeTo: p.A, Vantage: fv.of(p.A)})
		}
		if !placed[p.B] {
			placed[p.B] = true
			views = append(views, View{Input: p.B, File: Clean(r.Files[p.B].Name), Hosts: addrs(p.SideB), RelativeTo: p.A, ClockOffset: p.Offset.Seconds(), Vantage: fv.of(p.B)})
		}
	}
	return views, c
}

func buildPair(r *correlate.Result, p correlate.Pair) ViewPair {
	vp := ViewPair{A: p.A, B: p.B, Views: p.Views, MatchedPackets: p.MatchedPackets, ClockOffset: p.Offset.Seconds(),
		SideA: addrs(p.SideA), SideB: addrs(p.SideB), Connections: []ViewConn{}, Lone: []LoneConn{}, Omitted: p.Omitted}
	if p.DelayKnown {
		d := p.Delay.Seconds()
		vp.Delay = &d
	}
	for _, c := range p.Conns {
		vc := ViewConn{
			InA: c.InA.Client.String() + " > " + c.InA.Server.String(), InB: c.InB.Client.String() + " > " + c.InB.Server.String(),
			FirstFrame: [2]int{c.InA.FirstFrame, c.InB.FirstFrame}, NAT: c.NAT.String(), Control: c.Control,
			MatchedBy: c.MatchedBy, Packets: c.Packets, Unanswered: c.Unanswered,
			Vanished: buildLosses(r, c.Losses), Rewritten: []Rewrit{}, Options: []OptChg{},
		}
		if vc.MatchedBy == nil {
			vc.MatchedBy = []string{}
		}
		for _, w := range c.Rewrites {
			vc.Rewritten = append(vc.Rewritten, Rewrit{From: w.Src.String(), To: w.Dst.String(), FrameA: w.FrameA, FrameB: w.FrameB,
				TextA: Clean(strings.TrimRight(w.TextA, "\r\n")), TextB: Clean(strings.TrimRight(w.TextB, "\r\n")),
				LenA: w.LenA, LenB: w.LenB, SeqShift: w.SeqShift})
		}
		for _, o := range c.Options {
			vc.Options = append(vc.Options, OptChg{From: o.Src.String(), To: o.Dst.String(), FrameA: o.FrameA, FrameB: o.FrameB,
				MSSA: o.MSSA, MSSB: o.MSSB, WindowA: o.WindowA, WindowB: o.WindowB})
		}
		vp.Connections = append(vp.Connections, vc)
	}
	for _, l := range p.Lone {
		vp.Lone = append(vp.Lone, LoneConn{Input: l.Input, Conn: l.Conn.Client.String() + " > " + l.Conn.Server.String(),
			FirstFrame: l.Conn.FirstFrame, Vanished: buildLosses(r, l.Losses)})
	}
	return vp
}

func buildLosses(r *correlate.Result, ls []correlate.Loss) []Lost {
	out := []Lost{}
	for _, l := range ls {
		out = append(out, Lost{
			Kind: l.Kind.String(), Seen: l.Seen, Missing: l.Missing, From: l.Src.String(), To: l.Dst.String(),
			Packets: l.Packets, Bytes: l.Bytes, Frames: l.Frames, First: stamp(l.First), Last: stamp(l.Last),
			LargestPassed: l.LargestPassed, SmallestLost: l.SmallestLost, Meaning: meaning(r, l),
		})
	}
	return out
}

// meaning says in words what a group of packets seen at one capture point
// only means.
func meaning(r *correlate.Result, l correlate.Loss) string {
	missing := "the other capture point"
	between := "between the two capture points"
	switch l.Kind {
	case correlate.LostSYN:
		return fmt.Sprintf("%s to %s never reached %s: dropped or not forwarded %s (a firewall, a NAT without a rule for this port, an address nobody routes there)",
			countOf(l.Packets, "SYN"), l.Dst, missing, between)
	case correlate.LostSYNACK:
		return fmt.Sprintf("the answer to the SYN never came back to %s: the return path drops it", missing)
	case correlate.LostFullSize:
		passed := fmt.Sprintf("smaller ones (up to %d bytes) passed", l.LargestPassed)
		if l.LargestPassed == 0 {
			passed = "small packets (handshake, acknowledgements) passed"
		}
		return fmt.Sprintf("full-size segments (%d bytes of payload and more) were lost while %s: a link %s has a smaller MTU and its ICMP 'fragmentation needed' does not reach the sender (a path MTU black hole); clamp the MSS or let ICMP through",
			l.SmallestLost, passed, between)
	case correlate.LostData:
		return fmt.Sprintf("%d bytes of data never reached %s: dropped %s", l.Bytes, missing, between)
	case correlate.LostFIN, correlate.LostRST, correlate.LostOther:
		return fmt.Sprintf("never reached %s: dropped %s", missing, between)
	case correlate.ForgedRST:
		return fmt.Sprintf("RSTs in the name of %s that its side never sent (%s does not have them): forged by a device %s (a firewall or IPS resetting the connection)",
			l.Src.Addr(), "the capture point on its side", between)
	case correlate.AnsweredBetween:
		return fmt.Sprintf("an answer in the name of %s that its side never sent: a device %s answered the SYN itself instead of forwarding it", l.Src, between)
	case correlate.Injected:
		return fmt.Sprintf("segments in the name of %s that its side never sent: made %s", l.Src, between)
	}
	return "seen in one file only; which side sent them is unknown"
}

func countOf(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func addrs(as []netip.Addr) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}

// WriteJSONViews writes the JSON document as WriteJSON does, with the
// "views" and "correlation" members of r (none when r is nil).
func WriteJSONViews(w io.Writer, a *analyze.Analysis, oneLine bool, r *correlate.Result) error {
	js := NewJSONStream(oneLine, 0)
	defer js.Close()
	js.SetViews(r)
	js.SetSessionViews(a.Views)
	for _, s := range a.Sessions {
		js.Session(s, nil)
	}
	return js.Finish(w, a)
}

// SetViews adds the "views" and "correlation" members to the document
// (after "findings"); nil adds nothing.
func (js *JSONStream) SetViews(r *correlate.Result) {
	if r == nil {
		js.after = nil
		return
	}
	js.after = func(jw *jsonWriter) {
		views, corr := buildViews(r, js.vantages)
		jw.field(1, "views", views)
		jw.field(1, "correlation", corr)
	}
}

// views writes the "Two views" section of the terminal report.
func (tw *textWriter) views(r *correlate.Result, sessions []*ftpflow.Session) {
	views, c := BuildViews(r, sessions)
	if c == nil {
		return
	}
	tw.heading("Two views (the same traffic captured at two places)")
	if len(views) == 0 {
		tw.say("  ", "The files share no packet: they are merged in time order as one capture.")
		return
	}
	name := func(i int) string { return fmt.Sprintf("[%d] %s", i+1, cell(Clean(r.Files[i].Name))) }
	where := make([]string, 0, len(views))
	for _, v := range views {
		where = append(where, fmt.Sprintf("%d %s", v.Input+1, capturedWhere(v.Vantage.Side)))
	}
	tw.say("  ", fmt.Sprintf("Captured: %s (the vantage points of their sessions)", strings.Join(where, ", ")))
	for k, p := range c.Pairs {
		if !p.Views {
			tw.say("  ", fmt.Sprintf("%s and %s share no packet.", name(p.A), name(p.B)))
			continue
		}
		title := fmt.Sprintf("%s and %s: %d packets seen in both; clock of %d %s that of %d by %s",
			name(p.A), name(p.B), p.MatchedPackets, p.B+1, aheadBehind(p.ClockOffset), p.A+1, seconds(p.ClockOffset))
		if p.Delay != nil {
			title += fmt.Sprintf("; one-way delay from %d to %d %s", p.A+1, p.B+1, seconds(*p.Delay))
		}
		tw.say("  ", title)
		tw.say("  ", fmt.Sprintf("on %d's side: %s; on %d's side: %s", p.A+1, orNone(p.SideA), p.B+1, orNone(p.SideB)))
		if len(p.Connections) > 0 {
			tt := &textTable{header: []string{"In " + fmt.Sprint(p.A+1), "In " + fmt.Sprint(p.B+1), "NAT", "Packets", "Frames"}}
			for _, vc := range p.Connections {
				tt.rows = append(tt.rows, []any{vc.InA, vc.InB, vc.NAT, vc.Packets, fmt.Sprintf("%d / %d", vc.FirstFrame[0], vc.FirstFrame[1])})
			}
			tw.renderFit(tt)
		}
		for _, vc := range p.Connections {
			tw.notes(connNotes(p, vc))
		}
		for _, lc := range p.Lone {
			tw.notes(loneNotes(lc))
		}
		if p.Omitted > 0 {
			tw.say("  ", fmt.Sprintf("(%d more connections not listed)", p.Omitted))
		}
		if tw.opt.Explain {
			for _, l := range pairLadders(r, r.Pairs[k], sessions, tw.opt.Timeline) {
				newViewLayout(l, tw.width).write(tw.w)
			}
		}
	}
}

// notes writes what comparing a pair found, a line each, a lost group's
// meaning indented below it, wrapped to the report's width (72 columns
// for the meaning without one).
func (tw *textWriter) notes(ns []viewNote) {
	for _, n := range ns {
		if !n.Lost {
			tw.say("  ", n.Line)
			continue
		}
		tw.say("    ", n.Line+":")
		width := 72
		if tw.width > 0 {
			width = max(tw.width-6, 20)
		}
		fmt.Fprintln(tw.w, indent(wrap(n.Detail, width), "      "))
	}
}

// viewNote is one thing comparing a pair found about a connection: a
// payload rewritten or SYN options changed on the way, SYNs unanswered at
// both points, a connection seen at one point only, or a group of packets
// seen at one point only (Lost, with its meaning in Detail).
type viewNote struct {
	Line   string
	Lost   bool
	Detail string
}

// connNotes are the notes on a connection seen in both files of p.
func connNotes(p ViewPair, vc ViewConn) []viewNote {
	var ns []viewNote
	for _, w := range vc.Rewritten {
		line := fmt.Sprintf("rewritten on the way, %s > %s: frame %d of %d %q, frame %d of %d %q", w.From, w.To, w.FrameA, p.A+1, w.TextA, w.FrameB, p.B+1, w.TextB)
		if w.SeqShift != 0 {
			line += fmt.Sprintf(" (sequence numbers shifted by %+d after it)", w.SeqShift)
		}
		ns = append(ns, viewNote{Line: line})
	}
	for _, o := range vc.Options {
		ns = append(ns, viewNote{Line: fmt.Sprintf("SYN options changed on the way, %s > %s: MSS %d in %d, %d in %d; window %d, %d (frames %d / %d)",
			o.From, o.To, o.MSSA, p.A+1, o.MSSB, p.B+1, o.WindowA, o.WindowB, o.FrameA, o.FrameB)})
	}
	if vc.Unanswered {
		ns = append(ns, viewNote{Line: fmt.Sprintf("%s: the SYNs reached both capture points and got no answer: dropped beyond the farther one (the receiving host itself, or its own firewall), not on the way", vc.InA)})
	}
	for _, l := range vc.Vanished {
		ns = append(ns, lostNote(l))
	}
	return ns
}

// loneNotes are the notes on a connection seen in one file only.
func loneNotes(lc LoneConn) []viewNote {
	ns := []viewNote{{Line: fmt.Sprintf("%s: only in %d (from frame %d)", lc.Conn, lc.Input+1, lc.FirstFrame)}}
	for _, l := range lc.Vanished {
		ns = append(ns, lostNote(l))
	}
	return ns
}

// lostNote says where a group of packets was seen and what it means.
func lostNote(l Lost) viewNote {
	what := "left"
	if !lossVanished(l.Kind) {
		what = "appeared"
	}
	return viewNote{
		Line: fmt.Sprintf("%s %s > %s: %d packets seen only in %d (frames %s)",
			what, l.From, l.To, l.Packets, l.Seen+1, correlate.FrameList(l.Frames, l.Packets)),
		Lost: true, Detail: l.Meaning,
	}
}

func lossVanished(kind string) bool {
	for k := correlate.LostSYN; k <= correlate.Unplaced; k++ {
		if k.String() == kind {
			return k.Vanished() || k == correlate.Unplaced
		}
	}
	return true
}

func aheadBehind(off float64) string {
	if off < 0 {
		return "is behind"
	}
	return "is ahead of"
}

func seconds(s float64) string {
	if s < 0 {
		s = -s
	}
	return fmt.Sprintf("%.6f s", s)
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "unknown"
	}
	return strings.Join(s, ", ")
}

// Number numbers the view's file from 1, as the reports name files.
func (v View) Number() int { return v.Input + 1 }

// capturedWhere says in words where a file with this vantage side was
// captured.
func capturedWhere(side string) string {
	switch side {
	case "client", "server":
		return "at the " + side
	case "between":
		return "between client and server"
	}
	return "at a place its sessions do not tell"
}

// Where says in words where the view's file was captured.
func (v View) Where() string { return capturedWhere(v.Vantage.Side) }
