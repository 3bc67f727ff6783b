package report

import (
	"cmp"
	"fmt"
	"html"
	"slices"
	"strings"
	"time"

	"ftpdiag/analyze"
	"ftpdiag/ftpflow"
)

// SVG geometry. The drawings are laid out on a 1340-unit wide canvas and
// scaled by the page to the width it has (a 1400 px window holds them at
// about their natural size).
const (
	svgWidth      = 1340
	svgLabelWidth = 330 // lane labels, left of the plot
	svgRight      = 24
	svgAxisHeight = 26 // time axis labels at the top
	svgBadgeRow   = 18 // one row of finding badges
	svgCtlHeight  = 100
	svgLaneHeight = 46
	charWidth     = 6.6 // of 11 px sans-serif, generous
	boldWidth     = 7.4 // of 11 px bold sans-serif

	// maxSVGLanes is the number of data connections drawn one per lane;
	// beyond it a session's data connections are drawn as aggregates, one
	// lane per outcome, as a histogram of start times.
	maxSVGLanes = 30
	// maxSVGMarks is the number of control events drawn one tick each;
	// beyond it the dialogue is drawn as a density strip.
	maxSVGMarks = 300
	// maxCallouts is the number of dialogue lines a session may show as
	// text on its control lane before only announcements and failures do.
	maxCallouts = 60
	// maxOverviewRows is the number of sessions the shared time axis draws.
	maxOverviewRows = 300
	// maxBadgeRows is the number of rows finding badges may take.
	maxBadgeRows = 4
)

// svgStyle is shared by every drawing of a page (each SVG carries it, so
// that one drawing copied out of the page still renders).
const svgStyle = `<style>` +
	`text{font:11px sans-serif;fill:#222}.lbl{font-size:12px}.sub{fill:#555}.axis text{font-size:10px;fill:#555}` +
	`.note{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}` +
	`.lane-bg{fill:#f6f8fa}.bar{stroke-width:0}.control .bar{fill:#8fa8c8}.completed .bar,.completed.agg{fill:#5cb85c}` +
	`.failed .bar,.failed.agg{fill:#d9534f}.pending .bar,.pending.agg{fill:#f0ad4e}` +
	`.mark{stroke:#333;stroke-width:1.2}.mark.bad{stroke:#c9302c;stroke-width:2.2}.mark.offer{stroke:#1f5fa8;stroke-width:2.2}` +
	`.lead{stroke:#999;stroke-width:.8}.dens{fill:#555}.dens.bad{fill:#c9302c}` +
	`.call.bad{fill:#b52b27;font-weight:600}.call.offer{fill:#1f5fa8;font-weight:600}` +
	`.syn{fill:#fff;stroke:#333}.syn.lost{fill:#d9534f;stroke:#a12}.rst{stroke:#a12;stroke-width:2.5}.fin{fill:#333}.payload{fill:#1f6f3f;fill-opacity:.45}` +
	`.badge rect{rx:3px}.badge text{font:bold 11px sans-serif;fill:#fff}.badge.error rect{fill:#c9302c}.badge.warning rect{fill:#d58512}.badge.info rect{fill:#31708f}` +
	`.pin{stroke-width:1.2;stroke-dasharray:3 2}.pin.error{stroke:#c9302c}.pin.warning{stroke:#d58512}.pin.info{stroke:#31708f}` +
	`.spot{stroke:#fff;stroke-width:1}.spot.error{fill:#c9302c}.spot.warning{fill:#d58512}.spot.info{fill:#31708f}` +
	`.row-bg{fill:#f6f8fa}.ctl{fill:#c5d2e3}` +
	`</style>`

// timeScale maps capture time to x.
type timeScale struct {
	start time.Time
	span  time.Duration
	x0, w float64
}

func newScale(start, end time.Time) timeScale {
	span := end.Sub(start)
	if span <= 0 {
		span = time.Millisecond
	}
	return timeScale{start: start, span: span, x0: svgLabelWidth, w: svgWidth - svgLabelWidth - svgRight}
}

func (s timeScale) x(t time.Time) float64 {
	return s.x0 + s.w*float64(t.Sub(s.start))/float64(s.span)
}

// axis draws the time ticks and their grid lines from y0 to y1.
func (s timeScale) axis(b *strings.Builder, y0, y1 int, origin string) {
	b.WriteString(`<g class="axis">`)
	if origin != "" {
		fmt.Fprintf(b, `<text x="6" y="%d">%s</text>`, svgAxisHeight-10, html.EscapeString(origin))
	}
	for _, tick := range axisTicks(s.span) {
		tx := s.x0 + s.w*float64(tick)/float64(s.span)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e2e2e2"/><text x="%.1f" y="%d" text-anchor="middle">%s</text>`,
			tx, y0, tx, y1, tx, svgAxisHeight-10, formatTick(tick))
	}
	b.WriteString(`</g>`)
}

// rows places labels on rows without overlap: each row keeps the spans it
// holds; a label goes on the first row where it fits.
type rows [][][2]float64

// place returns the row where [lo, hi] fits, or -1.
func (r rows) place(lo, hi float64) int {
	for i, spans := range r {
		free := true
		for _, s := range spans {
			if lo < s[1] && s[0] < hi {
				free = false
				break
			}
		}
		if free {
			r[i] = append(r[i], [2]float64{lo, hi})
			return i
		}
	}
	return -1
}

func textWidth(s string) float64 { return float64(len([]rune(s))) * charWidth }

// marker is a finding shown on a drawing, where it happens.
type marker struct {
	id, kind, severity, summary string
	at                          time.Time
	conn                        int // data connection ID; 0: the control connection
}

// markers returns the findings of a timeline at the steps BuildTimeline
// attached them to.
func markers(tl *Timeline, findings []analyze.Finding) []marker {
	byID := map[string]analyze.Finding{}
	for _, f := range findings {
		if f.Session == tl.Session.ID {
			byID[f.ID] = f
		}
	}
	var out []marker
	for _, st := range tl.Steps {
		for _, s := range st.Findings {
			id, _, _ := strings.Cut(s, " ")
			f := byID[id]
			out = append(out, marker{id: id, kind: f.Kind, severity: f.Severity.String(), summary: f.Summary, at: st.At.Time, conn: st.Conn})
		}
	}
	return out
}

// dataLane is one lane of a session drawing: a data connection, or an
// aggregate of several of one outcome.
type dataLane struct {
	conns    []*ftpflow.Conn
	class    string // completed, failed or pending
	transfer *ftpflow.Transfer
	offer    *ftpflow.Offer
	label    [2]string
	note     string
}

// SessionSVG draws a session on a time axis: the control connection with
// its dialogue (announcements and failures written out, ticks that never
// collide), each data connection with its endpoints and what became of it,
// and the findings as badges pinned where they happen. Hover text (SVG
// title elements) gives frame numbers. It needs no script.
func SessionSVG(tl *Timeline, findings []analyze.Finding, showPasswords bool) string {
	s := tl.Session
	lanes := sessionLanes(s)
	start, end := s.Control.First.Time, s.Control.Last.Time
	for _, l := range lanes {
		for _, c := range l.conns {
			if c.First.Time.Before(start) {
				start = c.First.Time
			}
			if c.Last.Time.After(end) {
				end = c.Last.Time
			}
		}
	}
	sc := newScale(start, end)
	marks := markers(tl, findings)

	// Finding badges: rows above the lanes, each pinned to its lane.
	type placed struct {
		marker
		x   float64
		row int
	}
	var badges []placed
	br := make(rows, maxBadgeRows)
	nrows := 0
	for _, m := range marks {
		x := sc.x(m.at)
		w := textWidth(m.id) + 10
		lo := max(x-w/2, float64(svgLabelWidth)-w/2)
		row := br.place(lo-2, lo+w+2)
		if row < 0 {
			row = maxBadgeRows - 1
		}
		nrows = max(nrows, row+1)
		badges = append(badges, placed{m, x, row})
	}
	ctlTop := svgAxisHeight + nrows*svgBadgeRow + 4
	laneY := func(i int) int { return ctlTop + svgCtlHeight + i*svgLaneHeight }
	height := laneY(len(lanes)) + 10
	laneOf := map[int]int{}
	for i, l := range lanes {
		for _, c := range l.conns {
			laneOf[c.ID] = i
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="session %d timeline">`,
		svgWidth, height, svgWidth, height, s.ID)
	b.WriteString(svgStyle)
	sc.axis(&b, svgAxisHeight-6, height-6, "time from "+start.UTC().Format("2006-01-02 15:04:05.000")+" UTC")

	// the control lane
	mid := ctlTop + svgCtlHeight/2
	fmt.Fprintf(&b, `<g class="lane control" data-conn="%d">`, s.Control.ID)
	fmt.Fprintf(&b, `<rect class="lane-bg" x="0" y="%d" width="%d" height="%d"/>`, ctlTop+2, svgWidth, svgCtlHeight-4)
	fmt.Fprintf(&b, `<text class="lbl" x="6" y="%d">control connection</text>`, mid-4)
	fmt.Fprintf(&b, `<text class="sub" x="6" y="%d">%s &#8594; %s</text>`, mid+11, s.Client, s.Server)
	connBody(&b, s.Control, nil, sc, mid, false)
	controlMarks(&b, s, sc, mid, showPasswords)
	b.WriteString(`</g>`)

	for i, l := range lanes {
		y := laneY(i)
		lm := y + svgLaneHeight/2
		id := 0
		if len(l.conns) == 1 {
			id = l.conns[0].ID
		}
		fmt.Fprintf(&b, `<g class="lane data %s" data-conn="%d">`, l.class, id)
		fmt.Fprintf(&b, `<rect class="lane-bg" x="0" y="%d" width="%d" height="%d"/>`, y+2, svgWidth, svgLaneHeight-4)
		fmt.Fprintf(&b, `<text class="lbl" x="6" y="%d">%s</text>`, lm-3, html.EscapeString(Clean(l.label[0])))
		fmt.Fprintf(&b, `<text class="sub" x="6" y="%d">%s</text>`, lm+11, html.EscapeString(Clean(l.label[1])))
		if len(l.conns) == 1 {
			x0, x1 := connBody(&b, l.conns[0], l.transfer, sc, lm, true)
			laneNote(&b, l.note, x0, x1, lm)
		} else {
			aggregate(&b, l, sc, y)
		}
		b.WriteString(`</g>`)
	}

	// badges last, above everything
	for _, p := range badges {
		laneMid := mid
		if i, ok := laneOf[p.conn]; ok && p.conn != 0 {
			laneMid = laneY(i) + svgLaneHeight/2
		}
		w := textWidth(p.id) + 10
		bx := max(p.x-w/2, float64(svgLabelWidth)-w/2)
		by := svgAxisHeight + p.row*svgBadgeRow
		title := html.EscapeString(Clean(p.id + " " + p.kind + ": " + p.summary))
		fmt.Fprintf(&b, `<g class="finding-mark" data-finding="%s"><title>%s</title>`, p.id, title)
		fmt.Fprintf(&b, `<line class="pin %s" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/>`, p.severity, p.x, by+svgBadgeRow-3, p.x, laneMid)
		fmt.Fprintf(&b, `<circle class="spot %s" cx="%.1f" cy="%d" r="5"/>`, p.severity, p.x, laneMid)
		fmt.Fprintf(&b, `<g class="badge %s"><rect x="%.1f" y="%d" width="%.1f" height="%d"/><text x="%.1f" y="%d" text-anchor="middle">%s</text></g></g>`,
			p.severity, bx, by, w, svgBadgeRow-3, bx+w/2, by+11, p.id)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// sessionLanes lists a session's data connections, one lane each, or as
// aggregates by outcome when there are more than maxSVGLanes.
func sessionLanes(s *ftpflow.Session) []dataLane {
	var lanes []dataLane
	seen := map[*ftpflow.Conn]bool{}
	add := func(c *ftpflow.Conn, t *ftpflow.Transfer, o *ftpflow.Offer) {
		if seen[c] {
			return
		}
		seen[c] = true
		lanes = append(lanes, dataLane{conns: []*ftpflow.Conn{c}, class: connClass(c, t), transfer: t, offer: o})
	}
	for _, t := range s.Transfers {
		for _, c := range t.Attempts {
			add(c, t, t.Offer)
		}
	}
	for _, o := range s.Offers {
		for _, c := range o.Conns {
			add(c, nil, o)
		}
	}
	for _, c := range s.EncryptedData {
		add(c, nil, nil)
	}
	if len(lanes) <= maxSVGLanes {
		for i := range lanes {
			lanes[i].label, lanes[i].note = laneWords(lanes[i])
		}
		return lanes
	}
	var agg []dataLane
	for _, class := range []string{"failed", "pending", "completed"} {
		l := dataLane{class: class}
		var bytes int64
		for _, one := range lanes {
			if one.class == class {
				l.conns = append(l.conns, one.conns[0])
				bytes += one.conns[0].Bytes[0] + one.conns[0].Bytes[1]
			}
		}
		if len(l.conns) == 0 {
			continue
		}
		l.label = [2]string{fmt.Sprintf("%d data connections, %s", len(l.conns), class), fmt.Sprintf("%s in all; bars: how many started", byteCount(bytes))}
		agg = append(agg, l)
	}
	return agg
}

// laneWords returns the two label lines of a data connection's lane and
// the note written beside its bar: what it was for, which endpoint was
// announced and which was used, and what became of it.
func laneWords(l dataLane) (label [2]string, note string) {
	c, t, o := l.conns[0], l.transfer, l.offer
	switch {
	case t != nil:
		label[0] = fmt.Sprintf("T%d %s", t.ID, strings.TrimSpace(t.Command+" "+truncate(t.Arg, 28)))
	case o != nil:
		label[0] = fmt.Sprintf("%s offer %d (no transfer)", o.Kind, o.ID)
	case c.Encrypted() != nil:
		e := c.Encrypted()
		label[0] = fmt.Sprintf("TLS data connection? (%s, %s)", e.Mode, analyze.PairingConfidence(c))
	default:
		label[0] = "TLS data connection?"
	}
	label[1] = fmt.Sprintf("%s → %s", c.Client, c.Server)
	if o != nil {
		if o.Endpoint == c.Server {
			label[0] += fmt.Sprintf(" (%s %s)", o.Kind, o.Endpoint)
		} else {
			label[0] += fmt.Sprintf(" (%s announced %s)", o.Kind, o.Endpoint)
		}
	}
	span := c.Last.Time.Sub(c.First.Time).Round(time.Millisecond)
	switch {
	case c.Handshake && !c.SYNACK.Seen() && c.Reset == nil:
		note = fmt.Sprintf("%d SYN%s over %s to %s, no answer", c.SYNCount, plural(c.SYNCount), span, c.Server)
	case c.Handshake && !c.SYNACK.Seen():
		note = fmt.Sprintf("refused: RST from the %s", c.Reset.From)
	default:
		n := c.Bytes[0] + c.Bytes[1]
		note = byteCount(n)
		if t != nil {
			note += ", " + t.Outcome.String()
		} else if c.Encrypted() != nil {
			note += ", " + c.EncryptedOutcome().String()
		}
		if r := c.Reset; r != nil {
			note += ", reset by the " + r.From.String()
		}
	}
	return label, note
}

// laneNote writes a lane's note beside its bar: after it, else before
// it, else under it.
func laneNote(b *strings.Builder, note string, x0, x1 float64, mid int) {
	if note == "" {
		return
	}
	w := textWidth(note)
	x, y, anchor := x1+8, mid+4, "start"
	switch {
	case x+w <= svgWidth-4:
	case x0-8-w >= svgLabelWidth:
		x, anchor = x0-8, "end"
	case x0+w <= svgWidth-4:
		x, y = x0, mid+18
	default:
		x, y, anchor = svgWidth-4, mid+18, "end"
	}
	fmt.Fprintf(b, `<text class="note" x="%.1f" y="%d" text-anchor="%s">%s</text>`, x, y, anchor, html.EscapeString(Clean(note)))
}

// connBody draws a connection's bar, SYNs, payload, FINs and RST at mid,
// and returns the bar's ends.
func connBody(b *strings.Builder, c *ftpflow.Conn, t *ftpflow.Transfer, sc timeScale, mid int, payload bool) (x0, x1 float64) {
	x0, x1 = sc.x(c.First.Time), sc.x(c.Last.Time)
	if x1-x0 < 2 {
		x1 = x0 + 2
	}
	fmt.Fprintf(b, `<rect class="bar" x="%.1f" y="%d" width="%.1f" height="10"><title>%s</title></rect>`,
		x0, mid-5, x1-x0, html.EscapeString(connTitle(c, t)))
	for j, e := range c.SYNs {
		cls := "syn"
		if !c.SYNACK.Seen() {
			cls += " lost"
		}
		fmt.Fprintf(b, `<circle class="%s" cx="%.1f" cy="%d" r="4"><title>frame %d: SYN %d of %d</title></circle>`, cls, sc.x(e.Time), mid, e.Frame, j+1, c.SYNCount)
	}
	if payload && c.FirstData.Seen() {
		fmt.Fprintf(b, `<rect class="payload" x="%.1f" y="%d" width="%.1f" height="14"><title>frames %d-%d: %d bytes from the client, %d from the server</title></rect>`,
			sc.x(c.FirstData.Time), mid-7, max(2, sc.x(c.LastData.Time)-sc.x(c.FirstData.Time)), c.FirstData.Frame, c.LastData.Frame, c.Bytes[ftpflow.Client], c.Bytes[ftpflow.Server])
	}
	for side := ftpflow.Client; side <= ftpflow.Server; side++ {
		if e := c.FIN[side]; e.Seen() {
			fmt.Fprintf(b, `<rect class="fin" x="%.1f" y="%d" width="3" height="14"><title>frame %d: FIN from the %s</title></rect>`, sc.x(e.Time)-1.5, mid-7, e.Frame, side)
		}
	}
	if r := c.Reset; r != nil {
		rx := sc.x(r.Time)
		fmt.Fprintf(b, `<g class="rst"><title>frame %d: RST from the %s</title><line x1="%.1f" y1="%d" x2="%.1f" y2="%d"/><line x1="%.1f" y1="%d" x2="%.1f" y2="%d"/></g>`,
			r.Frame, r.From, rx-5, mid-6, rx+5, mid+6, rx-5, mid+6, rx+5, mid-6)
	}
	return x0, x1
}

// aggregate draws a lane of many connections as bars counting the
// connections that started in each few pixels.
func aggregate(b *strings.Builder, l dataLane, sc timeScale, y int) {
	const bucket = 3.0
	n := int(sc.w/bucket) + 1
	counts := make([]int, n)
	top := 0
	for _, c := range l.conns {
		i := min(max(int((sc.x(c.First.Time)-sc.x0)/bucket), 0), n-1)
		counts[i]++
		top = max(top, counts[i])
	}
	room := float64(svgLaneHeight - 8)
	for i, k := range counts {
		if k == 0 {
			continue
		}
		h := max(2, room*float64(k)/float64(top))
		fmt.Fprintf(b, `<rect class="agg %s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%d %s data connection%s</title></rect>`,
			l.class, sc.x0+float64(i)*bucket, float64(y+svgLaneHeight-4)-h, bucket-0.6, h, k, l.class, plural(k))
	}
}

// callout is a dialogue line that may be written out on the control lane.
type callout struct {
	text  string
	class string // "bad", "offer" or ""
	rank  int    // lower first
}

// controlMarks draws the control dialogue on the control lane: commands
// above the bar, replies below, each a tick moved apart from its
// neighbours so that none hides another, and the lines that tell the
// story (announced endpoints, failures, transfer commands) written out on
// rows that do not overlap. A dialogue too long for ticks is drawn as a
// density strip.
func controlMarks(b *strings.Builder, s *ftpflow.Session, sc timeScale, mid int, showPasswords bool) {
	offerAt := map[int]*ftpflow.Offer{}
	for _, o := range s.Offers {
		offerAt[o.Frame] = o
	}
	dense := len(s.Log) > maxSVGMarks
	type tick struct {
		x    float64
		e    ftpflow.LogEntry
		what string
		call *callout
	}
	var ticks [2][]tick
	for _, e := range s.Log {
		var what string
		var call *callout
		o := offerAt[e.Frame]
		if e.From == ftpflow.Client {
			what = e.CommandLine(showPasswords)
			switch {
			case o != nil:
				call = &callout{fmt.Sprintf("%s %s", e.Verb, o.Endpoint), "offer", 0}
			case ftpflow.IsTransferCommand(e.Verb), e.Verb == "PASV", e.Verb == "EPSV":
				call = &callout{truncate(what, 28), "", 2}
			case len(s.Log) <= maxCallouts:
				call = &callout{truncate(what, 20), "", 3}
			}
		} else {
			what = fmt.Sprintf("%d %s", e.Code, firstLine(e.Text))
			switch {
			case o != nil:
				call = &callout{fmt.Sprintf("%d → %s", e.Code, o.Endpoint), "offer", 0}
			case failedReply(e.Code):
				call = &callout{truncate(what, 34), "bad", 1}
			case len(s.Log) <= maxCallouts:
				call = &callout{truncate(what, 20), "", 3}
			}
		}
		ticks[e.From] = append(ticks[e.From], tick{x: sc.x(e.Time), e: e, what: what, call: call})
	}
	for side, ts := range ticks {
		dir := -1 // commands above the bar
		if side == int(ftpflow.Server) {
			dir = 1
		}
		if dense {
			density(b, ts, sc, mid, dir, func(t tick) bool { return failedReply(t.e.Code) }, func(t tick) float64 { return t.x })
		} else {
			// move ticks apart: at least 3 units, never more than 12 from
			// where they belong (beyond, a run this dense overlaps)
			last := -10.0
			for i := range ts {
				if x := max(ts[i].x, last+3); x-ts[i].x <= 12 {
					ts[i].x = x
				}
				last = ts[i].x
			}
		}
		// callouts on two rows, by rank
		order := make([]int, 0, len(ts))
		pad := 3.0
		if dense {
			pad = 60 // a few of the many, spaced out
		}
		for i, t := range ts {
			if t.call != nil && (!dense || t.call.rank <= 1) {
				order = append(order, i)
			}
		}
		slices.SortStableFunc(order, func(i, j int) int { return cmp.Compare(ts[i].call.rank, ts[j].call.rank) })
		r := make(rows, 2)
		row := make(map[int]int)
		anchorEnd := make(map[int]bool)
		for _, i := range order {
			w := textWidth(ts[i].call.text)
			if ts[i].call.class != "" {
				w = float64(len([]rune(ts[i].call.text))) * boldWidth
			}
			lo, hi := ts[i].x-1, ts[i].x+w+pad
			if ts[i].x+w > svgWidth-6 {
				lo, hi = ts[i].x-w-pad, ts[i].x+1
				anchorEnd[i] = true
			}
			if k := r.place(lo, hi); k >= 0 {
				row[i] = k
			}
		}
		for i, t := range ts {
			cls := "mark"
			switch {
			case failedReply(t.e.Code):
				cls += " bad"
			case offerAt[t.e.Frame] != nil:
				cls += " offer"
			}
			k, labelled := row[i]
			y1, y2 := mid+dir*6, mid+dir*12
			if labelled {
				y2 = mid + dir*(15+12*k)
			}
			if !dense {
				fmt.Fprintf(b, `<line class="%s" x1="%.1f" y1="%d" x2="%.1f" y2="%d"><title>frame %d: %s</title></line>`,
					cls, t.x, y1, t.x, y2, t.e.Frame, html.EscapeString(Clean(truncate(t.what, 120))))
			} else if labelled {
				fmt.Fprintf(b, `<line class="lead" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/>`, t.x, y1, t.x, y2)
			}
			if !labelled {
				continue
			}
			ty := mid + dir*(18+12*k)
			if dir > 0 {
				ty += 8
			}
			anchor := "start"
			tx := t.x + 2
			if anchorEnd[i] {
				anchor, tx = "end", t.x-2
			}
			fmt.Fprintf(b, `<text class="call note %s" x="%.1f" y="%d" text-anchor="%s"><title>frame %d</title>%s</text>`,
				t.call.class, tx, ty, anchor, t.e.Frame, html.EscapeString(Clean(t.call.text)))
		}
	}
}

// density draws events as bars counting them per few units of x, above
// (dir -1) or below (dir 1) mid; buckets holding a bad one are red.
func density[T any](b *strings.Builder, ts []T, sc timeScale, mid, dir int, bad func(T) bool, x func(T) float64) {
	const bucket = 2.0
	n := int(sc.w/bucket) + 1
	counts := make([]int, n)
	red := make([]bool, n)
	top := 0
	for _, t := range ts {
		i := min(max(int((x(t)-sc.x0)/bucket), 0), n-1)
		counts[i]++
		red[i] = red[i] || bad(t)
		top = max(top, counts[i])
	}
	for i, k := range counts {
		if k == 0 {
			continue
		}
		h := 2 + 8*float64(k)/float64(top)
		y := float64(mid + dir*6)
		if dir < 0 {
			y -= h
		}
		cls := "dens"
		if red[i] {
			cls += " bad"
		}
		fmt.Fprintf(b, `<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%d line%s</title></rect>`, cls, sc.x0+float64(i)*bucket, y, bucket-0.4, h, k, plural(k))
	}
}

// OverviewSVG draws every session of an analysis on one time axis, one
// row each (a swimlane view): the control connection, the data
// connections coloured by outcome and labelled with the port they went
// to, failure replies, and the findings where they happen. Ports held at
// the same time by several sessions show one above the other.
func OverviewSVG(a *analyze.Analysis, tls []*Timeline) string {
	if len(a.Sessions) == 0 {
		return ""
	}
	sessions := a.Sessions
	if len(sessions) > maxOverviewRows {
		sessions = sessions[:maxOverviewRows]
	}
	start, end := sessions[0].Control.First.Time, sessions[0].Control.Last.Time
	for _, s := range sessions {
		start, end = earliest(start, s.Control.First.Time), latest(end, s.Control.Last.Time)
		for _, l := range sessionConns(s) {
			start, end = earliest(start, l.First.Time), latest(end, l.Last.Time)
		}
	}
	sc := newScale(start, end)
	rowH := 26
	if len(sessions) > 40 {
		rowH = 18
	}
	height := svgAxisHeight + len(sessions)*rowH + 12
	if len(a.Sessions) > len(sessions) {
		height += 16
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="timeline overview" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="all sessions on one time axis">`,
		svgWidth, height, svgWidth, height)
	b.WriteString(svgStyle)
	sc.axis(&b, svgAxisHeight-6, height-6, "time from "+start.UTC().Format("2006-01-02 15:04:05.000")+" UTC")
	for i, s := range sessions {
		y := svgAxisHeight + i*rowH
		mid := y + rowH/2
		fmt.Fprintf(&b, `<g class="row" data-session="%d">`, s.ID)
		if i%2 == 0 {
			fmt.Fprintf(&b, `<rect class="row-bg" x="0" y="%d" width="%d" height="%d"/>`, y, svgWidth, rowH)
		}
		fmt.Fprintf(&b, `<text x="6" y="%d">S%d %s &#8594; %s</text>`, mid+4, s.ID, s.Client, s.Server)
		x0, x1 := sc.x(s.Control.First.Time), sc.x(s.Control.Last.Time)
		fmt.Fprintf(&b, `<rect class="ctl" x="%.1f" y="%d" width="%.1f" height="4"><title>session %d control connection, frames %d-%d</title></rect>`,
			x0, mid-2, max(1, x1-x0), s.ID, s.Control.First.Frame, s.Control.Last.Frame)
		labels := make(rows, 1)
		var pins strings.Builder // drawn last, over the bars
		if i < len(tls) && tls[i] != nil {
			for _, m := range markers(tls[i], a.Findings) {
				w := textWidth(m.id) + 8
				x := sc.x(m.at)
				bx := max(x-w-3, 2+svgLabelWidth-w)
				labels.place(bx, bx+w+3)
				fmt.Fprintf(&pins, `<g class="finding-mark" data-finding="%s"><title>%s</title><line class="pin %s" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/><g class="badge %s"><rect x="%.1f" y="%d" width="%.1f" height="14"/><text x="%.1f" y="%d" text-anchor="middle">%s</text></g></g>`,
					m.id, html.EscapeString(Clean(m.id+" "+m.kind+": "+m.summary)), m.severity, x, y+2, x, y+rowH-2, m.severity, bx, mid-7, w, bx+w/2, mid+4, m.id)
			}
		}
		for _, l := range sessionLanes(s) {
			for _, c := range l.conns {
				cx0, cx1 := sc.x(c.First.Time), sc.x(c.Last.Time)
				fmt.Fprintf(&b, `<g class="%s"><rect class="bar" x="%.1f" y="%d" width="%.1f" height="%d"><title>%s</title></rect></g>`,
					l.class, cx0, mid-rowH/4, max(2, cx1-cx0), rowH/2, html.EscapeString(connTitle(c, l.transfer)))
				port := fmt.Sprintf(":%d", c.Server.Port())
				w := textWidth(port)
				switch {
				case cx1+w+4 < svgWidth && labels.place(cx1+2, cx1+w+4) >= 0:
					fmt.Fprintf(&b, `<text class="note" x="%.1f" y="%d">%s</text>`, cx1+3, mid+4, port)
				case labels.place(cx0+2, cx0+w+4) >= 0:
					fmt.Fprintf(&b, `<text class="note" x="%.1f" y="%d">%s</text>`, cx0+3, mid+4, port)
				}
			}
		}
		for _, e := range s.Log {
			if e.From == ftpflow.Server && failedReply(e.Code) {
				fmt.Fprintf(&b, `<line class="mark bad" x1="%.1f" y1="%d" x2="%.1f" y2="%d"><title>frame %d: %s</title></line>`,
					sc.x(e.Time), y+3, sc.x(e.Time), y+rowH-3, e.Frame, html.EscapeString(Clean(truncate(fmt.Sprintf("%d %s", e.Code, firstLine(e.Text)), 120))))
			}
		}
		b.WriteString(pins.String())
		b.WriteString(`</g>`)
	}
	if n := len(a.Sessions) - len(sessions); n > 0 {
		fmt.Fprintf(&b, `<text x="6" y="%d">%d more sessions not drawn</text>`, height-10, n)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// sessionConns returns a session's data connections.
func sessionConns(s *ftpflow.Session) []*ftpflow.Conn {
	var out []*ftpflow.Conn
	for _, l := range sessionLanes(s) {
		out = append(out, l.conns...)
	}
	return out
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func connClass(c *ftpflow.Conn, t *ftpflow.Transfer) string {
	if t != nil && t.Data == c {
		switch {
		case t.Outcome.Failed():
			return "failed"
		case t.Outcome == ftpflow.OutcomeCompleted:
			return "completed"
		}
		return "pending"
	}
	if t == nil && c.Encrypted() != nil {
		switch o := c.EncryptedOutcome(); {
		case o.Failed():
			return "failed"
		case o == ftpflow.OutcomeCompleted:
			return "completed"
		}
		return "pending"
	}
	switch {
	case c.Handshake && !c.SYNACK.Seen(), c.Reset != nil && c.Bytes[0]+c.Bytes[1] == 0:
		return "failed"
	case c.Closed():
		return "completed"
	}
	return "pending"
}

func connTitle(c *ftpflow.Conn, t *ftpflow.Transfer) string {
	s := fmt.Sprintf("%s > %s, frames %d-%d", c.Client, c.Server, c.First.Frame, c.Last.Frame)
	if t != nil && t.Data == c {
		s += ", transfer " + fmt.Sprint(t.ID) + " " + t.Outcome.String()
	}
	return s
}

// axisTicks returns tick offsets at a round interval.
func axisTicks(span time.Duration) []time.Duration {
	steps := []time.Duration{time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond,
		50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second,
		5 * time.Second, 10 * time.Second, 20 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute,
		10 * time.Minute, 30 * time.Minute, time.Hour}
	step := steps[len(steps)-1]
	for _, s := range steps {
		if span/s <= 12 {
			step = s
			break
		}
	}
	var out []time.Duration
	for t := time.Duration(0); t <= span && len(out) < 50; t += step {
		out = append(out, t)
	}
	return out
}

func formatTick(d time.Duration) string {
	if d < time.Second && d > 0 {
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return fmt.Sprintf("%gs", d.Seconds())
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xc0 == 0x80 {
		cut--
	}
	return s[:cut] + "..."
}
