package report

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"ftpdiag/analyze"
	"ftpdiag/ftpflow"
)

// Timeline is one session as a ladder diagram: hosts as lanes, time
// running down, one step per meaningful event. The terminal and the HTML
// report draw it.
type Timeline struct {
	Session *ftpflow.Session
	// Lanes names the hosts: the FTP client, the FTP server, then any other
	// address a data connection went to (an announced private address).
	Lanes []string
	Steps []Step
	// Start is the time of the first step, the origin of Step times.
	Start time.Time
}

// StepKind says what a step shows.
type StepKind uint8

// The kinds of step.
const (
	StepControl StepKind = iota // an FTP command or reply
	StepTCP                     // a handshake, FIN or RST of the control connection
	StepData                    // an event of a data connection
	StepFailed                  // a data connection event that is a failure
	StepFold                    // several uneventful transfers summarised
)

// Step is one line of the ladder.
type Step struct {
	Kind     StepKind
	At       ftpflow.Event // the packet the step shows (the first, for several)
	From, To int           // lane indexes; From == To for a note without an arrow
	Label    string        // on the arrow, from the capture (escaped)
	Note     string        // the plain-words annotation
	Findings []string      // "F1 kind" of the findings shown at this step
	Transfer int           // the transfer's ID, 0 for none
	Conn     int           // data connection ID, 0 for control
	// Until is the last frame covered (for folds and multi-packet steps).
	Until ftpflow.Event
}

// TimelineOptions changes what the timeline shows.
type TimelineOptions struct {
	// ShowPasswords keeps PASS arguments.
	ShowPasswords bool
	// Fold folds runs of completed transfers when the session has more
	// than this many transfers (0: never fold).
	Fold int
	// All draws every step of a ladder; otherwise, past MaxLadderSteps
	// steps, the ladders draw the first and the last steps and those
	// showing a finding, and say how many they left out.
	All bool
}

// MaxLadderSteps bounds the steps a ladder draws unless
// TimelineOptions.All: a session of thousands of announcements is told by
// its first and last steps and its findings.
const MaxLadderSteps = 200

// MaxLanes bounds a timeline's lanes: the client, the server and the first
// hosts data connections went to each have one; the hosts after them
// share the last lane, "other hosts".
const MaxLanes = 6

// otherHosts names the lane that hosts past MaxLanes share.
const otherHosts = "other hosts"

// capSteps keeps, of more than limit steps, the first half of limit, the
// last quarter and, between them, up to a quarter showing a finding; each
// run of steps left out becomes one fold step saying how many.
func capSteps(steps []Step, limit int) []Step {
	if limit <= 0 || len(steps) <= limit {
		return steps
	}
	head, tail := limit/2, limit/4
	flagged := limit - head - tail
	out := make([]Step, 0, limit+flagged+1)
	hidden := 0
	var first Step
	flush := func() {
		if hidden > 0 {
			out = append(out, Step{Kind: StepFold, At: first.At, Note: fmt.Sprintf("%d more exchanges not drawn (--all draws them)", hidden)})
			hidden = 0
		}
	}
	for i, st := range steps {
		inner := i >= head && i < len(steps)-tail
		if !inner || len(st.Findings) > 0 && flagged > 0 {
			if inner {
				flagged--
			}
			flush()
			out = append(out, st)
			continue
		}
		if hidden == 0 {
			first = st
		}
		hidden++
	}
	flush()
	return out
}

// BuildTimeline turns a session and its findings into a ladder.
func BuildTimeline(s *ftpflow.Session, findings []analyze.Finding, opt TimelineOptions) *Timeline {
	tl := &Timeline{Session: s, Lanes: []string{s.Client.Addr().String(), s.Server.Addr().String()}}
	b := &timelineBuilder{tl: tl, s: s, opt: opt, laneOf: map[netip.Addr]int{s.Client.Addr(): 0, s.Server.Addr(): 1}}
	b.control()
	b.dataConnections()
	slices.SortStableFunc(tl.Steps, func(x, y Step) int {
		if c := x.At.Time.Compare(y.At.Time); c != 0 {
			return c
		}
		return x.At.Frame - y.At.Frame
	})
	b.attach(findings)
	if opt.Fold > 0 && len(s.Transfers) > opt.Fold {
		b.fold()
	}
	if len(tl.Steps) > 0 {
		tl.Start = tl.Steps[0].At.Time
	}
	return tl
}

type timelineBuilder struct {
	tl     *Timeline
	s      *ftpflow.Session
	opt    TimelineOptions
	laneOf map[netip.Addr]int
}

func (b *timelineBuilder) add(st Step) { b.tl.Steps = append(b.tl.Steps, st) }

// lane returns the lane of an address, adding one for a new address (or
// putting it in the lane of other hosts, past MaxLanes).
func (b *timelineBuilder) lane(a netip.Addr) int {
	if l, ok := b.laneOf[a]; ok {
		return l
	}
	if len(b.tl.Lanes) >= MaxLanes-1 {
		if len(b.tl.Lanes) == MaxLanes-1 {
			b.tl.Lanes = append(b.tl.Lanes, otherHosts)
		}
		b.laneOf[a] = MaxLanes - 1
		return MaxLanes - 1
	}
	b.tl.Lanes = append(b.tl.Lanes, a.String())
	b.laneOf[a] = len(b.tl.Lanes) - 1
	return len(b.tl.Lanes) - 1
}

// control adds the control connection's handshake, dialogue and close.
func (b *timelineBuilder) control() {
	s, c := b.s, b.s.Control
	if c.Handshake && len(c.SYNs) > 0 {
		b.add(Step{Kind: StepTCP, At: c.SYNs[0], From: 0, To: 1, Label: "SYN", Note: fmt.Sprintf("client opens the control connection to port %d", s.Server.Port())})
		if c.SYNACK.Seen() {
			b.add(Step{Kind: StepTCP, At: c.SYNACK, From: 1, To: 0, Label: "SYN-ACK"})
		}
	}
	transferAt := map[int]*ftpflow.Transfer{}
	for _, t := range s.Transfers {
		transferAt[t.Frame] = t
	}
	offerAt := map[int]*ftpflow.Offer{}
	for _, o := range s.Offers {
		offerAt[o.Frame] = o
	}
	var current *ftpflow.Transfer
	verb := "" // the last command, which the next reply answers
	for _, e := range s.Log {
		if e.From == ftpflow.Client {
			verb = strings.ToUpper(e.Verb)
			st := Step{Kind: StepControl, At: e.Event, From: 0, To: 1, Label: Clean(e.CommandLine(b.opt.ShowPasswords))}
			if o := offerAt[e.Frame]; o != nil && !o.Passive() {
				st.Note = "client announces " + o.Endpoint.String() + portArithmetic(o)
			}
			if t := transferAt[e.Frame]; t != nil && t.Command == e.Verb {
				current = t
				st.Transfer = t.ID
				st.Note = fmt.Sprintf("transfer %d: %s", t.ID, transferWords(t))
			}
			b.add(st)
			continue
		}
		st := Step{Kind: StepControl, At: e.Event, From: 1, To: 0, Label: Clean(fmt.Sprintf("%d %s", e.Code, firstLine(e.Text)))}
		st.Note = replyWords(e.Code, verb)
		if e.Incomplete {
			st.Label += " [incomplete]"
			st.Note = strings.TrimPrefix(st.Note+"; its closing line never came (the capture misses it or ends first)", "; ")
		}
		if o := offerAt[e.Frame]; o != nil && o.Passive() {
			st.Note = "server announces " + o.Endpoint.String() + portArithmetic(o)
		}
		if current != nil && (e.Code < 200 || e.Code == 226 || e.Code == 250 || failedReply(e.Code)) {
			st.Transfer = current.ID
			switch {
			case failedReply(e.Code):
				st.Note = fmt.Sprintf("transfer %d failed", current.ID)
			case e.Code >= 200:
				st.Note = fmt.Sprintf("transfer %d complete", current.ID)
			}
			if e.Code >= 200 {
				current = nil
			}
		}
		b.add(st)
	}
	if s.TLS != nil && s.TLS.Handshake.Seen() {
		b.add(Step{Kind: StepControl, At: s.TLS.Handshake, From: 0, To: 1, Label: "TLS handshake", Note: "from here the control channel is encrypted"})
	}
	if s.TLS != nil && s.TLS.ClearAgain.Seen() {
		b.add(Step{Kind: StepControl, At: s.TLS.ClearAgain, From: 0, To: 0, Note: "back to clear text"})
	}
	b.closing(c, 0, 1, 0, "control")
}

// closing adds a connection's FINs and RST.
func (b *timelineBuilder) closing(c *ftpflow.Conn, clientLane, serverLane, id int, what string) {
	lanes := [2]int{clientLane, serverLane}
	kind := StepTCP
	if id != 0 {
		kind = StepData
	}
	for side := ftpflow.Client; side <= ftpflow.Server; side++ {
		if ev := c.FIN[side]; ev.Seen() {
			b.add(Step{Kind: kind, At: ev, From: lanes[side], To: lanes[side.Other()], Label: "FIN", Note: what + " connection closed by " + b.role(lanes[side]), Conn: id})
		}
	}
	if r := c.Reset; r != nil && c.SYNACK.Seen() || r != nil && !c.Handshake {
		b.add(Step{Kind: StepFailed, At: r.Event, From: lanes[r.From], To: lanes[r.From.Other()], Label: "RST", Note: what + " connection reset by " + b.role(lanes[r.From]), Conn: id})
	}
}

// role names the host of a lane in FTP terms.
func (b *timelineBuilder) role(lane int) string {
	switch lane {
	case 0:
		return "the FTP client"
	case 1:
		return "the FTP server"
	}
	return b.tl.Lanes[lane]
}

// dataConnections adds every data connection's life.
func (b *timelineBuilder) dataConnections() {
	seen := map[*ftpflow.Conn]bool{}
	for _, t := range b.s.Transfers {
		for _, c := range t.Attempts {
			if !seen[c] {
				seen[c] = true
				b.dataConn(c, t)
			}
		}
	}
	for _, o := range b.s.Offers {
		for _, c := range o.Conns {
			if !seen[c] {
				seen[c] = true
				b.dataConn(c, nil)
			}
		}
	}
	for _, c := range b.s.EncryptedData {
		b.dataConn(c, nil)
	}
}

func (b *timelineBuilder) dataConn(c *ftpflow.Conn, t *ftpflow.Transfer) {
	cl, sl := b.lane(c.Client.Addr()), b.lane(c.Server.Addr())
	enc := c.Encrypted()
	if c.Client.Addr() == c.Server.Addr() { // one host (loopback): lanes by FTP role
		cl, sl = 0, 1
		if t != nil && t.Mode == ftpflow.ModeActive || t == nil && enc != nil && enc.Mode == ftpflow.ModeActive {
			cl, sl = 1, 0
		}
	}
	tid := 0
	if t != nil {
		tid = t.ID
	}
	label := fmt.Sprintf("SYN :%d > :%d", c.Client.Port(), c.Server.Port())
	if len(c.SYNs) > 0 {
		st := Step{Kind: StepData, At: c.SYNs[0], From: cl, To: sl, Label: label, Conn: c.ID, Transfer: tid}
		last := c.SYNs[len(c.SYNs)-1]
		span := last.Time.Sub(c.SYNs[0].Time).Round(time.Millisecond)
		switch {
		case !c.SYNACK.Seen() && c.Reset == nil:
			st.Kind = StepFailed
			st.Label = fmt.Sprintf("SYN x%d :%d > :%d", c.SYNCount, c.Client.Port(), c.Server.Port())
			st.Note = fmt.Sprintf("%d SYN%s over %s, no answer", c.SYNCount, plural(c.SYNCount), span)
			st.Until = last
		case c.SYNCount > 1:
			st.Label = fmt.Sprintf("SYN x%d :%d > :%d", c.SYNCount, c.Client.Port(), c.Server.Port())
			st.Note = fmt.Sprintf("data connection: %d SYNs over %s before an answer", c.SYNCount, span)
			st.Until = last
		default:
			st.Note = "data connection opens"
		}
		if b.tl.Lanes[sl] == otherHosts {
			st.Note = "to " + c.Server.Addr().String() + ": " + st.Note
		}
		if t == nil && enc != nil {
			st.Note += fmt.Sprintf(" (paired by hosts and timing: %s, %s; %s)", enc.Mode, analyze.PairingConfidence(c), c.EncryptedOutcome())
		}
		b.add(st)
	}
	if c.SYNACK.Seen() {
		b.add(Step{Kind: StepData, At: c.SYNACK, From: sl, To: cl, Label: "SYN-ACK", Note: "data connection established", Conn: c.ID, Transfer: tid})
	} else if r := c.Reset; r != nil && c.Handshake {
		b.add(Step{Kind: StepFailed, At: r.Event, From: sl, To: cl, Label: "RST", Note: "connection refused: nothing listens, or a firewall rejects it", Conn: c.ID, Transfer: tid})
	}
	for side := ftpflow.Client; side <= ftpflow.Server; side++ {
		if c.Bytes[side] == 0 || !c.FirstData.Seen() {
			continue
		}
		from, to := cl, sl
		if side == ftpflow.Server {
			from, to = sl, cl
		}
		if t != nil && t.DataSender() != side && c.Bytes[side] < 100 {
			continue // acknowledgement chatter, not the transfer
		}
		b.add(Step{Kind: StepData, At: c.FirstData, Until: c.LastData, From: from, To: to,
			Label: fmt.Sprintf("%s of data", byteCount(c.Bytes[side])), Note: dataNote(c, side), Conn: c.ID, Transfer: tid})
	}
	b.closing(c, cl, sl, c.ID, "data")
}

func dataNote(c *ftpflow.Conn, side ftpflow.Side) string {
	note := fmt.Sprintf("%d bytes", c.Bytes[side])
	if missing := c.Bytes[side] - c.Captured[side]; missing > 0 {
		note += fmt.Sprintf(" (%d not in the capture)", missing)
	}
	if r := c.Retransmissions[side]; r > 0 {
		note += fmt.Sprintf(", %d retransmitted", r)
	}
	return note
}

// attach puts each finding's ID on the step where it shows.
func (b *timelineBuilder) attach(findings []analyze.Finding) {
	for _, f := range findings {
		if f.Session != b.s.ID {
			continue
		}
		tid := f.Transfer
		if ids := f.Refs.Transfers; tid == 0 && len(ids) > 0 {
			tid = ids[0]
		}
		best := -1
		for i, st := range b.tl.Steps {
			switch {
			case tid != 0 && st.Transfer == tid && (st.Kind == StepFailed || best < 0 || st.Conn != 0 && b.tl.Steps[best].Conn == 0):
				best = i
			case tid == 0 && best < 0 && st.At.Frame == firstFrame(f):
				best = i
			}
		}
		if best < 0 && len(b.tl.Steps) > 0 {
			best = 0
		}
		if best >= 0 {
			b.tl.Steps[best].Findings = append(b.tl.Steps[best].Findings, f.ID+" "+f.Kind)
		}
	}
}

// firstFrame returns the frame a finding about no transfer shows at: its
// announcement, else the server's acceptance of TLS, else the request it
// is about, else the first packet it cites (the data SYNs of an encrypted
// session's failed connections); 0: none.
func firstFrame(f analyze.Finding) int {
	r := f.Refs
	first := 0
	if len(r.Frames) > 0 {
		first = slices.Min(r.Frames)
	}
	return cmp.Or(r.Offer.Frame, r.AcceptedFrame, r.RequestFrame, first)
}

// fold replaces runs of uneventful transfers (completed, or not captured,
// with no finding) by one summary step, keeping the first two and the last
// transfer, and every eventful one, in full.
func (b *timelineBuilder) fold() {
	steps := b.tl.Steps
	quiet := map[int]bool{}
	for _, t := range b.s.Transfers {
		quiet[t.ID] = t.Status == ftpflow.StatusOK && (t.Outcome == ftpflow.OutcomeCompleted || t.Outcome == ftpflow.OutcomeNotCaptured)
	}
	for _, st := range steps {
		if len(st.Findings) > 0 && st.Transfer != 0 {
			quiet[st.Transfer] = false
		}
	}
	last := b.s.Transfers[len(b.s.Transfers)-1].ID
	// The chunk of a step is the transfer it leads to: steps between two
	// transfer commands belong to the later one (its PASV, CWD...).
	chunk := make([]int, len(steps))
	next := 0
	for i := len(steps) - 1; i >= 0; i-- {
		if steps[i].Transfer != 0 {
			next = steps[i].Transfer
		}
		chunk[i] = next
	}
	foldable := func(i int) bool {
		id := chunk[i]
		return id > 2 && id != last && quiet[id] && len(steps[i].Findings) == 0
	}
	var out []Step
	for i := 0; i < len(steps); {
		if !foldable(i) {
			out = append(out, steps[i])
			i++
			continue
		}
		j := i
		ids := map[int]bool{}
		for j < len(steps) && foldable(j) {
			ids[chunk[j]] = true
			j++
		}
		out = append(out, Step{Kind: StepFold, At: steps[i].At, Until: steps[j-1].At, From: 0, To: 0,
			Note: fmt.Sprintf("%d more transfer%s like these, all uneventful (%d lines folded)", len(ids), plural(len(ids)), j-i)})
		i = j
	}
	b.tl.Steps = out
}

func transferWords(t *ftpflow.Transfer) string {
	what := "download of " + t.Arg
	switch t.Command {
	case "LIST", "NLST", "MLSD":
		what = "directory listing"
	case "STOR", "APPE":
		what = "upload of " + t.Arg
	case "STOU":
		what = "upload under a unique name"
	}
	switch t.Mode {
	case ftpflow.ModePassive:
		what += ", passive: the client will connect"
	case ftpflow.ModeActive:
		what += ", active: the server will connect"
	}
	return Clean(what)
}

// replyWords says in a few words what a reply means, knowing the command
// it answers: a 530 refuses a login only after USER or PASS.
func replyWords(code int, verb string) string {
	if code == 530 && verb != "USER" && verb != "PASS" {
		if verb == "AUTH" {
			return "server refuses AUTH: no TLS here, or not before login"
		}
		return "not logged in"
	}
	switch code {
	case 220:
		return "greeting"
	case 230:
		return "logged in"
	case 234:
		return "server accepts TLS"
	case 331:
		return "user accepted, password wanted"
	case 530:
		return "login refused"
	case 221:
		return "goodbye"
	case 421:
		return "server closes the session"
	case 150, 125:
		return "data connection ready"
	}
	return ""
}

// portArithmetic shows how PORT and 227 encode the port.
func portArithmetic(o *ftpflow.Offer) string {
	if o.Kind != ftpflow.OfferPASV && o.Kind != ftpflow.OfferPORT {
		return ""
	}
	p := o.Endpoint.Port()
	return fmt.Sprintf(" (port %d*256+%d = %d)", p>>8, p&0xff, p)
}

// firstLine returns the first non-empty line of a reply's text, marking
// that more follows.
func firstLine(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if i < len(lines)-1 {
			return l + " ..."
		}
		return l
	}
	return s
}

func byteCount(n int64) string {
	switch {
	case n >= 10<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 10<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// failedReply says whether a reply code reports a failure: 4yz and 5yz.
// RFC 2228's 6yz replies (631-633) carry a protected reply, not a failure.
func failedReply(code int) bool { return code >= 400 && code < 600 }
