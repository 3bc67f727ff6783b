package report

import (
	"fmt"
	"html"
	"strings"
)

// Geometry of the two-view ladder drawing, on the same 1340-unit canvas
// as the session drawings.
const (
	svg4Lane0    = 250 // x of the client's lane
	svg4LaneGap  = 185 // between two lanes
	svg4NoteX    = svg4Lane0 + 3*svg4LaneGap + 16
	svg4Line     = 13 // a line of text
	svg4MinRow   = 28
	svg4NoteCols = 74 // characters of a note line
)

// svg4Style adds the two-view ladder's classes to svgStyle.
const svg4Style = `<style>` +
	`.l4 line.lane4{stroke:#999;stroke-width:1}.l4 .head{font-weight:600;font-size:12px}` +
	`.a4{stroke:#333;stroke-width:1.4;fill:none}.a4.lost{stroke:#c9302c}.a4.made{stroke:#d58512}.a4.unk{stroke:#777;stroke-dasharray:4 3}` +
	`.hd{fill:#333}.hd.lost{fill:#c9302c}.hd.made{fill:#d58512}.hd.unk{fill:#777}` +
	`.x4{stroke:#c9302c;stroke-width:2.6}.star{fill:#d58512;stroke:#fff}.dot{fill:#1f5fa8}.rw{stroke:#7b3fa0;stroke-width:3;stroke-dasharray:5 3}` +
	`.q4{font-weight:700;fill:#777}.fold4{fill:#666;font-style:italic}.tm{fill:#555;font-size:10px}` +
	`</style>`

// viewLadderSVG draws a two-view ladder: four lanes (the client, the two
// capture points, the server), time running down, each packet an arrow
// from its sender's lane that crosses the lanes of the points that saw it
// (dots), stops with a red X at the point it was last seen, or starts
// with a star at the point where it appeared; the times at both points
// and the frames on the left, the notes on the right. All capture text
// is escaped; no script.
func viewLadderSVG(l *viewLadder, steps []viewStep) string {
	lane := func(col int) float64 { return float64(svg4Lane0 + col*svg4LaneGap) }
	esc := func(s string) string { return html.EscapeString(Clean(s)) }
	var head strings.Builder
	y := 16
	fmt.Fprintf(&head, `<text class="lbl" x="6" y="%d">%s</text>`, y, esc("Across the two capture points: "+l.Title))
	y += svg4Line + 2
	fmt.Fprintf(&head, `<text class="sub" x="6" y="%d">%s</text>`, y, esc(l.Clock))
	for i, h := range l.Heads {
		y += svg4Line + 1
		fmt.Fprintf(&head, `<text x="6" y="%d"><tspan font-weight="600">%s</tspan> = %s</text>`, y, esc(h), esc(l.Keys[i]))
	}
	y += svg4Line + 1
	fmt.Fprintf(&head, `<text class="sub" x="6" y="%d">%s</text>`, y, esc(fmt.Sprintf("dots: seen at that capture point; red X: lost after the point it stops at; star: made between %s and %s, first seen there; ?: seen at one point only, fate unknown; purple dashes: payload rewritten between the points", l.NearName, l.FarName)))
	y += svg4Line + 12
	fmt.Fprintf(&head, `<text class="head" x="58" y="%d" text-anchor="end">at %s</text><text class="head" x="118" y="%d" text-anchor="end">at %s</text><text class="head" x="128" y="%d">frames</text>`,
		y, esc(l.NearName), y, esc(l.FarName), y)
	for col, h := range l.Heads {
		fmt.Fprintf(&head, `<text class="head" x="%.0f" y="%d" text-anchor="middle">%s</text>`, lane(col), y, esc(h))
	}
	top := y + 6
	var body strings.Builder
	y = top + 4
	for _, st := range steps {
		y += viewStepSVG(&body, l, st, y, lane)
	}
	if l.Omitted > 0 {
		fmt.Fprintf(&body, `<text class="fold4" x="6" y="%d">%d more packets not kept for this ladder</text>`, y+12, l.Omitted)
		y += svg4MinRow
	}
	height := y + 8
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="ladder4 l4" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		svgWidth, height, svgWidth, height, esc("ladder across two capture points, "+l.Title))
	b.WriteString(svgStyle)
	b.WriteString(svg4Style)
	b.WriteString(head.String())
	for col := range 4 {
		fmt.Fprintf(&b, `<line class="lane4" x1="%.0f" y1="%d" x2="%.0f" y2="%d"/>`, lane(col), top, lane(col), height-4)
	}
	b.WriteString(body.String())
	b.WriteString(`</svg>`)
	return b.String()
}

// viewStepSVG draws one step at y and returns the height it took.
func viewStepSVG(b *strings.Builder, l *viewLadder, st viewStep, y int, lane func(int) float64) int {
	esc := func(s string) string { return html.EscapeString(Clean(s)) }
	if st.Fold {
		fmt.Fprintf(b, `<text class="fold4" x="%.0f" y="%d">%s</text>`, lane(0)+8, y+14, esc("... "+st.Note))
		return svg4MinRow
	}
	x1, x2 := lane(st.From), lane(st.To)
	lo, hi := min(x1, x2), max(x1, x2)
	room := int((hi-lo-12)/charWidth) - 1
	label, note := st.Label, st.Note
	if room < 8 {
		label, note = "", joinNotes(st.Label, note)
	} else if columns(label) > room {
		label, note = string([]rune(label)[:room-3])+"...", joinNotes(st.Label, note)
	}
	notes := wrapLine(note, svg4NoteCols)
	h := max(svg4MinRow, len(notes)*svg4Line+10)
	ay := y + 18 // the arrow
	fmt.Fprintf(b, `<g class="step4" data-from="%d" data-to="%d" data-end="%s"><title>%s</title>`, st.From, st.To, endName(st), esc(fmt.Sprintf("frames %s: %s", st.Frames, st.Label)))
	fmt.Fprintf(b, `<text class="tm" x="58" y="%d" text-anchor="end">%s</text><text class="tm" x="118" y="%d" text-anchor="end">%s</text><text class="tm" x="128" y="%d">%s</text>`,
		ay+4, l.since(st.AtNear), ay+4, l.since(st.AtFar), ay+4, esc(st.Frames))
	cls := "a4"
	switch {
	case st.End == endVanished:
		cls += " lost"
	case st.End == endUnknown:
		cls += " unk"
	case st.Start == startMade:
		cls += " made"
	}
	fmt.Fprintf(b, `<line class="%s" x1="%.0f" y1="%d" x2="%.0f" y2="%d"/>`, cls, x1, ay, x2, ay)
	if st.Rewritten && lo <= lane(colNear) && hi >= lane(colFar) {
		fmt.Fprintf(b, `<line class="rw" x1="%.0f" y1="%d" x2="%.0f" y2="%d"/>`, lane(colNear)+4, ay, lane(colFar)-4, ay)
	}
	for col := colNear; col <= colFar; col++ {
		if x := lane(col); x > lo && x < hi {
			fmt.Fprintf(b, `<circle class="dot" cx="%.0f" cy="%d" r="3"/>`, x, ay)
		}
	}
	dir := 1.0
	if x2 < x1 {
		dir = -1
	}
	hd := strings.TrimPrefix(cls, "a4")
	fmt.Fprintf(b, `<polygon class="hd%s" points="%.1f,%d %.1f,%d %.1f,%d"/>`, hd, x2, ay, x2-dir*8, ay-4, x2-dir*8, ay+4)
	switch st.End {
	case endVanished:
		fmt.Fprintf(b, `<g class="x4"><line x1="%.0f" y1="%d" x2="%.0f" y2="%d"/><line x1="%.0f" y1="%d" x2="%.0f" y2="%d"/></g>`,
			x2-6, ay-6, x2+6, ay+6, x2-6, ay+6, x2+6, ay-6)
	case endUnknown:
		fmt.Fprintf(b, `<text class="q4" x="%.0f" y="%d" text-anchor="middle">?</text>`, x2+dir*10, ay+4)
	}
	if st.Start == startMade {
		fmt.Fprintf(b, `<circle class="star" cx="%.0f" cy="%d" r="5.5"/>`, x1, ay)
	}
	if label != "" {
		fmt.Fprintf(b, `<text class="note" x="%.0f" y="%d" text-anchor="middle">%s</text>`, (lo+hi)/2, ay-5, esc(label))
	}
	for i, line := range notes {
		fmt.Fprintf(b, `<text x="%d" y="%d">%s</text>`, svg4NoteX, y+14+i*svg4Line, esc(line))
	}
	b.WriteString(`</g>`)
	return h
}

// endName names how a step ends, for the drawing's data attributes.
func endName(st viewStep) string {
	switch {
	case st.End == endVanished:
		return "vanished"
	case st.End == endUnknown:
		return "unknown"
	case st.Start == startMade:
		return "made"
	}
	return "arrow"
}
