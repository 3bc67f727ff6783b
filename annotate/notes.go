package annotate

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"ftpdiag/analyze"
	"ftpdiag/ftpflow"
	"ftpdiag/report"
)

// frameKey names a packet of the analysis: its input and frame number.
type frameKey struct{ input, frame int }

// timedKey names a packet by its frame number and timestamp (nanoseconds
// since 1970), in whichever input holds it: a frame a finding cites by
// number alone, outside every session, in a capture of several inputs.
type timedKey struct {
	frame int
	ns    int64
}

// notes holds the comments of ours, by packet, in the order drawn.
type notes struct {
	byFrame map[frameKey][]string
	byTime  map[timedKey][]string
}

func newNotes() *notes {
	return &notes{byFrame: map[frameKey][]string{}, byTime: map[timedKey][]string{}}
}

// at returns our comments on frame of input, captured at ts.
func (n *notes) at(input, frame int, ts time.Time) []string {
	cs := n.byFrame[frameKey{input, frame}]
	if len(n.byTime) == 0 {
		return cs
	}
	if timed := n.byTime[timedKey{frame, ts.UnixNano()}]; len(timed) > 0 {
		cs = appendNew(slices.Clone(cs), timed...)
	}
	return cs
}

// add adds a comment on a cited frame: by input and frame number, or, for
// a frame whose input is not known, by frame number and time.
func (n *notes) add(c cite, comment string) {
	if c.key.input == anyInput {
		k := timedKey{c.key.frame, c.at.UnixNano()}
		n.byTime[k] = appendNew(n.byTime[k], comment)
		return
	}
	n.byFrame[c.key] = appendNew(n.byFrame[c.key], comment)
}

// appendNew appends the comments not already in cs.
func appendNew(cs []string, comments ...string) []string {
	for _, c := range comments {
		if !slices.Contains(cs, c) {
			cs = append(cs, c)
		}
	}
	return cs
}

// collect draws every comment of ours: the lessons' notes first (they say
// what a frame is), then each finding on the frames it cites.
func collect(a *analyze.Analysis, opt Options) *notes {
	n := newNotes()
	byID := map[int]*ftpflow.Session{}
	for _, s := range a.Sessions {
		byID[s.ID] = s
	}
	if opt.Lesson {
		bySession := map[int][]analyze.Finding{}
		for _, f := range a.Findings {
			bySession[f.Session] = append(bySession[f.Session], f)
		}
		for _, s := range a.Sessions {
			tl := report.BuildTimeline(s, bySession[s.ID], report.TimelineOptions{ShowPasswords: opt.ShowPasswords})
			for _, st := range tl.Steps {
				note := st.Note
				if note == "" && st.Kind == report.StepControl {
					note = loginNote(st.Label)
				}
				if note == "" || !st.At.Seen() {
					continue
				}
				c := note
				if st.Label != "" {
					c = st.Label + " — " + note
				}
				n.add(cite{key: frameKey{st.At.Input, st.At.Frame}}, c)
			}
		}
	}
	loc := &locator{sessions: a.Sessions, byID: byID, showPasswords: opt.ShowPasswords, inputs: max(len(a.Inputs), 1), index: map[int]frameIndex{}}
	for _, f := range a.Findings {
		for _, c := range loc.cited(f) {
			n.add(c, headline(f))
			n.add(c, f.ID+": "+c.role)
		}
	}
	return n
}

// loginNote is the lesson's note on a login command, which the ladder
// diagram draws without one: the USER and PASS lines (the password as
// the label shows it, masked unless Options.ShowPasswords).
func loginNote(label string) string {
	verb, arg, _ := strings.Cut(label, " ")
	switch strings.ToUpper(verb) {
	case "USER":
		return "the client logs in: the user name"
	case "PASS":
		if strings.Trim(arg, "*") == "" {
			return "the client logs in: the password, masked here (ftpdiag --show-passwords shows it)"
		}
		return "the client logs in: the password, sent in clear text"
	}
	return ""
}

// headline is a finding's comment on every frame it cites: "F1 ERROR
// pasv_address_mismatch: 227 reply announces ...".
func headline(f analyze.Finding) string {
	return fmt.Sprintf("%s %s %s: %s", f.ID, strings.ToUpper(f.Severity.String()), f.Kind, f.Summary)
}

// sectionComments are the section header's comments: the analysis in
// short, then every finding (most severe first), then how to filter.
func sectionComments(a *analyze.Analysis, names []string, version string) []string {
	transfers, failed := 0, 0
	for _, s := range a.Sessions {
		for _, t := range s.Transfers {
			transfers++
			if t.Status != ftpflow.StatusOK {
				failed++
			}
		}
	}
	var sev [3]int
	for _, f := range a.Findings {
		sev[f.Severity]++
	}
	head := strings.TrimSpace("ftpdiag "+version) + ": diagnosis of " + strings.Join(names, ", ")
	if len(names) > 1 {
		head += " (merged in time order)"
	}
	head += fmt.Sprintf("\n%s, %s (%d failed), %s: %d error%s, %d warning%s, %d info",
		count(len(a.Sessions), "FTP session"), count(transfers, "transfer"), failed, count(len(a.Findings), "finding"),
		sev[analyze.Error], plural(sev[analyze.Error]), sev[analyze.Warning], plural(sev[analyze.Warning]), sev[analyze.Info])
	out := []string{head}
	if len(a.Findings) == 0 {
		return append(out, "No finding: nothing went wrong that the capture shows.")
	}
	var list strings.Builder
	listed := 0
	for _, sv := range []analyze.Severity{analyze.Error, analyze.Warning, analyze.Info} {
		for _, f := range a.Findings {
			if f.Severity != sv {
				continue
			}
			if listed == maxListed {
				fmt.Fprintf(&list, "... and %d more\n", len(a.Findings)-listed)
				break
			}
			listed++
			fmt.Fprintf(&list, "%s %s %s (session %d): %s\n", f.ID, strings.ToUpper(f.Severity.String()), f.Kind, f.Session, f.Summary)
		}
	}
	out = append(out, strings.TrimSuffix(list.String(), "\n"))
	first := a.Findings[0].ID
	return append(out, fmt.Sprintf("Each finding's frames carry its comments: filter with frame.comment matches \"^%s[: ]\" for %s, frame.comment for all.", first, first))
}

func count(n int, what string) string { return strconv.Itoa(n) + " " + what + plural(n) }

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// placeKind says what a frame shows, as a finding's references cite it.
type placeKind uint8

const (
	placeFTP  placeKind = iota // a command or reply of the control dialogue
	placeTCP                   // a TCP packet: SYN, SYN-ACK, FIN, RST, data
	placeICMP                  // an ICMP error about a connection
)

// place is one frame of a session and what it shows.
type place struct {
	key     frameKey
	kind    placeKind
	role    string
	conn    *ftpflow.Conn // for TCP and ICMP places
	session int           // the session's ID
}

// frameIndex lists a session's places by frame number (without input:
// findings cite frames by number alone).
type frameIndex map[int][]place

// locator finds the frames a finding cites and the role each plays.
type locator struct {
	sessions      []*ftpflow.Session
	byID          map[int]*ftpflow.Session
	showPasswords bool
	inputs        int
	index         map[int]frameIndex // by session ID, built when needed
}

// anyInput is the input of a cited frame whose input is not known: the
// frame is found by its number and time (cite.at).
const anyInput = -1

// cite is a frame a finding cites and its role there.
type cite struct {
	key  frameKey
	at   time.Time // the frame's time, when key.input is anyInput
	role string
}

// cited returns the frames a finding cites, in the order of its
// references, each with its role.
func (l *locator) cited(f analyze.Finding) []cite {
	r := f.Refs
	s := l.byID[f.Session]
	var out []cite
	add := func(frame int, kind placeKind, prefix string, role func(place) string) {
		if frame == 0 {
			return
		}
		p, ok := l.find(f, frame, kind)
		if !ok || analyze.NoSession(f.Kind) {
			out = append(out, l.unplaced(f, s, frame))
			return
		}
		out = append(out, cite{key: p.key, role: prefix + role(p)})
	}
	same := func(p place) string { return inSession(f, p) }
	if o := r.Offer; o.Frame != 0 {
		add(o.Frame, placeFTP, "", func(p place) string { return announcing(s, o, p) })
	}
	add(r.RequestFrame, placeFTP, "the request: ", same)
	add(r.AcceptedFrame, placeFTP, "the server accepts TLS: ", same)
	add(r.CommandFrame, placeFTP, "the transfer command: ", same)
	for _, fr := range r.ReplyFrames {
		add(fr, placeFTP, "the server's reply: ", same)
	}
	framesRole := same
	if f.Kind == analyze.KindPassivePortExhaustion {
		framesRole = func(p place) string { return heldPort(f, p) }
	}
	for _, fr := range r.Frames {
		add(fr, placeTCP, "", framesRole)
	}
	for _, fr := range r.ICMPFrames {
		add(fr, placeICMP, "", same)
	}
	return out
}

// announcing describes the frame of the announcement a finding is about.
func announcing(s *ftpflow.Session, o analyze.OfferRef, p place) string {
	what := "announcement"
	if s != nil {
		for _, x := range s.Offers {
			if x.ID == o.ID {
				what = offerWhat(x.Kind)
			}
		}
	}
	return fmt.Sprintf("%s announcing %s, the endpoint this finding is about", what, o.Endpoint)
}

func offerWhat(k ftpflow.OfferKind) string {
	switch k {
	case ftpflow.OfferPASV:
		return "227 reply"
	case ftpflow.OfferEPSV:
		return "229 reply"
	case ftpflow.OfferLPSV:
		return "228 reply"
	}
	return k.String() + " command"
}

// heldPort describes a frame a passive_port_exhaustion finding cites
// among its TCP references: the announcement of a passive port that was
// still held when the server refused, in the finding's session or another
// (Refs.Sessions).
func heldPort(f analyze.Finding, p place) string {
	if p.kind != placeFTP {
		return inSession(f, p)
	}
	where := "this session"
	if p.session != f.Session {
		where = fmt.Sprintf("session %d", p.session)
	}
	return fmt.Sprintf("a passive port still held when the server refused, announced by %s: %s", where, p.role)
}

// inSession is a place's role, naming its session when it is another
// than the finding's.
func inSession(f analyze.Finding, p place) string {
	if f.Session == 0 || p.session == f.Session {
		return p.role
	}
	return fmt.Sprintf("in session %d: %s", p.session, p.role)
}

// searched lists the sessions where a finding's frames are looked for,
// in order: its own, then the other sessions its references name; every
// session for a finding about the whole capture.
func (l *locator) searched(f analyze.Finding) []*ftpflow.Session {
	s := l.byID[f.Session]
	if s == nil {
		return l.sessions
	}
	out := []*ftpflow.Session{s}
	for _, id := range f.Refs.Sessions {
		if o := l.byID[id]; o != nil && o != s {
			out = append(out, o)
		}
	}
	return out
}

// find locates a cited frame among the places of the sessions searched
// (see searched), preferring one of the kind cited on the connection the
// finding names, then one of the kind cited, then any, each in the order
// searched. It reports false when no place shows the frame.
func (l *locator) find(f analyze.Finding, frame int, kind placeKind) (place, bool) {
	conn := f.Refs.Conn
	var best place
	found, exact := false, false
	for _, ss := range l.searched(f) {
		for _, p := range l.indexOf(ss)[frame] {
			kindOK := p.kind == kind
			connOK := !conn.IsValid() || p.conn != nil && p.conn.Client == conn.Client && p.conn.Server == conn.Server
			switch {
			case kindOK && connOK:
				return p, true
			case kindOK && !exact:
				best, found, exact = p, true, true
			case !found:
				best, found = p, true
			}
		}
	}
	return best, found
}

// unplaced is the cite of a frame that no session shows. The SYNs of a
// control_half_open or control_connection_refused finding belong to no
// session (a session's frame of the same number is in another input):
// they are described from the finding's evidence, and found, in a capture of several inputs, by their
// time. Any other frame is taken from the only input, or the session's.
func (l *locator) unplaced(f analyze.Finding, s *ftpflow.Session, frame int) cite {
	if analyze.NoSession(f.Kind) {
		if role, at, ok := halfOpenSYN(f, frame); ok {
			c := cite{key: frameKey{0, frame}, role: role}
			if l.inputs > 1 {
				c.key.input, c.at = anyInput, at
			}
			return c
		}
	}
	input := 0
	if l.inputs > 1 && s != nil {
		input = s.Control.First.Input
	}
	return cite{key: frameKey{input, frame}, role: "cited as evidence"}
}

// halfOpenSYN describes a SYN a control_half_open finding cites (the
// first or the last of the connections that never completed their
// handshake) from its evidence, and gives its time. It reports false for
// a frame the evidence does not name, or without its time.
func halfOpenSYN(f analyze.Finding, frame int) (role string, at time.Time, ok bool) {
	ev := f.Evidence
	which := ""
	switch frame {
	case evInt(ev, "first_syn_frame"):
		which = "first"
	case evInt(ev, "last_syn_frame"):
		which = "last"
	default:
		return "", time.Time{}, false
	}
	stamp, _ := ev[which].(string)
	at, err := time.Parse(time.RFC3339Nano, stamp)
	if err != nil {
		return "", time.Time{}, false
	}
	to := "the FTP control port"
	if servers, _ := ev["servers"].([]string); len(servers) == 1 {
		addr, _, _ := strings.Cut(servers[0], " (")
		to += " of " + addr
	}
	n := evInt(ev, "count")
	if n == 1 {
		return fmt.Sprintf("SYN to %s, %s: the connection never completed its handshake, so it is no session", to, halfOpenOutcome(ev)), at, true
	}
	return fmt.Sprintf("%s SYN of the %d connections to %s that never completed their handshake (%d unanswered, %d refused, %d not acknowledged by the client)",
		which, n, to, evInt(ev, "unanswered"), evInt(ev, "refused"), evInt(ev, "not_acknowledged")), at, true
}

// halfOpenOutcome says how the one half-open connection of a
// control_half_open finding ended.
func halfOpenOutcome(ev map[string]any) string {
	switch {
	case evInt(ev, "refused") > 0:
		return "refused with a RST"
	case evInt(ev, "not_acknowledged") > 0:
		return "answered with a SYN-ACK the client never acknowledged"
	}
	return "unanswered"
}

// evInt reads an integer of a finding's evidence (0 when absent).
func evInt(ev map[string]any, key string) int {
	n, _ := ev[key].(int)
	return n
}

// indexOf returns a session's places, building the index the first time.
func (l *locator) indexOf(s *ftpflow.Session) frameIndex {
	if ix, ok := l.index[s.ID]; ok {
		return ix
	}
	ix := frameIndex{}
	add := func(ev ftpflow.Event, kind placeKind, c *ftpflow.Conn, role string) {
		if ev.Seen() {
			ix[ev.Frame] = append(ix[ev.Frame], place{key: frameKey{ev.Input, ev.Frame}, kind: kind, role: role, conn: c, session: s.ID})
		}
	}
	// The control dialogue: the log when kept, else what the session holds.
	for _, e := range s.Log {
		if e.From == ftpflow.Client {
			add(e.Event, placeFTP, nil, report.Clean(e.CommandLine(l.showPasswords)))
		} else {
			add(e.Event, placeFTP, nil, reply(e.Code, e.Text))
		}
	}
	addReply := func(r *ftpflow.ReplyRecord) {
		if r != nil {
			add(r.Event, placeFTP, nil, reply(r.Code, r.Text))
		}
	}
	addReply(s.Greeting)
	for _, o := range s.Offers {
		if o.Passive() {
			add(o.Event, placeFTP, nil, report.Clean(o.Line))
		} else {
			add(o.Event, placeFTP, nil, l.command(o.Kind.String(), o.Line))
		}
		addReply(o.Answer)
	}
	for _, t := range s.Transfers {
		add(t.Event, placeFTP, nil, l.command(t.Command, t.Arg))
		for i := range t.Replies {
			addReply(&t.Replies[i])
		}
	}
	for _, r := range s.Refusals {
		add(r.Event, placeFTP, nil, r.Command)
		addReply(&r.Reply)
	}
	for i := range s.Unpaired {
		addReply(&s.Unpaired[i])
	}
	if t := s.TLS; t != nil {
		add(t.Request, placeFTP, nil, report.Clean(t.Command))
		add(t.Accepted, placeFTP, nil, "234, TLS accepted")
		add(t.Handshake, placeTCP, s.Control, "the first TLS record on the control connection")
		add(t.ClearAgain, placeFTP, nil, "clear text again")
	}
	add(s.Quit, placeFTP, nil, "QUIT")
	l.conn(add, s.Control, "control", "")
	for _, c := range dataConns(s) {
		announced := ""
		for _, o := range s.Offers {
			if o.Endpoint == c.Server {
				announced = "the announced endpoint "
			}
		}
		l.conn(add, c, "data", announced)
	}
	l.index[s.ID] = ix
	return ix
}

// conn adds the places of one TCP connection's life.
func (l *locator) conn(add func(ftpflow.Event, placeKind, *ftpflow.Conn, string), c *ftpflow.Conn, what, announced string) {
	if c == nil {
		return
	}
	answer := ""
	switch {
	case c.SYNACK.Seen():
	case c.Reset != nil:
		answer = ", refused with a RST"
	default:
		answer = ", unanswered"
	}
	for i, ev := range c.SYNs {
		n := ""
		if c.SYNCount > 1 {
			n = fmt.Sprintf(" %d of %d", i+1, c.SYNCount)
		}
		add(ev, placeTCP, c, fmt.Sprintf("%s connection SYN%s from %s to %s%s%s", what, n, c.Client, announced, c.Server, answer))
	}
	add(c.SYNACK, placeTCP, c, fmt.Sprintf("SYN-ACK: %s accepts the %s connection", c.Server, what))
	for side := ftpflow.Client; side <= ftpflow.Server; side++ {
		add(c.FIN[side], placeTCP, c, fmt.Sprintf("FIN: %s closes the %s connection after sending %d bytes", endpoint(c, side), what, c.Bytes[side]))
	}
	if r := c.Reset; r != nil {
		verb := "resets"
		if !c.SYNACK.Seen() && c.Handshake {
			verb = "refuses"
		}
		add(r.Event, placeTCP, c, fmt.Sprintf("RST: %s %s the %s connection", endpoint(c, r.From), verb, what))
	}
	add(c.FirstData, placeTCP, c, fmt.Sprintf("first data segment of the %s connection (%d and %d bytes sent in all)", what, c.Bytes[ftpflow.Client], c.Bytes[ftpflow.Server]))
	add(c.LastData, placeTCP, c, fmt.Sprintf("last data segment of the %s connection", what))
	add(c.First, placeTCP, c, fmt.Sprintf("first packet of the %s connection %s > %s", what, c.Client, c.Server))
	add(c.Last, placeTCP, c, fmt.Sprintf("last packet of the %s connection %s > %s", what, c.Client, c.Server))
	for _, tb := range c.TooBig {
		add(tb.Event, placeICMP, c, fmt.Sprintf("ICMP from router %s: a packet of %s was too big for a link of MTU %d", tb.Router, endpoint(c, tb.From), tb.MTU))
	}
	if p := c.Previous; p != nil {
		add(p.Closed, placeTCP, c, fmt.Sprintf("the close of the earlier connection on the same 5-tuple %s > %s", c.Client, c.Server))
	}
}

// endpoint names one side of a connection.
func endpoint(c *ftpflow.Conn, side ftpflow.Side) netip.AddrPort {
	if side == ftpflow.Server {
		return c.Server
	}
	return c.Client
}

// dataConns lists every data connection linked to a session, once each.
func dataConns(s *ftpflow.Session) []*ftpflow.Conn {
	seen := map[*ftpflow.Conn]bool{}
	var out []*ftpflow.Conn
	add := func(cs []*ftpflow.Conn) {
		for _, c := range cs {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	for _, t := range s.Transfers {
		add(t.Attempts)
	}
	for _, o := range s.Offers {
		add(o.Conns)
	}
	add(s.EncryptedData)
	return out
}

// command words a command line, its PASS argument masked.
func (l *locator) command(verb, arg string) string {
	if strings.EqualFold(verb, "PASS") && !l.showPasswords {
		arg = "****"
	}
	return report.Clean(strings.TrimSpace(verb + " " + arg))
}

// reply words a reply by its code and first line.
func reply(code int, text string) string {
	line, _, more := strings.Cut(strings.TrimSpace(text), "\n")
	if more {
		line += " ..."
	}
	return report.Clean(strings.TrimSpace(fmt.Sprintf("%d %s", code, strings.TrimSpace(line))))
}
