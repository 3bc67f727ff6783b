package report

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"ftpdiag/correlate"
	"ftpdiag/ftpflow"
)

// The columns of a ladder across two capture points.
const (
	colClient = 0 // the FTP client
	colNear   = 1 // the capture point nearer the client
	colFar    = 2 // the capture point nearer the server
	colServer = 3 // the FTP server
)

// How an arrow of a two-view ladder ends, or begins.
const (
	endArrow    = 0   // it reached its receiver
	endVanished = 'X' // it left the sender's side and stops where it was last seen
	endUnknown  = '?' // seen at one point only, and which side sent it, or whether the other point was capturing, is unknown
	startMade   = '*' // it appeared at that point, made between the two
)

// viewLadder is one control connection seen in both files of a pair, with
// its data connections, as a ladder of four columns: the FTP client, the
// capture point nearer it, the one nearer the server, the FTP server.
type viewLadder struct {
	// Title names the control connection as the point nearer the client
	// shows it.
	Title string
	// Heads are the columns' short names, Keys say what each is (the
	// addresses each capture point shows).
	Heads [4]string
	Keys  [4]string
	// Clock says whose clock the times are on and from when.
	Clock string
	// Near and Far are the inputs captured nearer the client and nearer
	// the server; NearName and FarName their numbers in brackets ("[1]").
	Near, Far         int
	NearName, FarName string
	Steps             []viewStep
	// Origin is the time the ladder's times count from, on the near
	// point's clock.
	Origin time.Time
	// Omitted counts the packets the comparison could not keep.
	Omitted int
}

// viewStep is one arrow of a two-view ladder: a packet, or a run of like
// packets, from its sender's column to its receiver's, or to the point it
// was last seen (End), or from the point it appeared at (Start).
type viewStep struct {
	From, To int
	End      rune // endArrow, endVanished or endUnknown
	Start    rune // startMade, or 0
	// AtNear and AtFar are the times at each point, on the near point's
	// clock (zero when not seen there); Frames are "near/far" ("-" for
	// unseen).
	AtNear, AtFar time.Time
	Frames        string
	Label, Note   string
	// Rewritten: the payload differs between the two points.
	Rewritten bool
	// Flagged steps (a packet lost, made or rewritten between the points)
	// are kept when a long ladder is cut.
	Flagged bool
	Fold    bool
	// Packets counts the packets the step stands for.
	Packets int
	// SeenIn is the input that alone saw the packets, -1 when both did.
	SeenIn int
	at     time.Time // on the near point's clock, for ordering
}

// pairLadders builds the ladders of a pair of views: one per control
// connection seen in both files, with the data connections the sessions
// (else hosts and time) tie to it.
func pairLadders(r *correlate.Result, p correlate.Pair, sessions []*ftpflow.Session, opt TimelineOptions) []*viewLadder {
	if !p.Views {
		return nil
	}
	links := sessionLinks(sessions)
	var out []*viewLadder
	for i := range p.Conns {
		if p.Conns[i].Control {
			out = append(out, buildViewLadder(r, p, i, links, sessions, opt))
		}
	}
	return out
}

// connKey names a connection in one input: its ends in either order and
// its first frame.
type connKey struct {
	input  int
	lo, hi netip.AddrPort
	frame  int
}

func keyOf(input int, a, b netip.AddrPort, frame int) connKey {
	if a.Compare(b) > 0 {
		a, b = b, a
	}
	return connKey{input: input, lo: a, hi: b, frame: frame}
}

// sessionLinks maps each data connection of the sessions to its session's
// control connection.
func sessionLinks(sessions []*ftpflow.Session) map[connKey]connKey {
	links := map[connKey]connKey{}
	for _, s := range sessions {
		c := s.Control
		ctl := keyOf(c.First.Input, c.Client, c.Server, c.First.Frame)
		for _, d := range sessionConns(s) {
			links[keyOf(d.First.Input, d.Client, d.Server, d.First.Frame)] = ctl
		}
	}
	return links
}

// ladderConn is one connection drawn on a ladder: its trace, and whether
// its TCP client is the FTP server (an active-mode data connection).
type ladderConn struct {
	trace    []correlate.TraceStep
	reversed bool
	data     bool
	port     uint16 // the data connection's server port, as the near point shows it
	intro    string // said at its first step
	unanswer bool
	omitted  int
}

// buildViewLadder builds the ladder of control connection i of p.
func buildViewLadder(r *correlate.Result, p correlate.Pair, i int, links map[connKey]connKey, sessions []*ftpflow.Session, opt TimelineOptions) *viewLadder {
	c := p.Conns[i]
	nearA := nearClientIsA(p, c)
	near, far := p.A, p.B
	nc, fc := c.InA, c.InB
	if !nearA {
		near, far, nc, fc = p.B, p.A, c.InB, c.InA
	}
	l := &viewLadder{Near: near, Far: far, NearName: fmt.Sprintf("[%d]", near+1), FarName: fmt.Sprintf("[%d]", far+1)}
	l.Title = fmt.Sprintf("control connection %s > %s", nc.Client, nc.Server)
	l.Heads = [4]string{"client", l.NearName, l.FarName, "server"}
	l.Keys = [4]string{
		fmt.Sprintf("the FTP client, %s", nc.Client),
		fmt.Sprintf("%s, nearer the client: %s > %s", Clean(r.Files[near].Name), nc.Client, nc.Server),
		fmt.Sprintf("%s, nearer the server: %s > %s", Clean(r.Files[far].Name), fc.Client, fc.Server),
		fmt.Sprintf("the FTP server, %s", fc.Server),
	}
	if c.NAT != correlate.NATNone {
		l.Keys[2] += fmt.Sprintf(" (%s NAT between %s and %s)", c.NAT, l.NearName, l.FarName)
	}
	conns := []ladderConn{{trace: c.Trace, omitted: c.TraceOmitted, unanswer: c.Unanswered}}
	conns = append(conns, dataConns(p, i, links, nearA, l)...)
	b := &ladderBuilder{p: p, l: l, nearA: nearA, opt: opt}
	b.notes[0] = controlNotes(sessions, near, nc, opt)
	b.notes[1] = controlNotes(sessions, far, fc, opt)
	for _, lc := range conns {
		b.add(lc)
		l.Omitted += lc.omitted
	}
	slices.SortStableFunc(l.Steps, func(x, y viewStep) int { return x.at.Compare(y.at) })
	if len(l.Steps) > 0 {
		l.Origin = l.Steps[0].at
	}
	l.Clock = fmt.Sprintf("times in seconds from %s UTC on %s's clock (%s's shifted by the clock offset, %s)",
		l.Origin.UTC().Format("2006-01-02 15:04:05.000000"), l.NearName, l.FarName, signedSeconds(p.Offset))
	if !opt.All {
		l.Steps = capViewSteps(l.Steps, MaxLadderSteps)
	}
	return l
}

// nearClientIsA reports whether A's capture point is the one nearer the
// control connection's client: the side the comparison put its host on,
// else its server's, else A by default.
func nearClientIsA(p correlate.Pair, c correlate.ConnMatch) bool {
	switch {
	case slices.Contains(p.SideA, c.InA.Client.Addr()):
		return true
	case slices.Contains(p.SideB, c.InB.Client.Addr()):
		return false
	case slices.Contains(p.SideA, c.InA.Server.Addr()):
		return false
	}
	return true
}

// dataConns lists the data connections of control connection i: matched
// ones and those seen in one file only, tied to it by the sessions, else
// by sharing a host with it while it was open.
func dataConns(p correlate.Pair, i int, links map[connKey]connKey, nearA bool, l *viewLadder) []ladderConn {
	c := p.Conns[i]
	owner := func(in int, e correlate.Endpoints, t time.Time) int {
		k := keyOf(in, e.Client, e.Server, e.FirstFrame)
		if ctl, ok := links[k]; ok {
			for j, o := range p.Conns {
				if o.Control && (ctl == keyOf(p.A, o.InA.Client, o.InA.Server, o.InA.FirstFrame) || ctl == keyOf(p.B, o.InB.Client, o.InB.Server, o.InB.FirstFrame)) {
					return j
				}
			}
		}
		for j, o := range p.Conns {
			ce := o.InA
			if in == p.B {
				ce = o.InB
			}
			if o.Control && sharesHost(ce, e) && within(o.Trace, t) {
				return j
			}
		}
		return -1
	}
	var out []ladderConn
	for _, d := range p.Conns {
		if d.Control || len(d.Trace) == 0 || owner(p.A, d.InA, firstTime(d.Trace)) != i && owner(p.B, d.InB, firstTime(d.Trace)) != i {
			continue
		}
		rev := isReversed(c.InA, d.InA)
		ne, fe := d.InA, d.InB
		if !nearA {
			ne, fe = d.InB, d.InA
		}
		intro := fmt.Sprintf("data connection %s > %s at %s, %s > %s at %s", ne.Client, ne.Server, l.NearName, fe.Client, fe.Server, l.FarName)
		if d.NAT != correlate.NATNone {
			intro += fmt.Sprintf(" (%s NAT)", d.NAT)
		}
		out = append(out, ladderConn{trace: d.Trace, omitted: d.TraceOmitted, reversed: rev, data: true, port: ne.Server.Port(), intro: intro, unanswer: d.Unanswered})
	}
	for _, lc := range p.Lone {
		if len(lc.Trace) == 0 || owner(lc.Input, lc.Conn, firstTime(lc.Trace)) != i {
			continue
		}
		ctl := c.InA
		if lc.Input == p.B {
			ctl = c.InB
		}
		name := fmt.Sprintf("[%d]", lc.Input+1)
		out = append(out, ladderConn{trace: lc.Trace, omitted: lc.TraceOmitted, reversed: isReversed(ctl, lc.Conn), data: true,
			port: lc.Conn.Server.Port(), intro: fmt.Sprintf("data connection %s > %s, seen at %s only", lc.Conn.Client, lc.Conn.Server, name)})
	}
	return out
}

// isReversed reports whether a data connection's TCP client is the FTP
// server of control connection ctl (as one file shows both).
func isReversed(ctl, d correlate.Endpoints) bool {
	switch {
	case d.Client.Addr() == ctl.Client.Addr():
		return false
	case d.Server.Addr() == ctl.Client.Addr(), d.Client.Addr() == ctl.Server.Addr():
		return true
	}
	return false
}

func sharesHost(a, b correlate.Endpoints) bool {
	return a.Client.Addr() == b.Client.Addr() || a.Client.Addr() == b.Server.Addr() ||
		a.Server.Addr() == b.Client.Addr() || a.Server.Addr() == b.Server.Addr()
}

// within reports whether t (in the file that saw it) lies between the
// first and the last step of a trace.
func within(tr []correlate.TraceStep, t time.Time) bool {
	if len(tr) == 0 {
		return false
	}
	first, last := firstTime(tr), tr[len(tr)-1]
	end := last.LastA
	if !last.InA {
		end = last.LastB
	}
	return !t.Before(first) && !t.After(end)
}

func firstTime(tr []correlate.TraceStep) time.Time {
	if len(tr) == 0 {
		return time.Time{}
	}
	t, _, _ := tr[0].Seen()
	return t
}

// controlNotes maps frames of the control connection, in the near file,
// to what the step means in FTP terms (an announced endpoint, a greeting):
// the notes today's ladders give, read from the sessions of that file.
func controlNotes(sessions []*ftpflow.Session, input int, e correlate.Endpoints, opt TimelineOptions) map[int]string {
	for _, s := range sessions {
		c := s.Control
		if c.First.Input != input || keyOf(input, c.Client, c.Server, c.First.Frame) != keyOf(input, e.Client, e.Server, e.FirstFrame) {
			continue
		}
		notes := map[int]string{}
		for _, st := range BuildTimeline(s, nil, TimelineOptions{ShowPasswords: opt.ShowPasswords}).Steps {
			if st.Kind == StepControl && st.Note != "" {
				notes[st.At.Frame] = st.Note
			}
		}
		return notes
	}
	return nil
}

// ladderBuilder turns traces into steps.
type ladderBuilder struct {
	p     correlate.Pair
	l     *viewLadder
	nearA bool
	opt   TimelineOptions
	// notes are the FTP notes by frame of the near (0) and far (1)
	// files' sessions.
	notes [2]map[int]string
}

// nearClock converts a time of file A (inA) or B to the near point's
// clock.
func (b *ladderBuilder) nearClock(t time.Time, inA bool) time.Time {
	switch {
	case inA == b.nearA:
		return t
	case inA: // near is B: B = A + offset
		return t.Add(b.p.Offset)
	}
	return t.Add(-b.p.Offset)
}

// add draws the steps of one connection.
func (b *ladderBuilder) add(lc ladderConn) {
	for k, ts := range lc.trace {
		st := b.step(lc, ts)
		if k == 0 && lc.intro != "" {
			st.Note = joinNotes(lc.intro, st.Note)
		}
		b.l.Steps = append(b.l.Steps, st)
	}
}

// step draws one trace step.
func (b *ladderBuilder) step(lc ladderConn, ts correlate.TraceStep) viewStep {
	fromClient := ts.FromServer == lc.reversed
	sender, receiver := colServer, colClient
	if fromClient {
		sender, receiver = colClient, colServer
	}
	inNear, inFar := ts.InA, ts.InB
	if !b.nearA {
		inNear, inFar = ts.InB, ts.InA
	}
	st := viewStep{From: sender, To: receiver, Packets: ts.Packets, Rewritten: ts.Rewritten, SeenIn: -1}
	seenCol := colNear
	if !inNear {
		seenCol = colFar
	}
	if !ts.InA || !ts.InB {
		st.SeenIn = b.p.B
		if ts.InA {
			st.SeenIn = b.p.A
		}
	}
	made := ts.Counted && (ts.Kind == correlate.ForgedRST || ts.Kind == correlate.AnsweredBetween || ts.Kind == correlate.Injected)
	switch {
	case inNear && inFar:
	case ts.Counted && ts.Kind.Vanished():
		st.To, st.End, st.Flagged = seenCol, endVanished, true
	case made:
		st.From, st.Start, st.Flagged = seenCol, startMade, true
	default:
		st.To, st.End, st.Flagged = seenCol, endUnknown, true
	}
	st.Flagged = st.Flagged || ts.Rewritten
	st.Label = b.label(lc, ts, fromClient)
	st.Note = joinNotes(b.ftpNote(lc, ts), b.note(lc, ts, st, fromClient))
	t, _, inA := ts.Seen()
	st.at = b.nearClock(t, inA)
	st.Frames = frames(ts.FrameA, ts.LastFrameA, ts.InA) + "/" + frames(ts.FrameB, ts.LastFrameB, ts.InB)
	if !b.nearA {
		st.Frames = frames(ts.FrameB, ts.LastFrameB, ts.InB) + "/" + frames(ts.FrameA, ts.LastFrameA, ts.InA)
	}
	if ts.InA {
		st.AtNear = b.nearClock(ts.TimeA, true)
	}
	if ts.InB {
		st.AtFar = b.nearClock(ts.TimeB, false)
	}
	if !b.nearA {
		st.AtNear, st.AtFar = st.AtFar, st.AtNear
	}
	return st
}

// ftpNote is what a control connection step means in FTP terms, from the
// session of the near file, else the far one.
func (b *ladderBuilder) ftpNote(lc ladderConn, ts correlate.TraceStep) string {
	if lc.data {
		return ""
	}
	fa, fb := ts.FrameA, ts.FrameB
	if !b.nearA {
		fa, fb = fb, fa
	}
	if n, ok := b.notes[0][fa]; ok && fa != 0 {
		return n
	}
	if n, ok := b.notes[1][fb]; ok && fb != 0 {
		return n
	}
	return ""
}

// since formats a time from the ladder's origin, "-" for none.
func (l *viewLadder) since(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return fmt.Sprintf("%+.3f", t.Sub(l.Origin).Seconds())
}

func signedSeconds(d time.Duration) string { return fmt.Sprintf("%+.6f s", d.Seconds()) }

// frames is a step's frames in one file: "15", "15-18", or "-".
func frames(first, last int, seen bool) string {
	switch {
	case !seen:
		return "-"
	case last > first:
		return fmt.Sprintf("%d-%d", first, last)
	}
	return fmt.Sprint(first)
}

// label is what the arrow says: the TCP flags, the payload's first line,
// or its size; data connection steps start with their server port.
func (b *ladderBuilder) label(lc ladderConn, ts correlate.TraceStep, fromClient bool) string {
	var s string
	text := b.senderText(ts, fromClient)
	switch {
	case ts.Flags&correlate.FlagSYN != 0 && ts.Flags&correlate.FlagACK != 0:
		s = "SYN-ACK"
	case ts.Flags&correlate.FlagSYN != 0:
		s = "SYN"
	case ts.Flags&correlate.FlagRST != 0:
		s = "RST"
	case text != "":
		s = text
	case ts.Bytes > 0 && ts.Packets > 1:
		s = fmt.Sprintf("%s in %d", byteCount(int64(ts.Bytes)), ts.Packets)
	case ts.Bytes > 0:
		s = byteCount(int64(ts.Bytes))
	case ts.Flags&correlate.FlagFIN != 0:
		s = "FIN"
	default:
		s = "ACK"
	}
	if ts.Packets > 1 && (ts.Bytes == 0 || text != "") {
		s += fmt.Sprintf(" x%d", ts.Packets)
	}
	if lc.data {
		s = fmt.Sprintf(":%d %s", lc.port, s)
	}
	return s
}

// senderText is the payload's text as the point nearer its sender saw
// it (else the other), PASS masked unless asked, safe for any output.
func (b *ladderBuilder) senderText(ts correlate.TraceStep, fromClient bool) string {
	nearText, farText := ts.TextA, ts.TextB
	if !b.nearA {
		nearText, farText = farText, nearText
	}
	t := farText
	if fromClient && nearText != "" || farText == "" {
		t = nearText
	}
	return b.safe(t)
}

// safe masks a PASS argument (unless ShowPasswords) and makes text safe
// for one line of any output.
func (b *ladderBuilder) safe(t string) string {
	if !b.opt.ShowPasswords && len(t) >= 4 && strings.EqualFold(t[:4], "PASS") && (len(t) == 4 || t[4] == ' ') {
		t = "PASS ****"
	}
	return strings.ReplaceAll(Clean(t), "\t", " ")
}

// note says in words what happened to the step between the two points.
func (b *ladderBuilder) note(lc ladderConn, ts correlate.TraceStep, st viewStep, fromClient bool) string {
	l := b.l
	seen := l.NearName
	other := l.FarName
	if st.To == colFar || st.From == colFar {
		seen, other = l.FarName, l.NearName
	}
	var n string
	switch {
	case st.End == endVanished:
		n = fmt.Sprintf("%s: left %s, never reached %s (lost between them)", ts.Kind, seen, other)
	case st.Start == startMade:
		n = fmt.Sprintf("%s: seen at %s only, in the %s's name: made between %s and %s", ts.Kind, seen, senderRole(fromClient), other, seen)
	case st.End == endUnknown && !ts.Counted:
		n = fmt.Sprintf("seen at %s only, while %s was not capturing", seen, other)
	case st.End == endUnknown:
		n = fmt.Sprintf("seen at %s only; which side sent it is unknown", seen)
	case lc.unanswer && ts.Flags&correlate.FlagSYN != 0 && ts.Flags&correlate.FlagACK == 0:
		n = "reached both capture points and got no answer"
	}
	if ts.Rewritten {
		nt, ft := ts.TextA, ts.TextB
		if !b.nearA {
			nt, ft = ft, nt
		}
		if nt != "" || ft != "" {
			n = joinNotes(n, fmt.Sprintf("rewritten between %s and %s: %s %q, %s %q", l.NearName, l.FarName, l.NearName, b.safe(nt), l.FarName, b.safe(ft)))
		} else {
			n = joinNotes(n, fmt.Sprintf("payload rewritten between %s and %s", l.NearName, l.FarName))
		}
	}
	if ts.Packets > 1 && ts.Bytes > 0 {
		n = joinNotes(n, fmt.Sprintf("%d segments, %d bytes", ts.Packets, ts.Bytes))
	}
	return n
}

func senderRole(fromClient bool) string {
	if fromClient {
		return "client"
	}
	return "server"
}

func joinNotes(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// capViewSteps keeps, of more than limit steps, the first half of limit,
// the last quarter and, between them, up to a quarter of the flagged
// ones; each run left out becomes one fold step saying how many packets
// it held.
func capViewSteps(steps []viewStep, limit int) []viewStep {
	if limit <= 0 || len(steps) <= limit {
		return steps
	}
	head, tail := limit/2, limit/4
	flagged := limit - head - tail
	out := make([]viewStep, 0, limit+flagged+1)
	hidden, packets := 0, 0
	flush := func() {
		if hidden > 0 {
			out = append(out, viewStep{Fold: true, Note: fmt.Sprintf("%d more steps (%d packets) not drawn (--all draws them)", hidden, packets)})
			hidden, packets = 0, 0
		}
	}
	for i, st := range steps {
		inner := i >= head && i < len(steps)-tail
		if !inner || st.Flagged && flagged > 0 {
			if inner {
				flagged--
			}
			flush()
			out = append(out, st)
			continue
		}
		hidden++
		packets += st.Packets
	}
	flush()
	return out
}
