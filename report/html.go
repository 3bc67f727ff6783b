package report

import (
	"bytes"
	"html/template"
	"io"

	"ftpdiag/analyze"
)

// HTMLOptions changes the HTML report.
type HTMLOptions struct {
	Timeline TimelineOptions
	// Version names the tool in the footer.
	Version string
}

// htmlSession is one session as the page shows it.
type htmlSession struct {
	Session
	SVG      template.HTML // drawn by SessionSVG from escaped text
	Ladder   string
	Findings []Finding
}

type htmlPage struct {
	Doc      *Document
	Sessions []htmlSession
	Findings []Finding
	Errors   int
	Warnings int
	Version  string
}

// WriteHTML writes one self-contained HTML page: no script, no font, no
// fetch of any kind (a Content-Security-Policy forbids them), with the
// inputs, the findings most severe first, and per session an SVG timeline
// of its control and data connections and its ladder diagram.
func WriteHTML(w io.Writer, a *analyze.Analysis, opt HTMLOptions) error {
	d := Build(a)
	page := htmlPage{Doc: d, Findings: SortFindings(d.Findings), Version: opt.Version}
	for _, f := range d.Findings {
		switch f.Severity {
		case "error":
			page.Errors++
		case "warning":
			page.Warnings++
		}
	}
	for i, s := range a.Sessions {
		var ladder bytes.Buffer
		writeLadder(&ladder, BuildTimeline(s, a.Findings, opt.Timeline))
		hs := htmlSession{Session: d.Sessions[i], SVG: template.HTML(SessionSVG(s, a.Findings, opt.Timeline.ShowPasswords)), Ladder: ladder.String()}
		for _, f := range page.Findings {
			if f.Session == s.ID {
				hs.Findings = append(hs.Findings, f)
			}
		}
		page.Sessions = append(page.Sessions, hs)
	}
	return htmlTemplate.Execute(w, page)
}

var htmlTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ftpdiag report</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2228;margin:0;background:#fff}
header{background:#24384f;color:#fff;padding:18px 28px}
header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;opacity:.85}
main{padding:8px 28px 40px;max-width:1180px}
h2{font-size:18px;border-bottom:2px solid #e3e7ec;padding-bottom:4px;margin-top:28px}
h3{font-size:16px;margin:22px 0 8px}
table{border-collapse:collapse;margin:8px 0}
th,td{border:1px solid #dde2e8;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f2f5f8}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
pre{background:#f6f8fa;padding:10px;overflow-x:auto;line-height:1.3}
.badge{display:inline-block;border-radius:3px;padding:1px 7px;font-size:12px;font-weight:600;color:#fff}
.error{background:#c9302c}.warning{background:#d58512}.info{background:#31708f}
.finding{border:1px solid #dde2e8;border-left:5px solid #31708f;border-radius:4px;padding:8px 12px;margin:10px 0}
.finding.sev-error{border-left-color:#c9302c}.finding.sev-warning{border-left-color:#d58512}
.finding p{margin:6px 0}
.kind{font-family:ui-monospace,monospace;font-size:12px;color:#555}
.outcome-completed{color:#2d7a2d}.outcome-failed{color:#c9302c;font-weight:600}
.svgwrap{overflow-x:auto;border:1px solid #e3e7ec;border-radius:4px;margin:8px 0}
.legend span{margin-right:14px;font-size:12px}
.sw{display:inline-block;width:12px;height:10px;margin-right:4px;vertical-align:middle}
footer{color:#777;font-size:12px;padding:0 28px 20px}
</style>
</head>
<body>
<header>
<h1>ftpdiag report</h1>
<p>{{len .Doc.Sessions}} FTP session(s), {{.Errors}} error(s), {{.Warnings}} warning(s), {{.Doc.Stats.Packets}} packets, {{.Doc.Stats.Connections}} TCP connections</p>
</header>
<main>
<h2>Inputs</h2>
<table>
<tr><th>File</th><th>Format</th><th>Link</th><th>Packets</th><th>First</th><th>Last</th><th>Complete</th></tr>
{{range .Doc.Inputs}}<tr><td>{{.File}}</td><td>{{.Format}}{{if .Compressed}}+gzip{{end}}</td><td>{{range $i, $l := .LinkTypes}}{{if $i}}, {{end}}{{$l}}{{end}}</td><td>{{.Packets}}</td><td>{{if .First}}{{.First}}{{end}}</td><td>{{if .Last}}{{.Last}}{{end}}</td><td>{{if .Complete}}yes{{else}}<strong>no</strong>{{end}}</td></tr>
{{range .Warnings}}<tr><td colspan="7">warning: {{.}}</td></tr>{{end}}{{end}}
</table>

<h2>Findings</h2>
{{if not .Findings}}<p>Nothing wrong found.</p>{{end}}
{{range .Findings}}{{template "finding" .}}{{end}}

<h2>Sessions</h2>
{{if not .Sessions}}<p>No FTP control connection found.</p>{{end}}
{{range .Sessions}}
<section class="session" id="session-{{.ID}}">
<h3>Session {{.ID}}: {{.Client}} &rarr; {{.Server}}</h3>
<table>
<tr><th>User</th><td>{{.User}}</td><th>Control</th><td>{{.Control.ClosedBy}}{{if not .Control.Handshake}}, started before the capture{{end}}</td></tr>
<tr><th>TLS</th><td>{{if .TLS}}{{.TLS.Command}}{{if .TLS.AcceptedFrame}} (accepted, frame {{.TLS.AcceptedFrame}}){{else}} (refused){{end}}{{else}}no{{end}}</td><th>Transfers</th><td>{{.Counts.Transfers}} ({{.Counts.OK}} ok, {{.Counts.Failed}} failed)</td></tr>
{{if .Greeting}}<tr><th>Greeting</th><td colspan="3">{{.Greeting.Code}} {{.Greeting.Text}}</td></tr>{{end}}
</table>
<div class="legend"><span><i class="sw" style="background:#8fa8c8"></i>control connection</span><span><i class="sw" style="background:#5cb85c"></i>data, completed</span><span><i class="sw" style="background:#d9534f"></i>data, failed</span><span><i class="sw" style="background:#f0ad4e"></i>data, unfinished</span><span>&#9675; SYN (red: never answered) &nbsp; &#10005; RST &nbsp; | FIN &nbsp; ticks: commands above, replies below</span></div>
<div class="svgwrap">{{.SVG}}</div>
{{if .Transfers}}<table>
<tr><th>#</th><th>Command</th><th>Mode</th><th>Announced</th><th>Data connection</th><th>Outcome</th><th>Bytes</th><th>Replies</th></tr>
{{range .Transfers}}<tr><td>{{.ID}}</td><td>{{.Command}} {{.Arg}}</td><td>{{.Mode}}</td><td>{{if .Offer}}{{.Offer.Kind}} {{.Offer.IP}}:{{.Offer.Port}} (frame {{.Offer.Frame}}){{end}}</td><td>{{if .DataConnection}}{{.DataConnection.Client}} &rarr; {{.DataConnection.Server}}{{end}}</td><td class="{{if eq .Outcome "completed"}}outcome-completed{{else if eq .Outcome "not_captured" "incomplete" "unknown"}}{{else}}outcome-failed{{end}}">{{.Outcome}}</td><td>{{if .DataConnection}}{{.DataConnection.Bytes}}{{end}}</td><td>{{range .Replies}}{{.Code}} {{end}}</td></tr>
{{end}}</table>{{end}}
<details><summary>Ladder diagram (text)</summary><pre>{{.Ladder}}</pre></details>
</section>
{{end}}
</main>
<footer>Generated by ftpdiag{{if .Version}} {{.Version}}{{end}}. Frame numbers are Wireshark's; paste a finding's filter into Wireshark to see its evidence.</footer>
</body>
</html>
{{define "finding"}}<div class="finding sev-{{.Severity}}">
<span class="badge {{.Severity}}">{{.Severity}}</span> <span class="kind">{{.ID}} {{.Kind}}</span>{{if .Session}} &middot; <a href="#session-{{.Session}}">session {{.Session}}</a>{{end}}{{if .Transfer}}, transfer {{.Transfer}}{{end}}
<p><strong>{{.Summary}}</strong></p>
<p>{{.Explanation}}</p>
<p><em>Remedy:</em> {{.Remediation}}</p>
{{if .Filter}}<p>Wireshark: <code>{{.Filter}}</code></p>{{end}}
</div>{{end}}
`))
