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
}

// FoldTransfers is the number of transfers past which the transfers table
// lists only those that did not end well, unless AllTransfers.
const FoldTransfers = 20

// maxCell bounds capture text shown in one table cell.
const maxCell = 48

// WriteText writes the human-readable report: first the verdict and the
// findings, most severe first, then the details: the inputs, the
// sessions, the transfers and, with Explain, each session's ladder
// diagram. It returns the first write error.
func WriteText(w io.Writer, a *analyze.Analysis, opt TextOptions) error {
	ew := &errWriter{w: w}
	d := Build(a)
	tw := &textWriter{w: ew, opt: opt}
	tw.verdict(d)
	tw.findings(d)
	tw.inputs(d)
	tw.sessions(d)
	tw.transfers(d)
	tw.views(opt.Views)
	if opt.Explain && len(a.Sessions) > 0 {
		tw.heading("Ladder diagrams (time runs down; X marks a packet that got no answer)")
		if err := WriteLadders(ew, a, opt.Timeline); err != nil {
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
	fmt.Fprintf(tw.w, "\nVerdict: %s: %s, %s, %d info in %s (%s, %d failed)\n", word,
		count(bySeverity["error"], "error"), count(bySeverity["warning"], "warning"), bySeverity["info"],
		count(len(d.Sessions), "FTP session"), count(transfers, "transfer"), failed)
}

type textWriter struct {
	w   io.Writer
	opt TextOptions
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
	t := tw.table()
	t.AppendHeader(table.Row{"File", "Format", "Link", "Packets", "Span", "Complete"})
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
		t.AppendRow(table.Row{cell(in.File), format, strings.Join(in.LinkTypes, ","), in.Packets, span, complete})
	}
	tw.render(t)
	for _, in := range d.Inputs {
		for _, w := range in.Warnings {
			fmt.Fprintf(tw.w, "  warning: %s: %s\n", cell(in.File), w)
		}
	}
	s := d.Stats
	fmt.Fprintf(tw.w, "  %d packets, %d TCP connections", s.Packets, s.Connections)
	extra := []string{}
	for _, x := range []struct {
		n    int
		what string
	}{
		{s.Duplicates, "duplicate packets ignored"},
		{s.Fragments, "IP fragments not reassembled"},
		{s.Malformed, "malformed packets"},
		{s.UnsupportedLink, "packets of unsupported link types"},
		{s.EvictedConnections, "connections evicted (table full)"},
		{s.DroppedSessions, "FTP sessions not tracked (limit)"},
		{s.BackwardTimestamps, "timestamps going backwards"},
	} {
		if x.n > 0 {
			extra = append(extra, fmt.Sprintf("%d %s", x.n, x.what))
		}
	}
	if len(extra) > 0 {
		fmt.Fprintf(tw.w, "; %s", strings.Join(extra, ", "))
	}
	fmt.Fprintln(tw.w)
}

func (tw *textWriter) sessions(d *Document) {
	tw.heading(fmt.Sprintf("FTP sessions (%d)", len(d.Sessions)))
	if len(d.Sessions) == 0 {
		fmt.Fprintln(tw.w, "  no FTP control connection found")
		return
	}
	t := tw.table()
	t.AppendHeader(table.Row{"#", "Client", "Server", "User", "TLS", "Transfers", "OK", "Failed", "Control", "Seen from"})
	for _, s := range d.Sessions {
		tls := "no"
		if s.TLS != nil {
			tls = s.TLS.Command
			if s.TLS.AcceptedFrame == 0 {
				tls += " (refused)"
			}
		}
		ctl := closedWords(s.Control.ClosedBy)
		if !s.Control.Handshake {
			ctl += ", started before capture"
		}
		if s.DetectedBy == "content" {
			ctl += ", found by content"
		}
		t.AppendRow(table.Row{s.ID, s.Client, s.Server, cell(s.User), cell(tls), s.Counts.Transfers, s.Counts.OK, s.Counts.Failed, ctl, s.Vantage.Side})
	}
	tw.render(t)
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
	t := tw.table()
	t.AppendHeader(table.Row{"S/T", "Command", "Mode", "Announced", "Data connection", "Outcome", "Bytes", "Reply", "Took", "Frames"})
	fold := n > FoldTransfers && !tw.opt.AllTransfers
	folded := 0
	defer func() {
		if folded > 0 {
			fmt.Fprintf(tw.w, "  %s that ended ok not shown (--all lists every transfer)\n", count(folded, "transfer"))
		}
	}()
	for _, s := range d.Sessions {
		for _, tr := range s.Transfers {
			if fold && tr.Status == "ok" {
				folded++
				continue
			}
			cmd := tr.Command
			if tr.Arg != "" {
				cmd += " " + tr.Arg
			}
			announced := "-"
			if o := tr.Offer; o != nil {
				announced = o.Kind + " " + hostPort(o.IP, o.Port)
			}
			dataConn, bytes := "-", "-"
			if c := tr.DataConnection; c != nil {
				dataConn = c.Client + " > " + c.Server
				bytes = strconv.FormatInt(c.Bytes, 10)
			}
			reply := "-"
			if len(tr.Replies) > 0 {
				last := tr.Replies[len(tr.Replies)-1]
				reply = strconv.Itoa(last.Code)
			}
			took := "-"
			if tr.Duration != nil {
				took = tookWords(time.Duration(*tr.Duration * float64(time.Second)))
			}
			t.AppendRow(table.Row{fmt.Sprintf("%d/%d", s.ID, tr.ID), cell(cmd), tr.Mode, announced, dataConn,
				tw.outcome(tr.Outcome), bytes, reply, took, transferFrames(tr)})
		}
	}
	if t.Length() > 0 {
		tw.render(t)
	}
}

// orphanOffers notes announcements that data connections used while no
// transfer command followed (clients that connect first, then give up).
func (tw *textWriter) orphanOffers(d *Document) {
	for _, s := range d.Sessions {
		for _, o := range s.Offers {
			if o.Connections > 0 && len(o.Transfers) == 0 {
				fmt.Fprintf(tw.w, "  session %d: %s %s (frame %d): %d data connection attempt(s) (%s), no transfer command followed\n",
					s.ID, o.Kind, hostPort(o.IP, o.Port), o.Frame, o.Connections, connOutcomes(o.DataConnections))
			}
		}
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
	if !tw.opt.Color {
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
		fmt.Fprintf(tw.w, "%s %s %s%s: %s\n", f.ID, sev, f.Kind, where, f.Summary)
		if f.Filter != "" {
			fmt.Fprintf(tw.w, "    Wireshark: %s\n", f.Filter)
		}
		if tw.opt.Explain {
			fmt.Fprintf(tw.w, "%s\n", indent(wrap("Why: "+f.Explanation, 76), "    "))
			fmt.Fprintf(tw.w, "%s\n", indent(wrap("Fix: "+f.Remediation, 76), "    "))
			if ev := evidenceLine(f.Evidence); ev != "" {
				fmt.Fprintf(tw.w, "%s\n", indent(wrap("Evidence: "+ev, 76), "    "))
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

// cell shortens capture text for a table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > maxCell {
		cut := maxCell - 3
		for cut > 0 && s[cut]&0xc0 == 0x80 {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
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
	var b strings.Builder
	for _, para := range strings.Split(s, "\n") {
		n := 0
		for i, word := range strings.Fields(para) {
			if i > 0 && n+1+len(word) > width {
				b.WriteByte('\n')
				n = 0
			} else if i > 0 {
				b.WriteByte(' ')
				n++
			}
			b.WriteString(word)
			n += len(word)
		}
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n")
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// count says "1 error", "2 errors".
func count(n int, noun string) string {
	return fmt.Sprintf("%d %s%s", n, noun, plural(n))
}
