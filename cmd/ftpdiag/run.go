package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"ftpdiag/analyze"
	"ftpdiag/ftpflow"
	"ftpdiag/pcap"
	"ftpdiag/report"
)

// Exit statuses, documented in README.md.
const (
	exitOK       = 0 // nothing at or above --fail-on
	exitFindings = 1 // findings at or above --fail-on
	exitUsage    = 2 // bad usage, or no input could be read
	exitOutput   = 3 // the report could not be written
)

const usageText = `Usage: ftpdiag [flags] FILE...

Reads packet captures (pcap, pcapng, gzip-compressed or not; "-" is standard
input) and explains why FTP data connections failed. Several files are merged
in time order into one analysis unless --each is given.

Exit status: 0 nothing at or above --fail-on, 1 findings at or above
--fail-on, 2 bad usage or no input could be read, 3 the report could not be
written.

Flags:
`

// config is what the command line asked for.
type config struct {
	format        string
	each          bool
	failOn        string
	explain       bool
	showPasswords bool
	timeWait      time.Duration
	maxConns      int
	maxSessions   int
	quiet         bool
	extract       string
	threads       int
	htmlFile      string
	files         []string
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	cfg := &config{}
	fs := pflag.NewFlagSet("ftpdiag", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.format, "format", "text", `output format: "text", "json" or "html"`)
	fs.StringVar(&cfg.htmlFile, "html", "", "also write a self-contained HTML report to `FILE`")
	fs.BoolVar(&cfg.each, "each", false, "analyse each file on its own (JSON: one document per line)")
	fs.StringVar(&cfg.failOn, "fail-on", "error", `exit 1 when a finding is at least this severe: "error", "warning", "info" or "never"`)
	fs.BoolVar(&cfg.explain, "explain", false, "print each finding's explanation and remediation")
	fs.BoolVar(&cfg.showPasswords, "show-passwords", false, "show PASS arguments instead of masking them")
	fs.DurationVar(&cfg.timeWait, "time-wait", ftpflow.DefaultTimeWait, "TIME-WAIT (2*MSL) used to judge 5-tuple reuse (Linux: 60s)")
	fs.IntVar(&cfg.maxConns, "max-connections", ftpflow.DefaultMaxConns, "bound on TCP connections tracked at once")
	fs.IntVar(&cfg.maxSessions, "max-sessions", ftpflow.DefaultMaxSessions, "bound on FTP sessions held at once (with text or HTML output, also on those reported)")
	fs.BoolVarP(&cfg.quiet, "quiet", "q", false, "no progress output")
	fs.IntVar(&cfg.threads, "threads", runtime.NumCPU(), "goroutines: with 2 or more, files are read (and decompressed) ahead, and the JSON report encoded, on another core")
	fs.StringVar(&cfg.extract, "extract", "", "write each session with an error finding to `DIR` as a small capture (reads the files twice)")
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	cfg.files = fs.Args()
	if len(cfg.files) == 0 {
		fs.Usage()
		return nil, errors.New("no capture file given")
	}
	switch cfg.format {
	case "text", "json", "html":
	default:
		return nil, fmt.Errorf("--format %q: want text, json or html", cfg.format)
	}
	if _, ok := severityThreshold(cfg.failOn); !ok {
		return nil, fmt.Errorf("--fail-on %q: want error, warning, info or never", cfg.failOn)
	}
	if cfg.timeWait <= 0 {
		return nil, fmt.Errorf("--time-wait %v: must be positive", cfg.timeWait)
	}
	return cfg, nil
}

// severityThreshold maps --fail-on to the least severity that fails;
// "never" gives a threshold above every severity.
func severityThreshold(s string) (analyze.Severity, bool) {
	switch s {
	case "error":
		return analyze.Error, true
	case "warning":
		return analyze.Warning, true
	case "info":
		return analyze.Info, true
	case "never":
		return analyze.Error + 1, true
	}
	return 0, false
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintln(stderr, "ftpdiag:", err)
		return exitUsage
	}
	groups := [][]string{cfg.files}
	if cfg.each {
		groups = groups[:0]
		for _, f := range cfg.files {
			groups = append(groups, []string{f})
		}
	}
	code := exitOK
	for _, files := range groups {
		c := analyzeGroup(ctx, cfg, files, stdin, stdout, stderr)
		if c > code {
			code = c
		}
	}
	return code
}

// analyzeGroup analyses files together and writes one report. It returns
// exitUsage when nothing could be read from any of them.
//
// The JSON report is written from a stream: each session is encoded as
// soon as its analysis is final and then let go, so memory follows the
// sessions open at once rather than the length of the capture. The other
// formats draw on the whole analysis and keep it.
func analyzeGroup(ctx context.Context, cfg *config, files []string, stdin io.Reader, stdout, stderr io.Writer) int {
	in := openInputs(cfg, files, stdin, stderr)
	defer in.close()
	threshold, _ := severityThreshold(cfg.failOn)
	failed := false
	var js *report.JSONStream
	var kept analyze.Analysis // with a stream: what --extract needs
	var onSession func(*ftpflow.Session, []analyze.Finding)
	waitEncoded := func() {}
	if cfg.format == "json" && cfg.htmlFile == "" {
		js = report.NewJSONStream(cfg.each, 0)
		defer js.Close()
		encode := js.Session
		if cfg.threads > 1 {
			// Encoding the report is a sixth of the work: another core
			// can do it while this one reads on.
			encode, waitEncoded = js.Background(encodeQueue)
		}
		onSession = func(s *ftpflow.Session, fs []analyze.Finding) {
			encode(s, fs)
			failed = failed || reaches(fs, threshold)
			if cfg.extract != "" && reaches(fs, analyze.Error) {
				kept.Sessions = append(kept.Sessions, s)
				kept.Findings = append(kept.Findings, fs...)
			}
		}
	}
	a := &analyze.Analysis{}
	if len(in.readers) > 0 {
		a = in.analyze(ctx, cfg, onSession, stderr)
	}
	waitEncoded()
	failed = failed || reaches(a.Findings, threshold)
	if cfg.extract != "" && len(in.readers) > 0 {
		prefix := ""
		if cfg.each {
			prefix = fileSafe(filepath.Base(files[0])) + "_"
		}
		forExtract := a
		if js != nil {
			forExtract = &analyze.Analysis{Sessions: kept.Sessions, Findings: append(kept.Findings, a.Findings...)}
		}
		if err := extractSessions(cfg.extract, prefix, in.names(), forExtract, stderr); err != nil {
			fmt.Fprintln(stderr, "ftpdiag:", err)
		}
	}
	written := true
	if js != nil {
		js.Findings(a.Findings)
		if err := js.Finish(stdout, in.infos, a.Stats); err != nil {
			fmt.Fprintln(stderr, "ftpdiag: writing JSON:", err)
			written = false
		}
	} else {
		written = writeReports(cfg, in, a, stdout, stderr)
	}
	if !readAnything(in.infos, in.opened) {
		return exitUsage
	}
	if !written {
		return exitOutput
	}
	if failed {
		return exitFindings
	}
	return exitOK
}

// encodeQueue is how many sessions may wait for the JSON encoder.
const encodeQueue = 64

// reaches reports whether a finding is at least as severe as threshold.
func reaches(fs []analyze.Finding, threshold analyze.Severity) bool {
	for _, f := range fs {
		if f.Severity >= threshold {
			return true
		}
	}
	return false
}

// inputs are the files of one analysis: the readers of those that opened,
// and for every file, in command-line order, what reading it found.
type inputs struct {
	files   []string
	readers []*pcap.Reader
	infos   []pcap.Info
	opened  []bool
	size    int64 // bytes of all files, for the progress bar
}

func openInputs(cfg *config, files []string, stdin io.Reader, stderr io.Writer) *inputs {
	in := &inputs{files: files, infos: make([]pcap.Info, len(files)), opened: make([]bool, len(files))}
	for i, name := range files {
		r, size, err := openInput(name, stdin, cfg.threads > 1)
		if err != nil {
			fmt.Fprintln(stderr, "ftpdiag:", err)
			in.infos[i] = pcap.Info{Name: name, Warnings: []string{strings.TrimPrefix(err.Error(), name+": ")}}
			continue
		}
		in.readers = append(in.readers, r)
		in.opened[i] = true
		in.size += size
	}
	return in
}

func (in *inputs) close() {
	for _, r := range in.readers {
		r.Close()
	}
}

// names lists the files that opened.
func (in *inputs) names() []string {
	var out []string
	for i, name := range in.files {
		if in.opened[i] {
			out = append(out, name)
		}
	}
	return out
}

// analyze runs the analysis over the merged inputs, reports reading errors
// on stderr and records what each input's reading found.
func (in *inputs) analyze(ctx context.Context, cfg *config, onSession func(*ftpflow.Session, []analyze.Finding), stderr io.Writer) *analyze.Analysis {
	m := pcap.NewMerger(in.readers...)
	opt := analyze.Options{
		Sessions: onSession,
		TimeWait: cfg.timeWait,
		Tracker: ftpflow.Config{MaxConns: cfg.maxConns, MaxSessions: cfg.maxSessions, TimeWait: cfg.timeWait,
			KeepLog: cfg.explain || cfg.htmlFile != "" || cfg.format == "html"},
	}
	var bar *progressBar
	if !cfg.quiet && in.size >= progressMinBytes && isTerminal(stderr) {
		bar = newProgressBar(stderr, in.size, in.readers)
		opt.Progress = bar.update
	}
	a, err := analyze.Run(&contextSource{ctx: ctx, m: m}, opt)
	if bar != nil {
		bar.stop()
	}
	if err != nil {
		fmt.Fprintln(stderr, "ftpdiag:", err)
	}
	for _, e := range m.Errors() {
		fmt.Fprintln(stderr, "ftpdiag:", e)
	}
	read := m.Infos()
	for i := range in.files {
		if in.opened[i] {
			in.infos[i], read = read[0], read[1:]
			checkLinkTypes(&in.infos[i], stderr)
		}
	}
	return a
}

// writeReports writes the report in the chosen format, and the HTML file
// when asked for, and reports whether every write succeeded.
func writeReports(cfg *config, in *inputs, a *analyze.Analysis, stdout, stderr io.Writer) bool {
	var doc *report.Document // built only for the formats that need it whole
	if cfg.format != "json" || cfg.htmlFile != "" {
		doc = report.Build(in.infos, a)
	}
	timeline := report.TimelineOptions{ShowPasswords: cfg.showPasswords, Fold: report.DefaultFold}
	htmlOpt := report.HTMLOptions{Timeline: timeline}
	written := true
	if cfg.htmlFile != "" {
		if err := writeHTMLFile(cfg.htmlFile, doc, a, htmlOpt); err != nil {
			fmt.Fprintln(stderr, "ftpdiag:", err)
			written = false
		}
	}
	switch cfg.format {
	case "json":
		if err := report.WriteJSON(stdout, in.infos, a, cfg.each); err != nil {
			fmt.Fprintln(stderr, "ftpdiag: writing JSON:", err)
			written = false
		}
	case "html":
		if err := report.WriteHTML(stdout, doc, a, htmlOpt); err != nil {
			fmt.Fprintln(stderr, "ftpdiag: writing HTML:", err)
			written = false
		}
	default:
		if len(in.readers) > 0 {
			report.WriteText(stdout, doc, report.TextOptions{Explain: cfg.explain, Color: isTerminal(stdout), Ladders: a, Timeline: timeline})
		}
	}
	return written
}

// readAnything reports whether at least one input could be read: a whole
// capture (even an empty one), or packets before damage, of a link type
// the decoder understands.
func readAnything(infos []pcap.Info, opened []bool) bool {
	for i, in := range infos {
		if !opened[i] || !(in.Complete || in.Packets > 0) {
			continue
		}
		if len(in.LinkTypes) == 0 {
			return true
		}
		for _, lt := range in.LinkTypes {
			if pcap.SupportedLinkType(lt) {
				return true
			}
		}
	}
	return false
}

// checkLinkTypes reports link types the decoder does not understand: their
// packets were counted but not analysed.
func checkLinkTypes(in *pcap.Info, stderr io.Writer) {
	for _, lt := range in.LinkTypes {
		if pcap.SupportedLinkType(lt) {
			continue
		}
		msg := fmt.Sprintf("unsupported link type %d (%s): its packets were not analysed", int(lt), lt)
		fmt.Fprintf(stderr, "ftpdiag: %s: %s\n", in.Name, msg)
		in.Warnings = append(in.Warnings, msg)
	}
}

// openInput opens a capture for reading and returns its size (0 for
// standard input).
func openInput(name string, stdin io.Reader, readAhead bool) (*pcap.Reader, int64, error) {
	if name == "-" {
		r, err := pcap.NewReader(stdin, "-")
		return r, 0, err
	}
	st, err := os.Stat(name)
	if err != nil {
		return nil, 0, err
	}
	if st.IsDir() {
		return nil, 0, fmt.Errorf("%s: is a directory, not a capture file", name)
	}
	open := pcap.OpenSequential
	if readAhead {
		open = pcap.Open
	}
	r, err := open(name)
	return r, st.Size(), err
}

func writeHTMLFile(path string, doc *report.Document, a *analyze.Analysis, opt report.HTMLOptions) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--html: %w", err)
	}
	if err := report.WriteHTML(f, doc, a, opt); err != nil {
		f.Close()
		return fmt.Errorf("--html %s: %w", path, err)
	}
	return f.Close()
}

// contextSource stops reading when the context is cancelled (Ctrl-C), so
// the analysis of what was read is still reported.
type contextSource struct {
	ctx context.Context
	m   *pcap.Merger
	n   int
}

// contextCheckEvery is how many packets pass between cancellation checks.
const contextCheckEvery = 4096

func (c *contextSource) Next() (*pcap.Packet, error) {
	c.n++
	if c.n%contextCheckEvery == 0 {
		if err := c.ctx.Err(); err != nil {
			return nil, fmt.Errorf("interrupted after %d packets; reporting what was read", c.n-1)
		}
	}
	return c.m.Next()
}

// isTerminal reports whether w is a terminal (not merely a character
// device such as /dev/null).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
