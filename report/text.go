package report

import (
	"fmt"
	"ftpdiag/analyze"
	"ftpdiag/correlate"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"
)

// TextOptions changes the terminal report.
type TextOptions struct {
	// Explain adds each finding's explanation and remediation.
	Explain bool
	// Color uses ANSI colours (only when writing to a terminal).
	Color bool
	// Timeline options for the ladders that Explain adds.
	Timeline TimelineOptions
	// Views, when not nil, adds the "Two views" section: what comparing
	// the inputs packet by packet found.
	Views *correlate.Result
	// AllTransfers lists every transfer; by default, past
	// FoldTransfers transfers, only those that did not end "ok" are
	// listed, with a count of the others.
	AllTransfers bool
	// Width is the number of columns the report fits (0: no limit; Width
	// picks it for a writer). Tables wrap their cells at spaces, use
	// letters for hosts (with a legend) when addresses do not fit, ladders
	// narrow their lanes; Wireshark filters stay on one line, to be copied.
	Width int
}

// FoldTransfers is the number of transfers past which the transfers table
// lists only those that did not end well, unless AllTransfers.
const FoldTransfers = 20

// maxCell bounds capture text shown in one table cell whatever the width
// (a hostile capture's megabyte-long argument).
const maxCell = 200

// WriteText writes the human-readable report: first the verdict and the
// findings, most severe first, then the details: the inputs, the
// sessions, the transfers and, with Explain, each session's ladder
// diagram. It returns the first write error.
func WriteText(w io.Writer, a *analyze.Analysis, opt TextOptions) error {
	ew := &errWriter{w: w}
	d := Build(a)
	tw := &textWriter{w: ew, opt: opt, width: opt.Width}
	tw.verdict(d)
	tw.findings(d)
	tw.inputs(d)
	tw.sessions(d)
	tw.transfers(d)
	tw.encrypted(d)
	tw.views(opt.Views, a.ViewSessions())
	if opt.Explain && len(a.Sessions) > 0 {
		tw.heading("Ladder diagrams (time runs down; X marks a packet that got no answer)")
		if err := writeLadders(ew, a, opt.Timeline, opt.Width); err != nil {
			return err
		}
	}
	return ew.err
}

// verdict writes the report's first line: the worst severity found and
// what the capture held.
func (tw *textWriter) verdict(d *Document) {
	bySeverity := map[string]int{}
	for _, f := range d.Findings {
		bySeverity[f.Severity]++
	}
	transfers, failed := 0, 0
	for _, s := range d.Sessions {
		transfers += s.Counts.Transfers
		failed += s.Counts.Failed
	}
	word := "OK"
	switch {
	case bySeverity["error"] > 0:
		word = "ERROR"
	case bySeverity["warning"] > 0:
		word = "WARNING"
	}
	fmt.Fprintln(tw.w)
	tw.say("", fmt.Sprintf("Verdict: %s: %s, %s, %d info in %s (%s, %d failed)", word,
		count(bySeverity["error"], "error"), count(bySeverity["warning"], "warning"), bySeverity["info"],
		count(len(d.Sessions), "FTP session"), count(transfers, "transfer"), failed))
}

type textWriter struct {
	w     io.Writer
	opt   TextOptions
	width int
	// legend names hosts by letters once a table is too wide for their
	// addresses; the tables after it use the same letters.
	legend *hostLegend
}

// say writes text wrapped to the report's width, its first line after
// indent and the others indented four more.
func (tw *textWriter) say(indent, s string) {
	width := 0
	if tw.width > 0 {
		width = max(tw.width-len(indent)-4, 20)
	}
	for i, line := range wrapLine(s, width) {
		if i > 0 {
			line = "    " + line
		}
		fmt.Fprintln(tw.w, indent+line)
	}
}

// renderFit draws a table fitted to the report's width.
func (tw *textWriter) renderFit(tt *textTable) {
	t := tw.table()
	tt.fill(t, tw.width)
	tw.render(t)
}

// fitted builds a table with full addresses, or with host letters and a
// legend below when those make it too wide.
func (tw *textWriter) fitted(build func(*hostLegend) *textTable) {
	tt := build(nil)
	if tt.fits(tw.width) {
		tw.renderFit(tt)
		return
	}
	if tw.legend == nil {
		tw.legend = newHostLegend()
	}
	tw.renderFit(build(tw.legend))
	for _, line := range tw.legend.lines(tw.width - 2) {
		fmt.Fprintln(tw.w, "  "+line)
	}
}

// errWriter keeps the first write error and writes nothing after it.
type errWriter struct {
	w   io.Writer
	err error
}

func (ew *errWriter) Write(b []byte) (int, error) {
	if ew.err != nil {
		return 0, ew.err
	}
	n, err := ew.w.Write(b)
	ew.err = err
	return n, err
}

func (tw *textWriter) heading(s string) {
	if tw.opt.Color {
		s = text.Colors{text.Bold}.Sprint(s)
	}
	fmt.Fprintf(tw.w, "\n%s\n", s)
}

func (tw *textWriter) table() table.Writer {
	t := table.NewWriter()
	t.SetStyle(table.StyleLight)
	if !tw.opt.Color {
		t.Style().Format.Header = text.FormatUpper
	}
	return t
}

func (tw *textWriter) render(t table.Writer) {
	fmt.Fprintln(tw.w, t.Render())
}

func (tw *textWriter) inputs(d *Document) {
	tw.heading("Inputs")
	tt := &textTable{header: []string{"File", "Format", "Link", "Packets", "Span", "Complete"}, cut: map[int]bool{0: true}}
	for _, in := range d.Inputs {
		format := in.Format
		if in.Compressed {
			format += "+gzip"
		}
		span := ""
		if in.First != nil && in.Last != nil {
			span = shortSpan(*in.First, *in.Last)
		}
		complete := "yes"
		if !in.Complete {
			complete = "NO"
		}
		tt.rows = append(tt.rows, []any{cell(in.File), format, strings.Join(in.LinkTypes, ", "), in.Packets, span, complete})
	}
	tw.renderFit(tt)
	for _, in := range d.Inputs {
		for _, w := range in.Warnings {
			tw.say("  ", fmt.Sprintf("warning: %s: %s", cell(in.File), w))
		}
	}
	s := d.Stats
	line := fmt.Sprintf("%d packets, %d TCP connections", s.Packets, s.Connections)
	extra := []string{}
	for _, x := range []struct {
		n    int
		what string
	}{
		{s.Duplicates, "duplicate packets ignored"},
		{s.Fragments, "IP fragments not reassembled"},
		{s.Malformed, "malformed packets"},
		{s.UnsupportedLink, "packets of unsupported link types"},
		{s.Undecoded, "packets of a protocol not decoded (may hide FTP; first: " + s.FirstUndecoded + ")"},
		{s.EvictedConnections, "connections evicted (table full)"},
		{s.DroppedSessions, "FTP sessions not tracked (limit)"},
		{s.BackwardTimestamps, "timestamps going backwards"},
	} {
		if x.n > 0 {
			extra = append(extra, fmt.Sprintf("%d %s", x.n, x.what))
		}
	}
	if len(extra) > 0 {
		line += "; " + strings.Join(extra, ", ")
	}
	tw.say("  ", line)
}

func (tw *textWriter) sessions(d *Document) {
	tw.heading(fmt.Sprintf("FTP sessions (%d)", len(d.Sessions)))
	if len(d.Sessions) == 0 {
		fmt.Fprintln(tw.w, "  no FTP control connection found")
		return
	}
	tw.fitted(func(l *hostLegend) *textTable { return sessionTable(d, l) })
	for _, s := range d.Sessions {
		if len(s.Views) > 1 {
			tw.say("  ", sessionViewsLine(s))
		}
	}
}

// sessionViewsLine says how each input saw a session several inputs saw:
// "session 1, one session seen by 2 captures: [1] 198.51.100.10:60572 >
// 203.0.113.10:21 from frame 3, at the client; [2] ... (destination NAT)".
func sessionViewsLine(s Session) string {
	parts := make([]string, 0, len(s.Views))
	for i, v := range s.Views {
		part := fmt.Sprintf("[%d] %s > %s from frame %d, %s", v.Input+1, v.Client, v.Server, v.FirstFrame, capturedWhere(v.Vantage.Side))
		if i > 0 && v.NAT != "none" {
			part += fmt.Sprintf(" (%s NAT)", v.NAT)
		}
		parts = append(parts, part)
	}
	return fmt.Sprintf("session %d, one session seen by %d captures: %s", s.ID, len(s.Views), strings.Join(parts, "; "))
}

// seenFrom says where a session was seen from: its vantage, or each
// view's ("client+server").
func seenFrom(s Session) string {
	if len(s.Views) < 2 {
		return s.Vantage.Side
	}
	sides := make([]string, 0, len(s.Views))
	for _, v := range s.Views {
		sides = append(sides, v.Vantage.Side)
	}
	return strings.Join(sides, "+")
}

// sessionTable lays the sessions out; with a legend, hosts are letters
// and the transfer counts share one column, for narrow widths.
func sessionTable(d *Document, l *hostLegend) *textTable {
	tt := &textTable{header: []string{"#", "Client", "Server", "User", "TLS", "Transfers", "OK", "Failed", "Control", "Seen from"}}
	if l != nil {
		tt.header = []string{"#", "Client", "Server", "User", "TLS", "Transfers", "Control", "Seen from"}
	}
	for _, s := range d.Sessions {
		tls := "no"
		if s.TLS != nil {
			tls = s.TLS.Command
			switch {
			case s.TLS.AcceptedFrame == 0:
				tls += " (refused)"
			case s.TLS.Decrypted:
				tls = strings.TrimPrefix(tls+", decrypted", ", ")
			case s.TLS.DecryptionProblem != "":
				tls = strings.TrimPrefix(tls+", not decrypted ("+s.TLS.Decryption+")", ", ")
			}
		}
		ctl := closedWords(s.Control.ClosedBy)
		if !s.Control.Handshake {
			ctl += ", started before capture"
		}
		if s.DetectedBy == "content" {
			ctl += ", found by content"
		}
		if l == nil {
			tt.rows = append(tt.rows, []any{s.ID, s.Client, s.Server, cell(s.User), cell(tls), s.Counts.Transfers, s.Counts.OK, s.Counts.Failed, ctl, seenFrom(s)})
			continue
		}
		counts := fmt.Sprintf("%d: %d ok, %d failed", s.Counts.Transfers, s.Counts.OK, s.Counts.Failed)
		tt.rows = append(tt.rows, []any{s.ID, l.endpoint(s.Client), l.endpoint(s.Server), cell(s.User), cell(tls), counts, ctl, seenFrom(s)})
	}
	return tt
}

func (tw *textWriter) transfers(d *Document) {
	n := 0
	for _, s := range d.Sessions {
		n += len(s.Transfers)
	}
	tw.heading(fmt.Sprintf("Transfers (%d)", n))
	defer tw.orphanOffers(d)
	if n == 0 {
		fmt.Fprintln(tw.w, "  none")
		return
	}
	fold := n > FoldTransfers && !tw.opt.AllTransfers
	var shown []transferRow
	for _, s := range d.Sessions {
		for _, tr := range s.Transfers {
			if !fold || tr.Status != "ok" {
				shown = append(shown, transferRow{s.ID, tr})
			}
		}
	}
	if len(shown) > 0 {
		tw.fitted(func(l *hostLegend) *textTable { return tw.transferTable(shown, l) })
	}
	if folded := n - len(shown); folded > 0 {
		tw.say("  ", fmt.Sprintf("%s that ended ok not shown (--all lists every transfer)", count(folded, "transfer")))
	}
}

// transferRow is a transfer with its session's ID.
type transferRow struct {
	session int
	Transfer
}

// transferTable lays the transfers out; with a legend, hosts are letters
// and the mode, bytes and duration join other columns, for narrow widths.
func (tw *textWriter) transferTable(rows []transferRow, l *hostLegend) *textTable {
	tt := &textTable{header: []string{"S/T", "Command", "Mode", "Announced", "Data connection", "Outcome", "Bytes", "Reply", "Took", "Frames"},
		paint: map[int]func(string) string{5: tw.outcome}}
	short := func(ep string) string { return ep }
	if l != nil {
		tt.header = []string{"S/T", "Command", "Offer", "Data", "Outcome", "Frames"}
		tt.paint = map[int]func(string) string{4: tw.outcome}
		short = l.endpoint
	}
	for _, tr := range rows {
		cmd := tr.Command
		if tr.Arg != "" {
			cmd += " " + tr.Arg
		}
		announced := "-"
		if o := tr.Offer; o != nil {
			announced = o.Kind + " " + short(hostPort(o.IP, o.Port))
		}
		dataConn, bytes := "-", "-"
		if c := tr.DataConnection; c != nil {
			dataConn = short(c.Client) + " > " + short(c.Server)
			bytes = strconv.FormatInt(c.Bytes, 10)
		}
		reply := "-"
		if len(tr.Replies) > 0 {
			reply = strconv.Itoa(tr.Replies[len(tr.Replies)-1].Code)
		}
		took := "-"
		if tr.Duration != nil {
			took = tookWords(time.Duration(*tr.Duration * float64(time.Second)))
		}
		id := fmt.Sprintf("%d/%d", tr.session, tr.ID)
		if l == nil {
			tt.rows = append(tt.rows, []any{id, cell(cmd), tr.Mode, announced, dataConn, tr.Outcome, bytes, reply, took, transferFrames(tr.Transfer)})
			continue
		}
		outcome := tr.Outcome
		if bytes != "-" {
			outcome += "\n" + bytes + keep + "bytes"
		}
		if reply != "-" {
			outcome += "\nreply" + keep + reply
		}
		if took != "-" {
			outcome += "\ntook" + keep + took
		}
		frames := strings.ReplaceAll(transferFrames(tr.Transfer), " ", keep)
		tt.rows = append(tt.rows, []any{id, cell(cmd) + " (" + tr.Mode + ")", announced, dataConn, outcome, strings.ReplaceAll(frames, ","+keep, ", ")})
	}
	return tt
}

// orphanOffers notes announcements that data connections used while no
// transfer command followed (clients that connect first, then give up).
// Past FoldTransfers of them, only the first are listed unless
// AllTransfers.
func (tw *textWriter) orphanOffers(d *Document) {
	left := 0
	for _, s := range d.Sessions {
		for _, o := range s.Offers {
			if o.Connections == 0 || len(o.Transfers) > 0 {
				continue
			}
			if !tw.opt.AllTransfers && left+1 > FoldTransfers {
				left++
				continue
			}
			left++
			tw.say("  ", fmt.Sprintf("session %d: %s %s (frame %d): %d data connection attempt(s) (%s), no transfer command followed",
				s.ID, o.Kind, hostPort(o.IP, o.Port), o.Frame, o.Connections, connOutcomes(o.DataConnections)))
		}
	}
	if left > FoldTransfers && !tw.opt.AllTransfers {
		tw.say("  ", fmt.Sprintf("and %d more announcements used by no transfer command (--all lists them)", left-FoldTransfers))
	}
}

// connOutcomes lists the outcomes of connections, counted: "syn_unanswered"
// or "2 syn_refused, completed".
func connOutcomes(cs []Connection) string {
	var order []string
	n := map[string]int{}
	for _, c := range cs {
		if n[c.Outcome] == 0 {
			order = append(order, c.Outcome)
		}
		n[c.Outcome]++
	}
	parts := make([]string, 0, len(order))
	for _, o := range order {
		if n[o] > 1 {
			o = strconv.Itoa(n[o]) + " " + o
		}
		parts = append(parts, o)
	}
	return strings.Join(parts, ", ")
}

// transferFrames lists the frames to look at in Wireshark: the offer, the
// command, the data SYN and the final reply.
func transferFrames(tr Transfer) string {
	var parts []string
	if tr.Offer != nil {
		parts = append(parts, "offer "+strconv.Itoa(tr.Offer.Frame))
	}
	parts = append(parts, "cmd "+strconv.Itoa(tr.Frame))
	if c := tr.DataConnection; c != nil {
		if len(c.SYNFrames) > 0 {
			parts = append(parts, "syn "+strconv.Itoa(c.SYNFrames[0]))
		} else {
			parts = append(parts, "data "+strconv.Itoa(c.FirstFrame))
		}
	}
	if len(tr.Replies) > 0 {
		parts = append(parts, "reply "+strconv.Itoa(tr.Replies[len(tr.Replies)-1].Frame))
	}
	return strings.Join(parts, ", ")
}

func (tw *textWriter) outcome(o string) string {
	if !tw.opt.Color || strings.Contains(o, " ") {
		return o
	}
	switch o {
	case "completed":
		return text.FgGreen.Sprint(o)
	case "not_captured", "incomplete", "unknown":
		return text.FgYellow.Sprint(o)
	}
	return text.FgRed.Sprint(o)
}

func (tw *textWriter) findings(d *Document) {
	tw.heading(fmt.Sprintf("Findings (%d)", len(d.Findings)))
	if len(d.Findings) == 0 {
		fmt.Fprintln(tw.w, "  nothing wrong found")
		return
	}
	for _, f := range SortFindings(d.Findings) {
		where := ""
		switch {
		case f.Transfer != 0:
			where = fmt.Sprintf(" (session %d, transfer %d)", f.Session, f.Transfer)
		case f.Session != 0:
			where = fmt.Sprintf(" (session %d)", f.Session)
		}
		sev := strings.ToUpper(f.Severity)
		if tw.opt.Color {
			switch f.Severity {
			case "error":
				sev = text.Colors{text.FgRed, text.Bold}.Sprint(sev)
			case "warning":
				sev = text.FgYellow.Sprint(sev)
			default:
				sev = text.FgCyan.Sprint(sev)
			}
		}
		if f.Confidence != "certain" {
			sev += " (" + f.Confidence + ")"
		}
		tw.say("", fmt.Sprintf("%s %s %s%s: %s", f.ID, sev, f.Kind, where, f.Summary))
		if f.Filter != "" {
			fmt.Fprintf(tw.w, "    Wireshark: %s\n", f.Filter)
		}
		if tw.opt.Explain {
			width := 76
			if tw.width > 0 {
				width = min(width, max(tw.width-4, 20))
			}
			fmt.Fprintf(tw.w, "%s\n", indent(wrap("Why: "+f.Explanation, width), "    "))
			fmt.Fprintf(tw.w, "%s\n", indent(wrap("Fix: "+f.Remediation, width), "    "))
			if ev := evidenceLine(f.Evidence); ev != "" {
				fmt.Fprintf(tw.w, "%s\n", indent(wrap("Evidence: "+ev, width), "    "))
			}
		}
	}
}

// SortFindings returns the findings most severe first, keeping the order of
// equally severe ones (causes are listed before their consequences).
func SortFindings(fs []Finding) []Finding {
	out := make([]Finding, 0, len(fs))
	for _, sev := range []string{"error", "warning", "info"} {
		for _, f := range fs {
			if f.Severity == sev {
				out = append(out, f)
			}
		}
	}
	return out
}

func evidenceLine(ev map[string]any) string {
	if len(ev) == 0 {
		return ""
	}
	keys := make([]string, 0, len(ev))
	for k := range ev {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, strings.ReplaceAll(k, "_", " ")+": "+readable(reflect.ValueOf(ev[k])))
	}
	return strings.Join(parts, "; ")
}

// readable renders an evidence value for a person: a reply as
// "(code 425, frame 20, text ...)", a list as "71, 72", never Go's map
// syntax.
func readable(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return "none"
		}
		return readable(v.Elem())
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = strings.ReplaceAll(fmt.Sprint(k), "_", " ") + " " + readable(v.MapIndex(k))
		}
		return "(" + strings.Join(parts, ", ") + ")"
	case reflect.Slice, reflect.Array:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = readable(v.Index(i))
		}
		return strings.Join(parts, ", ")
	case reflect.Invalid:
		return "none"
	}
	return fmt.Sprint(v.Interface())
}

func hostPort(ip string, port int) string {
	if strings.Contains(ip, ":") {
		return "[" + ip + "]:" + strconv.Itoa(port)
	}
	return ip + ":" + strconv.Itoa(port)
}

// cell puts capture text on one line, bounded by maxCell: its middle is
// cut, never its end, where names differ.
func cell(s string) string {
	return cutMiddle(strings.ReplaceAll(s, "\n", " "), maxCell)
}

func shortSpan(first, last string) string {
	f, err1 := time.Parse(time.RFC3339Nano, first)
	l, err2 := time.Parse(time.RFC3339Nano, last)
	if err1 != nil || err2 != nil {
		return ""
	}
	return fmt.Sprintf("%s UTC +%s", f.UTC().Format("2006-01-02 15:04:05"), l.Sub(f).Round(time.Millisecond))
}

// closedWords says how a control connection ended: "closed by both",
// "reset by the server", "open at end".
func closedWords(closedBy string) string {
	switch {
	case closedBy == "open":
		return "open at end"
	case strings.HasPrefix(closedBy, "reset_by_"):
		return "reset by the " + strings.TrimPrefix(closedBy, "reset_by_")
	}
	return "closed by " + closedBy
}

// tookWords rounds a transfer's duration to the millisecond, saying
// "<1ms" rather than "0s" for a quicker one.
func tookWords(d time.Duration) string {
	if d < time.Millisecond {
		return "<1ms"
	}
	return d.Round(time.Millisecond).String()
}

// wrap breaks s into lines of at most width runes at spaces.
func wrap(s string, width int) string {
	return strings.Join(wrapText(s, width), "\n")
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// count says "1 error", "2 errors".
func count(n int, noun string) string {
	return fmt.Sprintf("%d %s%s", n, noun, plural(n))
}
