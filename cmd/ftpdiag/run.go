package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"ftpdiag"
	"ftpdiag/analyze"
	"ftpdiag/extract"
	"ftpdiag/ftpflow"
	"ftpdiag/pcap"
	"ftpdiag/report"
	"ftpdiag/tlsdecrypt"
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
	all           bool
	showPasswords bool
	timeWait      time.Duration
	maxConns      int
	maxSessions   int
	quiet         bool
	extract       string
	annotate      string
	lesson        bool
	threads       int
	htmlFile      string
	width         int
	files         []string
	// keyLog is --keylog's file; keys what it holds, read by parseFlags.
	keyLog string
	keys   *tlsdecrypt.KeyLog
	// views and noViews force or forbid comparing the files as views of
	// the same traffic.
	views, noViews bool
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	cfg := &config{}
	fs := pflag.NewFlagSet("ftpdiag", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.format, "format", "text", `output format: "text", "json" or "html"`)
	fs.StringVar(&cfg.htmlFile, "html", "", "also write a self-contained HTML report to `FILE` (with --each: into directory FILE, one page per input)")
	fs.BoolVar(&cfg.each, "each", false, "analyse each file on its own (JSON: one document per line)")
	fs.StringVar(&cfg.failOn, "fail-on", "error", `exit 1 when a finding is at least this severe: "error", "warning", "info" or "never"`)
	fs.BoolVar(&cfg.explain, "explain", false, "print each finding's explanation and remediation")
	fs.BoolVar(&cfg.all, "all", false, "list every transfer in the terminal report (past 20, only those that did not end ok are listed)")
	fs.BoolVar(&cfg.showPasswords, "show-passwords", false, "show PASS arguments instead of masking them")
	fs.IntVar(&cfg.width, "width", -1, "columns the text report fits (0: no limit; default: COLUMNS, else the terminal's width, else 100)")
	fs.DurationVar(&cfg.timeWait, "time-wait", ftpflow.DefaultTimeWait, "TIME-WAIT (2*MSL) used to judge 5-tuple reuse (Linux: 60s)")
	fs.IntVar(&cfg.maxConns, "max-connections", ftpflow.DefaultMaxConns, "bound on TCP connections tracked at once")
	fs.IntVar(&cfg.maxSessions, "max-sessions", ftpflow.DefaultMaxSessions, "bound on FTP sessions held at once (with text or HTML output, also on those reported)")
	fs.BoolVarP(&cfg.quiet, "quiet", "q", false, "no progress output")
	fs.IntVar(&cfg.threads, "threads", runtime.NumCPU(), "goroutines: with 2 or more, gzip files are decompressed ahead and the JSON report encoded on another core (same report)")
	fs.StringVar(&cfg.extract, "extract", "", "write each session with an error finding to `DIR` as a small capture (reads the files twice)")
	fs.BoolVar(&cfg.views, "views", false, "always compare the files packet by packet as views of the same traffic from different places (NAT, packets lost between, rewritten payload); by default they are compared when their first connections show they may share packets")
	fs.BoolVar(&cfg.noViews, "no-views", false, "only merge the files in time order, never compare them")
	fs.StringVar(&cfg.annotate, "annotate", "", "write the capture with the diagnosis as packet comments to `FILE`.pcapng, for Wireshark (reads the files twice; with --each: into directory FILE)")
	fs.BoolVar(&cfg.lesson, "annotate-lesson", false, "with --annotate, also comment the key frames of every session as --explain does")
	fs.StringVar(&cfg.keyLog, "keylog", "", "decrypt FTPS control connections with the TLS key log in `FILE` (SSLKEYLOGFILE format) and analyse them as clear text; secrets embedded in a pcapng are used without it")
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
	if cfg.lesson && cfg.annotate == "" {
		return nil, errors.New("--annotate-lesson needs --annotate FILE")
	}
	if cfg.timeWait <= 0 {
		return nil, fmt.Errorf("--time-wait %v: must be positive", cfg.timeWait)
	}
	if cfg.each && cfg.format == "html" {
		return nil, errors.New("--each --format html would write several pages into one stream: use --each --html DIR for one page per input")
	}
	if cfg.views && (cfg.noViews || cfg.each) {
		return nil, errors.New("--views compares the files with each other: not with --no-views or --each")
	}
	for _, b := range []struct {
		flag  string
		value int
	}{{"--max-connections", cfg.maxConns}, {"--max-sessions", cfg.maxSessions}, {"--threads", cfg.threads}} {
		if b.value < 1 {
			return nil, fmt.Errorf("%s %d: must be at least 1", b.flag, b.value)
		}
	}
	if cfg.keyLog != "" {
		k, err := ftpdiag.ReadKeyLog(cfg.keyLog)
		if err != nil {
			return nil, fmt.Errorf("--keylog: %w", err)
		}
		cfg.keys = k
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
	if len(args) > 0 {
		switch args[0] {
		case "serve":
			return runServe(ctx, args[1:], stdout, stderr)
		case "submit":
			return runSubmit(ctx, args[1:], stdin, stdout, stderr)
		case "worker":
			return runWorker(ctx, args[1:], stdout, stderr)
		}
	}
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
	var outs []outcome
	prefixes := eachPrefixes(cfg)
	for i, files := range groups {
		outs = append(outs, analyzeGroup(ctx, cfg, files, prefixes[i], stdin, stdout, stderr))
	}
	return exitStatus(outs)
}

// outcome is what one analysis and its report came to.
type outcome struct {
	readNothing bool // no input of the group could be read
	failed      bool // a finding at or above --fail-on
	notWritten  bool // the report, --html or --extract could not be written
}

// exitStatus is the one place that turns outcomes into the exit status:
// 3 when anything asked for could not be written, 2 when nothing at all
// could be read, else 1 when any analysis has a finding at or above
// --fail-on, else 0. With --each, an input that could not be read does
// not hide another's findings.
func exitStatus(outs []outcome) int {
	code, readSome := exitOK, false
	for _, o := range outs {
		if o.notWritten {
			return exitOutput
		}
		readSome = readSome || !o.readNothing
		if o.failed {
			code = exitFindings
		}
	}
	if !readSome {
		return exitUsage
	}
	return code
}

// analyzeGroup analyses files together and writes one report, then the
// evidence and annotated captures asked for. With --each, prefix names
// this input's evidence captures and HTML page.
func analyzeGroup(ctx context.Context, cfg *config, files []string, prefix string, stdin io.Reader, stdout, stderr io.Writer) outcome {
	threshold, _ := severityThreshold(cfg.failOn)
	bar := startProgress(cfg, files, stderr)
	views, err := correlateGroup(ctx, cfg, files, stdin)
	printErrors(stderr, "--views: ", err)
	out, page := outputs(cfg, prefix, stdout, threshold)
	out.Views = views
	out.Analysed = func(_ *ftpdiag.Result, err error) {
		if bar != nil {
			bar.stop()
		}
		printErrors(stderr, "", err)
	}
	res, err := ftpdiag.Run(ctx, inputsOf(files, stdin), analysisOptions(cfg, bar), out)
	written := !printUnwritten(stderr, err)
	if page != nil {
		if err := page.Close(); err != nil {
			fmt.Fprintln(stderr, "ftpdiag: --html:", err)
			written = false
		}
	}
	if cfg.extract != "" && !res.NothingRead && !extractGroup(ctx, cfg, res.Analysis.Inputs, res.Evidence, prefix, stderr) {
		written = false
	}
	if cfg.annotate != "" && !res.NothingRead && !annotateGroup(ctx, cfg, files, res.Analysis, prefix, stdin, stderr) {
		written = false
	}
	return outcome{readNothing: res.NothingRead, failed: res.Reaches(threshold), notWritten: !written}
}

// analysisOptions are the analysis's settings from the flags.
func analysisOptions(cfg *config, bar *progressBar) analyze.Options {
	opt := analyze.Options{
		ReadAhead: cfg.threads > 1,
		Tracker: ftpflow.Config{MaxConns: cfg.maxConns, MaxSessions: cfg.maxSessions, TimeWait: cfg.timeWait,
			KeepLog: cfg.explain || cfg.htmlFile != "" || cfg.format == "html" || cfg.lesson, KeyLog: cfg.keys},
	}
	if bar != nil {
		opt.Progress = bar.update
	}
	return opt
}

// outputs are the reports the flags ask of one group: --format's on
// stdout, the --html page (returned too, to be closed after). The JSON
// document is the only one that lets the analysis stream, unless
// --annotate needs the sessions afterwards.
func outputs(cfg *config, prefix string, stdout io.Writer, threshold analyze.Severity) (ftpdiag.Outputs, *lateFile) {
	timeline := report.TimelineOptions{ShowPasswords: cfg.showPasswords, Fold: report.DefaultFold, All: cfg.all}
	html := report.HTMLOptions{Timeline: timeline}
	out := ftpdiag.Outputs{Evidence: cfg.extract != "", KeepSessions: cfg.annotate != ""}
	var page *lateFile
	if cfg.htmlFile != "" {
		page = &lateFile{path: cfg.htmlFile, mkdir: cfg.each}
		if cfg.each {
			page.path = filepath.Join(cfg.htmlFile, strings.TrimSuffix(prefix, "_")+".html")
		}
		out.HTML = append(out.HTML, ftpdiag.HTMLReport{W: page, Options: html})
	}
	switch cfg.format {
	case "html":
		out.HTML = append(out.HTML, ftpdiag.HTMLReport{W: stdout, Options: html})
	case "text":
		out.Text = []ftpdiag.TextReport{{W: stdout, Options: report.TextOptions{
			Explain: cfg.explain, AllTransfers: cfg.all, Color: isTerminal(stdout), Timeline: timeline, Width: report.Width(stdout, cfg.width),
		}}}
	case "json":
		out.JSON = &ftpdiag.JSONReport{W: stdout, OneLine: cfg.each, EncodeAhead: cfg.threads > 1}
		if cfg.each {
			out.JSON.Status = func(r *ftpdiag.Result) int {
				return exitStatus([]outcome{{readNothing: r.NothingRead, failed: r.Reaches(threshold)}})
			}
		}
	}
	return out, page
}

// printUnwritten prints the reports ftpdiag.Run could not write (the
// analysis's own problems are printed as soon as it ends) and reports
// whether there were any.
func printUnwritten(stderr io.Writer, err error) bool {
	switch e := err.(type) {
	case *ftpdiag.WriteError:
		printErrors(stderr, "", e)
		return true
	case interface{ Unwrap() []error }:
		found := false
		for _, e := range e.Unwrap() {
			found = printUnwritten(stderr, e) || found
		}
		return found
	}
	return false
}

// inputsOf names the inputs of one analysis; "-" is standard input.
func inputsOf(files []string, stdin io.Reader) []analyze.Input {
	in := analyze.Files(files...)
	for i := range in {
		if in[i].Name == "-" {
			in[i].Reader = stdin
		}
	}
	return in
}

// printErrors prints each of the problems an error joins on its own line,
// after prefix.
func printErrors(stderr io.Writer, prefix string, err error) {
	if err == nil {
		return
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			printErrors(stderr, prefix, e)
		}
		return
	}
	if errors.Is(err, analyze.ErrNothingRead) {
		return // the exit status says it
	}
	fmt.Fprintf(stderr, "ftpdiag: %s%s\n", prefix, printable(err.Error()))
}

// printable escapes control characters (an ESC in a file name, say) so
// that a message cannot drive the terminal it is printed on.
func printable(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// startProgress shows a progress bar on a terminal for large inputs.
func startProgress(cfg *config, files []string, stderr io.Writer) *progressBar {
	if cfg.quiet || !isTerminal(stderr) {
		return nil
	}
	var size int64
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && f != "-" {
			size += st.Size()
		}
	}
	if size < progressMinBytes {
		return nil
	}
	return newProgressBar(stderr, size)
}

// lateFile is the --html page: the file is made (with its directory, for
// --each) at the first write, once the analysis is over, so that a path
// that cannot be written does not stop the analysis, and an input named as
// the page is read before it is overwritten.
type lateFile struct {
	path  string
	mkdir bool
	f     *os.File
	err   error
}

func (l *lateFile) Write(p []byte) (int, error) {
	if l.f == nil && l.err == nil {
		l.f, l.err = l.create()
	}
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.f.Write(p)
	if err != nil {
		err = fmt.Errorf("--html: %w", err)
	}
	return n, err
}

func (l *lateFile) create() (*os.File, error) {
	if l.mkdir {
		if err := os.MkdirAll(filepath.Dir(l.path), 0o755); err != nil {
			return nil, fmt.Errorf("--html: %w", err)
		}
	}
	f, err := os.Create(l.path)
	if err != nil {
		return nil, fmt.Errorf("--html: %w", err)
	}
	return f, nil
}

// Close closes the file, if it was made.
func (l *lateFile) Close() error {
	if l.f == nil {
		return nil
	}
	return l.f.Close()
}

// isTerminal reports whether w is a terminal (not merely a character
// device such as /dev/null).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// extractGroup writes the evidence captures of the failing sessions of one
// group of files (--extract).
//
// It reports whether every capture asked for was written.
func extractGroup(ctx context.Context, cfg *config, inputs []pcap.Info, targets []extract.Target, prefix string, stderr io.Writer) bool {
	if len(targets) == 0 {
		return true
	}
	var readable []analyze.Input
	for _, in := range inputs {
		if in.Name == "-" {
			fmt.Fprintln(stderr, "ftpdiag: --extract reads the captures a second time, so it needs files, not standard input")
			return false
		}
		if in.Packets > 0 {
			readable = append(readable, analyze.Input{Name: in.Name})
		}
	}
	written, err := extract.ToDir(ctx, readable, targets, cfg.extract, extract.Options{Prefix: prefix, ShowPasswords: cfg.showPasswords, Read: inputs})
	for _, w := range written {
		fmt.Fprintf(stderr, "ftpdiag: session %d: wrote %s (%d packets)\n", w.Session, printable(w.Name), w.Packets)
	}
	if err != nil {
		printErrors(stderr, "--extract: ", err)
		return false
	}
	return true
}

// eachPrefixes gives, with --each, each file's evidence captures and HTML
// page a prefix of their own: its base name, or, when two files share one
// (a/cap.pcap and b/cap.pcap), its whole path made file-safe.
func eachPrefixes(cfg *config) []string {
	out := make([]string, len(cfg.files))
	if !cfg.each {
		return out
	}
	safe := strings.NewReplacer(":", "-", "/", "-", "\\", "-", "..", "up")
	bases := map[string]int{}
	for _, f := range cfg.files {
		bases[filepath.Base(f)]++
	}
	for i, f := range cfg.files {
		name := filepath.Base(f)
		if bases[name] > 1 {
			name = filepath.Clean(f)
		}
		out[i] = safe.Replace(name) + "_"
	}
	return out
}
