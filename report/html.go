package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"

	"ftpdiag/analyze"
	"ftpdiag/correlate"
	"ftpdiag/ftpflow"
)

// Bounds of the HTML page: beyond them a list is folded under a
// <details> element that says how many it holds.
const (
	// maxShownTransfers is the number of transfers a session's table
	// shows unfolded when some are not failures.
	maxShownTransfers = 12
	// maxShownFailures is the number of failed transfers shown unfolded.
	maxShownFailures = 40
	// maxListedPerKind is the number of findings of one kind listed
	// unfolded, one line each, after the first shown in full.
	maxListedPerKind = 2
	// maxOpenSessions is the number of sessions shown open even when
	// nothing is wrong with them.
	maxOpenSessions = 3
	// maxKindSessions is the number of sessions a finding kind lists.
	maxKindSessions = 16
)

// HTMLOptions changes the HTML report.
type HTMLOptions struct {
	Timeline TimelineOptions
	// Version names the tool in the footer.
	Version string
	// Views, when not nil, adds the "Two views" section: what comparing
	// the input files packet by packet found (package correlate).
	Views *correlate.Result
}

// htmlSession is one session as the page shows it.
type htmlSession struct {
	Session
	SVG template.HTML // drawn by SessionSVG from escaped text
	// Ladder is the ladder diagram, one row per step.
	Ladder      []ladderRow
	LadderLanes string
	Findings    []Finding
	// Failed lists the transfers that failed, Others the rest.
	Failed, Others []Transfer
	// FailedFolded and OthersFolded are the tails of the lists shown
	// folded.
	FailedFolded, OthersFolded []Transfer
	// Severity is the highest severity of the session's findings ("" when
	// none); Open says whether the session is shown unfolded.
	Severity string
	Open     bool
}

// maxHeaderFindings bounds the finding badges in a session's heading; the
// findings section lists every one.
const maxHeaderFindings = 20

// HeaderFindings are the findings badged in the session's heading.
func (s htmlSession) HeaderFindings() []Finding {
	return s.Findings[:min(len(s.Findings), maxHeaderFindings)]
}

// MoreFindings counts the session's findings not badged in its heading.
func (s htmlSession) MoreFindings() int { return len(s.Findings) - len(s.HeaderFindings()) }

// ladderRow is one step of a ladder diagram as an HTML table row: the
// arrow drawn in text between the hosts, the note beside it wrapping.
type ladderRow struct {
	Time, Frame, Line, Note string
	Fold, Failed            bool
	Findings                []ladderFinding
}

// ladderFinding is a finding shown on a ladder step.
type ladderFinding struct{ ID, Kind string }

// findingGroup is the findings of one kind: the first shown in full
// (the others share its explanation and remedy), the next few listed one
// line each, the rest folded.
type findingGroup struct {
	Kind     string
	Severity string
	First    Finding
	Listed   []Finding
	Folded   []Finding
	Sessions []int
	// MoreSessions counts sessions not listed.
	MoreSessions int
}

// Count is the number of findings of the kind.
func (g findingGroup) Count() int { return 1 + len(g.Listed) + len(g.Folded) }

type htmlPage struct {
	Doc      *Document
	Sessions []htmlSession
	Findings []Finding
	Groups   []findingGroup
	Overview template.HTML
	Errors   int
	Warnings int
	Version  string
	Views    *htmlViews
}

//go:embed report.html.tmpl
var htmlSource string

var htmlTemplate = template.Must(template.New("report").Parse(htmlSource))

// WriteHTML writes one self-contained HTML page: no script, no font, no
// fetch of any kind (a Content-Security-Policy forbids them). It puts
// first the findings, grouped by kind with counts, then (with several
// sessions) every session on one time axis, then per session an SVG
// timeline telling its story, its transfers (the failed ones shown, the
// rest folded) and its ladder diagram (open when the session has a
// problem).
func WriteHTML(w io.Writer, a *analyze.Analysis, opt HTMLOptions) error {
	d := Build(a)
	page := htmlPage{Doc: d, Findings: SortFindings(d.Findings), Version: opt.Version, Views: buildHTMLViews(opt.Views, a.ViewSessions(), opt.Timeline)}
	for _, f := range d.Findings {
		switch f.Severity {
		case "error":
			page.Errors++
		case "warning":
			page.Warnings++
		}
	}
	page.Groups = groupFindings(page.Findings)
	tls := make([]*Timeline, len(a.Sessions))
	for i, s := range a.Sessions {
		tl := BuildTimeline(s, a.Findings, opt.Timeline)
		tls[i] = tl
		hs := htmlSession{Session: d.Sessions[i], SVG: template.HTML(SessionSVG(tl, a.Findings, opt.Timeline.ShowPasswords))}
		hs.Ladder, hs.LadderLanes = ladderRows(tl, opt.Timeline.All)
		for _, f := range page.Findings {
			if f.Session == s.ID {
				hs.Findings = append(hs.Findings, f)
				if hs.Severity == "" || hs.Severity == "info" && f.Severity != "info" || f.Severity == "error" {
					hs.Severity = f.Severity
				}
			}
		}
		for j, t := range s.Transfers {
			if t.Outcome.Failed() || t.Status == ftpflow.StatusFailed {
				hs.Failed = append(hs.Failed, hs.Transfers[j])
			} else {
				hs.Others = append(hs.Others, hs.Transfers[j])
			}
		}
		if len(hs.Failed) > maxShownFailures {
			hs.Failed, hs.FailedFolded = hs.Failed[:maxShownFailures], hs.Failed[maxShownFailures:]
		}
		if len(hs.Failed)+len(hs.Others) > maxShownTransfers {
			hs.Others, hs.OthersFolded = nil, hs.Others
		}
		hs.Open = hs.Severity == "error" || hs.Severity == "warning" || len(hs.Failed) > 0 || len(a.Sessions) <= maxOpenSessions
		page.Sessions = append(page.Sessions, hs)
	}
	if len(a.Sessions) > 1 {
		page.Overview = template.HTML(OverviewSVG(a, tls))
	}
	return htmlTemplate.Execute(w, page)
}

// groupFindings groups sorted findings by kind, in the order of their
// first finding.
func groupFindings(fs []Finding) []findingGroup {
	var groups []findingGroup
	at := map[string]int{}
	for _, f := range fs {
		i, ok := at[f.Kind]
		if !ok {
			i = len(groups)
			at[f.Kind] = i
			groups = append(groups, findingGroup{Kind: f.Kind, Severity: f.Severity})
		}
		g := &groups[i]
		switch {
		case !ok:
			g.First = f
		case len(g.Listed) < maxListedPerKind:
			g.Listed = append(g.Listed, f)
		default:
			g.Folded = append(g.Folded, f)
		}
		if f.Session != 0 && !slices.Contains(g.Sessions, f.Session) {
			g.Sessions = append(g.Sessions, f.Session)
		}
	}
	for i := range groups {
		g := &groups[i]
		slices.Sort(g.Sessions)
		if len(g.Sessions) > maxKindSessions {
			g.MoreSessions = len(g.Sessions) - maxKindSessions
			g.Sessions = g.Sessions[:maxKindSessions]
		}
	}
	return groups
}

// ladderRows lays out a timeline as the rows of an HTML table: the arrows
// in text as the terminal draws them, without the notes, which the page
// wraps beside them so that the ladder fits the width.
// Past MaxLadderSteps steps, unless all, the rest are folded as the
// terminal folds them.
func ladderRows(tl *Timeline, all bool) ([]ladderRow, string) {
	width := (len(tl.Lanes)-1)*laneWidth + 1
	head := []rune(strings.Repeat(" ", width+laneWidth))
	for i, name := range tl.Lanes {
		copy(head[i*laneWidth:], []rune(name))
	}
	steps := tl.Steps
	if !all {
		steps = capSteps(steps, MaxLadderSteps)
	}
	var out []ladderRow
	for _, st := range steps {
		line := []rune(strings.Repeat(" ", width))
		for i := range tl.Lanes {
			line[i*laneWidth] = '|'
		}
		if st.Kind == StepFold {
			out = append(out, ladderRow{Line: string(line), Note: st.Note, Fold: true})
			continue
		}
		if st.From != st.To {
			drawArrow(line, st, laneWidth)
		}
		frame := fmt.Sprint(st.At.Frame)
		if st.Until.Frame > st.At.Frame {
			frame = fmt.Sprintf("%d-%d", st.At.Frame, st.Until.Frame)
		}
		r := ladderRow{
			Time: fmt.Sprintf("%+.3f", st.At.Time.Sub(tl.Start).Seconds()), Frame: frame,
			Line: string(line), Note: st.Note, Failed: st.Kind == StepFailed,
		}
		for _, f := range st.Findings {
			id, kind, _ := strings.Cut(f, " ")
			r.Findings = append(r.Findings, ladderFinding{id, kind})
		}
		out = append(out, r)
	}
	return out, strings.TrimRight(string(head), " ")
}
