package annotate

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"ftpdiag/analyze"
	"ftpdiag/ftpflow"
	"ftpdiag/report"
)

// frameKey names a packet of the analysis: its input and frame number.
type frameKey struct{ input, frame int }

// notes holds the comments of ours, by packet, in the order drawn.
type notes map[frameKey][]string

func (n notes) at(input, frame int) []string { return n[frameKey{input, frame}] }

func (n notes) add(k frameKey, comment string) {
	for _, c := range n[k] {
		if c == comment {
			return
		}
	}
	n[k] = append(n[k], comment)
}

// collect draws every comment of ours: the lessons' notes first (they say
// what a frame is), then each finding on the frames it cites.
func collect(a *analyze.Analysis, opt Options) notes {
	n := notes{}
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
				if st.Note == "" || !st.At.Seen() {
					continue
				}
				c := st.Note
				if st.Label != "" {
					c = st.Label + " — " + st.Note
				}
				n.add(frameKey{st.At.Input, st.At.Frame}, c)
			}
		}
	}
	loc := &locator{sessions: a.Sessions, byID: byID, showPasswords: opt.ShowPasswords, inputs: max(len(a.Inputs), 1), index: map[int]frameIndex{}}
	for _, f := range a.Findings {
		for _, c := range loc.cited(f) {
			n.add(c.key, headline(f))
			n.add(c.key, f.ID+": "+c.role)
		}
	}
	return n
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
	key  frameKey
	kind placeKind
	role string
	conn *ftpflow.Conn // for TCP and ICMP places
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

// cite is a frame a finding cites and its role there.
type cite struct {
	key  frameKey
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
		p, ok := l.find(s, frame, kind, r.Conn)
		text := "cited as evidence"
		if ok {
			text = role(p)
		}
		if prefix != "" {
			text = prefix + text
		}
		out = append(out, cite{p.key, text})
	}
	same := func(p place) string { return p.role }
	if o := r.Offer; o.Frame != 0 {
		add(o.Frame, placeFTP, "", func(p place) string { return announcing(s, o, p) })
	}
	add(r.RequestFrame, placeFTP, "the request: ", same)
	add(r.AcceptedFrame, placeFTP, "the server accepts TLS: ", same)
	add(r.CommandFrame, placeFTP, "the transfer command: ", same)
	for _, fr := range r.ReplyFrames {
		add(fr, placeFTP, "the server's reply: ", same)
	}
	for _, fr := range r.Frames {
		add(fr, placeTCP, "", same)
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

// find locates a cited frame: among the places of the finding's session
// (of every session for a finding about the whole capture), one of the
// kind cited, on the connection named when there is one. A frame that no
// place shows is taken from the only input, or the session's.
func (l *locator) find(s *ftpflow.Session, frame int, kind placeKind, conn analyze.ConnRef) (place, bool) {
	sessions := l.sessions
	if s != nil {
		sessions = []*ftpflow.Session{s}
	}
	var best place
	found, exact := false, false
	for _, ss := range sessions {
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
	if found {
		return best, true
	}
	input := 0
	if l.inputs > 1 && s != nil {
		input = s.Control.First.Input
	}
	return place{key: frameKey{input, frame}}, false
}

// indexOf returns a session's places, building the index the first time.
func (l *locator) indexOf(s *ftpflow.Session) frameIndex {
	if ix, ok := l.index[s.ID]; ok {
		return ix
	}
	ix := frameIndex{}
	add := func(ev ftpflow.Event, kind placeKind, c *ftpflow.Conn, role string) {
		if ev.Seen() {
			ix[ev.Frame] = append(ix[ev.Frame], place{key: frameKey{ev.Input, ev.Frame}, kind: kind, role: role, conn: c})
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
