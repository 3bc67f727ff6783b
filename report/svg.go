package report

import (
	"fmt"
	"html"
	"math"
	"strings"
	"time"

	"ftpdiag/analyze"
	"ftpdiag/ftpflow"
)

// SVG geometry of a session diagram.
const (
	svgWidth      = 1100
	svgLabelWidth = 300
	svgLaneHeight = 34
	svgTop        = 36
	svgRight      = 20
	maxSVGLanes   = 60  // data connections drawn per session
	maxSVGMarks   = 600 // control events drawn per session
)

// SessionSVG draws a session as lanes on a time axis: the control
// connection, then each data connection, failed attempts in red, with
// hover text (SVG title elements) giving frame numbers. It needs no script.
func SessionSVG(s *ftpflow.Session, findings []analyze.Finding, showPasswords bool) string {
	type lane struct {
		conn     *ftpflow.Conn
		label    string
		class    string
		transfer *ftpflow.Transfer
	}
	lanes := []lane{{conn: s.Control, label: fmt.Sprintf("control %s > %s", s.Client, s.Server), class: "control"}}
	seen := map[*ftpflow.Conn]bool{}
	dropped := 0
	addConn := func(c *ftpflow.Conn, t *ftpflow.Transfer, label string) {
		if seen[c] {
			return
		}
		seen[c] = true
		if len(lanes) > maxSVGLanes {
			dropped++
			return
		}
		lanes = append(lanes, lane{conn: c, label: label, class: "data " + connClass(c, t), transfer: t})
	}
	for _, t := range s.Transfers {
		for _, c := range t.Attempts {
			addConn(c, t, fmt.Sprintf("T%d %s :%d > :%d", t.ID, strings.TrimSpace(t.Command+" "+truncate(t.Arg, 18)), c.Client.Port(), c.Server.Port()))
		}
	}
	for _, o := range s.Offers {
		for _, c := range o.Conns {
			addConn(c, nil, fmt.Sprintf("%s offer %d :%d > :%d", o.Kind, o.ID, c.Client.Port(), c.Server.Port()))
		}
	}
	for _, c := range s.EncryptedData {
		addConn(c, nil, fmt.Sprintf("TLS data? %s > %s", c.Client, c.Server))
	}

	start, end := s.Control.First.Time, s.Control.Last.Time
	for _, l := range lanes {
		if l.conn.First.Time.Before(start) {
			start = l.conn.First.Time
		}
		if l.conn.Last.Time.After(end) {
			end = l.conn.Last.Time
		}
	}
	span := end.Sub(start)
	if span <= 0 {
		span = time.Millisecond
	}
	plotW := float64(svgWidth - svgLabelWidth - svgRight)
	x := func(t time.Time) float64 {
		return float64(svgLabelWidth) + plotW*float64(t.Sub(start))/float64(span)
	}
	height := svgTop + len(lanes)*svgLaneHeight + 30

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="session %d timeline">`,
		svgWidth, height, svgWidth, height, s.ID)
	b.WriteString(`<style>.lane-bg{fill:#f6f8fa}.bar{stroke-width:0}.control .bar{fill:#8fa8c8}.completed .bar{fill:#5cb85c}.failed .bar{fill:#d9534f}.pending .bar{fill:#f0ad4e}` +
		`text{font:12px sans-serif;fill:#222}.axis text{font-size:10px;fill:#555}.mark{stroke:#333;stroke-width:1.5}.mark.bad{stroke:#c9302c;stroke-width:2.5}` +
		`.syn{fill:#fff;stroke:#333}.syn.lost{fill:#d9534f;stroke:#a12}.rst{stroke:#a12;stroke-width:2.5}.fin{fill:#333}.payload{fill:#1f6f3f;fill-opacity:.45}</style>`)
	// time axis
	b.WriteString(`<g class="axis">`)
	for _, tick := range axisTicks(span) {
		tx := float64(svgLabelWidth) + plotW*float64(tick)/float64(span)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/><text x="%.1f" y="%d" text-anchor="middle">%s</text>`,
			tx, svgTop-6, tx, height-24, tx, svgTop-10, formatTick(tick))
	}
	b.WriteString(`</g>`)
	for i, l := range lanes {
		y := svgTop + i*svgLaneHeight
		mid := y + svgLaneHeight/2
		fmt.Fprintf(&b, `<g class="lane %s" data-conn="%d">`, l.class, l.conn.ID)
		fmt.Fprintf(&b, `<rect class="lane-bg" x="0" y="%d" width="%d" height="%d"/>`, y+2, svgWidth, svgLaneHeight-4)
		fmt.Fprintf(&b, `<text x="6" y="%d">%s</text>`, mid+4, html.EscapeString(Clean(l.label)))
		c := l.conn
		x0, x1 := x(c.First.Time), x(c.Last.Time)
		if x1-x0 < 2 {
			x1 = x0 + 2
		}
		fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%d" width="%.1f" height="10"><title>%s</title></rect>`,
			x0, mid-5, x1-x0, html.EscapeString(connTitle(c, l.transfer)))
		for j, e := range c.SYNs {
			cls := "syn"
			if !c.SYNACK.Seen() {
				cls += " lost"
			}
			fmt.Fprintf(&b, `<circle class="%s" cx="%.1f" cy="%d" r="4"><title>frame %d: SYN %d of %d</title></circle>`, cls, x(e.Time), mid, e.Frame, j+1, c.SYNCount)
		}
		if c.FirstData.Seen() {
			fmt.Fprintf(&b, `<rect class="payload" x="%.1f" y="%d" width="%.1f" height="14"><title>frames %d-%d: %d bytes from the client, %d from the server</title></rect>`,
				x(c.FirstData.Time), mid-7, math.Max(2, x(c.LastData.Time)-x(c.FirstData.Time)), c.FirstData.Frame, c.LastData.Frame, c.Bytes[ftpflow.Client], c.Bytes[ftpflow.Server])
		}
		for side := ftpflow.Client; side <= ftpflow.Server; side++ {
			if e := c.FIN[side]; e.Seen() {
				fmt.Fprintf(&b, `<rect class="fin" x="%.1f" y="%d" width="3" height="14"><title>frame %d: FIN from the %s</title></rect>`, x(e.Time)-1.5, mid-7, e.Frame, side)
			}
		}
		if r := c.Reset; r != nil {
			rx := x(r.Time)
			fmt.Fprintf(&b, `<g class="rst"><title>frame %d: RST from the %s</title><line x1="%.1f" y1="%d" x2="%.1f" y2="%d"/><line x1="%.1f" y1="%d" x2="%.1f" y2="%d"/></g>`,
				r.Frame, r.From, rx-5, mid-6, rx+5, mid+6, rx-5, mid+6, rx+5, mid-6)
		}
		if i == 0 {
			controlMarks(&b, s, x, mid, showPasswords)
		}
		b.WriteString(`</g>`)
	}
	if dropped > 0 {
		fmt.Fprintf(&b, `<text x="6" y="%d">%d more data connections not drawn</text>`, height-8, dropped)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// controlMarks draws the control dialogue as ticks on the control lane:
// announcements and failure replies stand out.
func controlMarks(b *strings.Builder, s *ftpflow.Session, x func(time.Time) float64, mid int, showPasswords bool) {
	step := 1
	if len(s.Log) > maxSVGMarks {
		step = (len(s.Log) + maxSVGMarks - 1) / maxSVGMarks
	}
	for i, e := range s.Log {
		important := e.Code >= 400 || e.Code == 227 || e.Code == 228 || e.Code == 229 || e.Verb == "PORT" || e.Verb == "EPRT" || e.Verb == "LPRT" || ftpflow.IsTransferCommand(e.Verb)
		if i%step != 0 && !important {
			continue
		}
		cls := "mark"
		if e.Code >= 400 {
			cls += " bad"
		}
		var what string
		if e.From == ftpflow.Client {
			arg := e.Arg
			if e.Verb == "PASS" && !showPasswords {
				arg = "****"
			}
			what = strings.TrimSpace(e.Verb + " " + arg)
		} else {
			what = fmt.Sprintf("%d %s", e.Code, firstLine(e.Text))
		}
		y1, y2 := mid-12, mid-6
		if e.From == ftpflow.Server {
			y1, y2 = mid+6, mid+12
		}
		fmt.Fprintf(b, `<line class="%s" x1="%.1f" y1="%d" x2="%.1f" y2="%d"><title>frame %d: %s</title></line>`,
			cls, x(e.Time), y1, x(e.Time), y2, e.Frame, html.EscapeString(Clean(truncate(what, 120))))
	}
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
		if span/s <= 10 {
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
