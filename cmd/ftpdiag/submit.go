package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"

	"ftpdiag/analyze"
	"ftpdiag/service/api"
	"ftpdiag/service/store"
)

const submitUsage = `Usage: ftpdiag submit --server URL [flags] FILE...

Uploads captures to an ftpdiag triage service (ftpdiag serve), waits for
the analysis, and prints the same report as a local run, with the same
exit status: 0 nothing at or above --fail-on, 1 findings at or above
--fail-on, 2 bad usage or nothing readable (or no report to be had),
3 the report could not be written.

The token is read from --token-file or the FTPDIAG_TOKEN environment
variable; the server may come from FTPDIAG_SERVER.

Flags:
`

// Bounds of submit's waiting.
const (
	pollFirst       = 100 * time.Millisecond
	pollMax         = 2 * time.Second
	longPoll        = 30 * time.Second
	defaultWait     = time.Hour
	maxErrorBody    = 64 << 10
	submitBarPeriod = 200 * time.Millisecond
)

// submitConfig is what the submit command line asked for.
type submitConfig struct {
	server, tokenFile, format, failOn, name string
	tags                                    []string
	each, explain, quiet                    bool
	timeout                                 time.Duration
	files                                   []string
	token                                   string
	base                                    *url.URL
}

func parseSubmitFlags(args []string, stderr io.Writer) (*submitConfig, error) {
	c := &submitConfig{}
	fs := pflag.NewFlagSet("ftpdiag submit", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.server, "server", os.Getenv("FTPDIAG_SERVER"), "the service's `URL` (http://127.0.0.1:8080)")
	fs.StringVar(&c.tokenFile, "token-file", "", "read the API token from `FILE` (default: $FTPDIAG_TOKEN)")
	fs.StringVar(&c.format, "format", "text", `output format: "text", "json" or "html"`)
	fs.StringVar(&c.failOn, "fail-on", "error", `exit 1 when a finding is at least this severe: "error", "warning", "info" or "never"`)
	fs.BoolVar(&c.each, "each", false, "analyse each file on its own (JSON: one document per line)")
	fs.BoolVar(&c.explain, "explain", false, "print each finding's explanation and remediation")
	fs.StringVar(&c.name, "name", "", "the capture's name on the service")
	fs.StringSliceVar(&c.tags, "tag", nil, "tag the capture (repeat, or separate with commas)")
	fs.BoolVarP(&c.quiet, "quiet", "q", false, "no progress output")
	fs.DurationVar(&c.timeout, "timeout", defaultWait, "give up waiting for the report after this long")
	fs.Usage = func() {
		fmt.Fprint(stderr, submitUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	c.files = fs.Args()
	switch {
	case len(c.files) == 0:
		fs.Usage()
		return nil, errors.New("no capture file given")
	case c.server == "":
		return nil, errors.New("--server URL is required (or FTPDIAG_SERVER)")
	case c.format != "text" && c.format != "json" && c.format != "html":
		return nil, fmt.Errorf("--format %q: want text, json or html", c.format)
	case c.each && c.format == "html":
		return nil, errors.New("--each --format html would write several pages into one stream: use --each with text or json, or one submit per file")
	case c.timeout <= 0:
		return nil, fmt.Errorf("--timeout %v: must be positive", c.timeout)
	case !c.each && len(c.files) > api.MaxFilesPerUpload:
		return nil, fmt.Errorf("%d files: the service merges at most %d files into one analysis; give --each to analyse each file on its own, or merge them into one capture first (mergecap -w merged.pcapng FILE...)", len(c.files), api.MaxFilesPerUpload)
	}
	if _, ok := severityThreshold(c.failOn); !ok {
		return nil, fmt.Errorf("--fail-on %q: want error, warning, info or never", c.failOn)
	}
	u, err := url.Parse(c.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--server %q: want http://HOST:PORT or https://HOST:PORT", c.server)
	}
	c.base = u
	c.token = os.Getenv("FTPDIAG_TOKEN")
	if c.tokenFile != "" {
		b, err := os.ReadFile(c.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("--token-file: %w", err)
		}
		c.token = strings.TrimSpace(string(b))
	}
	return c, nil
}

// submitter talks to the service for one submit command.
type submitter struct {
	cfg    *submitConfig
	client *http.Client
	stderr io.Writer
	bars   bool
}

// errNoReport is an upload or analysis that gave no report: the message
// has been printed, the exit status is 2.
var errNoReport = errors.New("no report")

func runSubmit(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c, err := parseSubmitFlags(args, stderr)
	if err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintln(stderr, "ftpdiag submit:", err)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	s := &submitter{cfg: c, client: &http.Client{}, stderr: stderr, bars: !c.quiet && isTerminal(stderr)}
	ids, err := s.uploadAll(ctx)
	if err != nil {
		if !errors.Is(err, errNoReport) {
			fmt.Fprintln(stderr, "ftpdiag submit:", err)
		}
		return exitUsage
	}
	threshold, _ := severityThreshold(c.failOn)
	var outs []outcome
	for _, a := range ids {
		rec, err := s.wait(ctx, a)
		if err != nil {
			fmt.Fprintln(stderr, "ftpdiag submit:", err)
			outs = append(outs, outcome{readNothing: true})
			continue
		}
		if rec.Error != nil {
			for _, line := range strings.Split(*rec.Error, "\n") {
				fmt.Fprintln(stderr, "ftpdiag:", line)
			}
		}
		o := outcome{readNothing: rec.Status == store.Failed}
		if rec.Summary != nil {
			o.failed = worstReaches(rec.Summary.WorstSeverity, threshold)
		}
		if rec.Status == store.Done || (rec.Summary != nil && rec.Status == store.Failed) {
			if err := s.printReport(ctx, a, exitStatus([]outcome{o}), stdout); err != nil {
				fmt.Fprintln(stderr, "ftpdiag submit:", err)
				o.notWritten = true
			}
		}
		outs = append(outs, o)
	}
	return exitStatus(outs)
}

// worstReaches reports whether a worst severity is at least threshold.
func worstReaches(worst string, threshold analyze.Severity) bool {
	var sev analyze.Severity
	switch worst {
	case "error":
		sev = analyze.Error
	case "warning":
		sev = analyze.Warning
	case "info":
		sev = analyze.Info
	default:
		return false
	}
	return sev >= threshold
}

// request makes a request to the service with the token.
func (s *submitter) request(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	ref, err := url.Parse(path)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, s.cfg.base.ResolveReference(ref).String(), body)
	if err != nil {
		return nil, err
	}
	if s.cfg.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.cfg.token)
	}
	return req, nil
}

// apiError reads an error answer.
func apiError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var e api.Error
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		return fmt.Errorf("%s: %s", resp.Status, e.Error)
	}
	return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
}

// upload sends every file in one multipart request, streamed from disk.
// uploadAll uploads the files, with --each in batches of at most
// api.MaxFilesPerUpload, and returns one capture per analysis, in order.
func (s *submitter) uploadAll(ctx context.Context) ([]api.Accepted, error) {
	all := s.cfg.files
	defer func() { s.cfg.files = all }()
	batch := len(all)
	if s.cfg.each {
		batch = api.MaxFilesPerUpload
	}
	var ids []api.Accepted
	for len(all) > 0 {
		n := min(batch, len(all))
		s.cfg.files, all = all[:n], all[n:]
		acc, err := s.upload(ctx)
		if err != nil {
			return nil, err
		}
		if len(acc.Captures) > 0 {
			ids = append(ids, acc.Captures...)
		} else {
			ids = append(ids, acc)
		}
	}
	return ids, nil
}

func (s *submitter) upload(ctx context.Context) (api.Accepted, error) {
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	var sizes int64
	for _, name := range s.cfg.files {
		f, err := os.Open(name)
		if err != nil {
			return api.Accepted{}, err
		}
		files = append(files, f)
		st, err := f.Stat()
		if err != nil {
			return api.Accepted{}, err
		}
		if st.IsDir() {
			return api.Accepted{}, fmt.Errorf("%s: is a directory, not a capture file", name)
		}
		sizes += st.Size()
	}
	// The envelope is written once without the files to learn the body's
	// length, so the server can refuse an oversized upload before it.
	boundary := multipart.NewWriter(io.Discard).Boundary()
	var envelope bytes.Buffer
	if err := s.writeMultipart(&envelope, boundary, nil); err != nil {
		return api.Accepted{}, err
	}
	total := int64(envelope.Len()) + sizes
	pr, pw := io.Pipe()
	var sent atomic.Int64
	go func() { pw.CloseWithError(s.writeMultipart(&countWriter{w: pw, n: &sent}, boundary, files)) }()
	req, err := s.request(ctx, http.MethodPost, "/api/v1/captures", pr)
	if err != nil {
		return api.Accepted{}, err
	}
	req.ContentLength = total
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	stopBar := s.showProgress("uploading", total, func() int64 { return sent.Load() })
	resp, err := s.client.Do(req)
	stopBar()
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		return api.Accepted{}, fmt.Errorf("uploading to %s: %w", s.cfg.server, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusAccepted:
	case http.StatusUnsupportedMediaType:
		fmt.Fprintln(s.stderr, "ftpdiag:", strings.TrimPrefix(apiError(resp).Error(), resp.Status+": "))
		return api.Accepted{}, errNoReport
	default:
		return api.Accepted{}, fmt.Errorf("upload refused: %w", apiError(resp))
	}
	var acc api.Accepted
	if err := json.NewDecoder(resp.Body).Decode(&acc); err != nil {
		return api.Accepted{}, fmt.Errorf("upload answer: %w", err)
	}
	return acc, nil
}

// writeMultipart writes the upload's form; with files nil, the parts of
// the files are left empty (to measure the envelope).
func (s *submitter) writeMultipart(w io.Writer, boundary string, files []*os.File) error {
	mw := multipart.NewWriter(w)
	if err := mw.SetBoundary(boundary); err != nil {
		return err
	}
	fields := [][2]string{{"each", fmt.Sprint(s.cfg.each)}}
	if s.cfg.name != "" {
		fields = append(fields, [2]string{"name", s.cfg.name})
	}
	if len(s.cfg.tags) > 0 {
		fields = append(fields, [2]string{"tags", strings.Join(s.cfg.tags, ",")})
	}
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return err
		}
	}
	for i, name := range s.cfg.files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, name))
		h.Set("Content-Type", "application/octet-stream")
		part, err := mw.CreatePart(h)
		if err != nil {
			return err
		}
		if files != nil {
			if _, err := io.Copy(part, files[i]); err != nil {
				return err
			}
		}
	}
	return mw.Close()
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// showProgress draws a bar on a terminal until the returned func is
// called.
func (s *submitter) showProgress(what string, total int64, value func() int64) func() {
	if !s.bars || total <= 0 {
		return func() {}
	}
	bar := newProgressBar(s.stderr, total)
	bar.tracker.UpdateMessage(what)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(submitBarPeriod)
		defer t.Stop()
		for {
			bar.tracker.SetValue(value())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		bar.tracker.SetValue(value())
		bar.stop()
	}
}

// wait polls a capture's record until its analysis is final.
func (s *submitter) wait(ctx context.Context, a api.Accepted) (*api.Capture, error) {
	var progress atomic.Int64
	var total atomic.Int64
	stop := func() {}
	defer func() { stop() }()
	delay := pollFirst
	for {
		path := a.StatusURL
		if !s.bars {
			path += "?wait=" + longPoll.String() // no bar to draw: wait on the server
		}
		rec, err := s.record(ctx, path)
		if err != nil {
			return nil, err
		}
		progress.Store(rec.Progress.BytesRead)
		if rec.Status.Final() {
			return rec, nil
		}
		if rec.Status == store.Running && total.Load() == 0 && rec.Progress.BytesTotal > 0 {
			total.Store(rec.Progress.BytesTotal)
			stop = s.showProgress("analysing", rec.Progress.BytesTotal, func() int64 { return progress.Load() })
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("capture %s: still %s after --timeout %v", a.ID, rec.Status, s.cfg.timeout)
		case <-t.C:
		}
		delay = min(delay*2, pollMax)
	}
}

func (s *submitter) record(ctx context.Context, path string) (*api.Capture, error) {
	req, err := s.request(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, apiError(resp)
	}
	var c api.Capture
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		return nil, fmt.Errorf("capture record: %w", err)
	}
	return &c, nil
}

// printReport fetches the report in the format asked for and writes it.
// With --each, JSON documents are written on one line each, as the CLI
// writes JSON Lines, with status, the exit status of the capture alone.
func (s *submitter) printReport(ctx context.Context, a api.Accepted, status int, stdout io.Writer) error {
	q := url.Values{}
	switch s.cfg.format {
	case "text":
		q.Set("format", "text")
		if s.cfg.explain {
			q.Set("explain", "true")
		}
	case "html":
		q.Set("format", "html")
	}
	path := a.ReportURL
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	req, err := s.request(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("fetching the report: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetching the report: %w", apiError(resp))
	}
	if s.cfg.format == "json" && s.cfg.each {
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return fmt.Errorf("fetching the report: %w", err)
		}
		var line bytes.Buffer
		if err := json.Compact(&line, b); err != nil {
			return fmt.Errorf("the report: %w", err)
		}
		// As the CLI's JSON Lines, each document says its exit status.
		doc, schema := line.Bytes(), []byte(`{"schema":"ftpdiag/v1"`)
		if bytes.HasPrefix(doc, schema) {
			doc = slices.Concat(schema, []byte(fmt.Sprintf(`,"status":%d`, status)), doc[len(schema):])
		}
		_, err = stdout.Write(append(doc, '\n'))
		return writeErr(err)
	}
	if _, err := io.Copy(stdout, &readErrMarker{r: resp.Body}); err != nil {
		var rerr readErr
		if errors.As(err, &rerr) {
			return fmt.Errorf("fetching the report: %w", rerr.err)
		}
		return writeErr(err)
	}
	return nil
}

func writeErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("writing the report: %w", err)
}

// readErrMarker tells the response's read errors from stdout's write
// errors in io.Copy.
type readErrMarker struct{ r io.Reader }

type readErr struct{ err error }

func (e readErr) Error() string { return e.err.Error() }

func (m *readErrMarker) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	if err != nil && err != io.EOF {
		err = readErr{err}
	}
	return n, err
}
