package api

import (
	"bufio"
	"bytes"
	"container/heap"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"ftpdiag/analyze"
	"ftpdiag/annotate"
	"ftpdiag/extract"
	"ftpdiag/ftpflow"
	"ftpdiag/internal/version"
	"ftpdiag/service/store"
	"ftpdiag/service/worker"
)

// Capture is a capture's record as the API shows it.
type Capture struct {
	ID       string         `json:"id"`
	Name     string         `json:"name"`
	Tags     []string       `json:"tags"`
	Files    []File         `json:"files"`
	Size     int64          `json:"size"`
	Status   store.Status   `json:"status"`
	Progress store.Progress `json:"progress"`
	// Error holds one line per problem the analysis met, or why it
	// failed; null when none.
	Error    *string        `json:"error"`
	Created  time.Time      `json:"created"`
	Started  *time.Time     `json:"started"`
	Finished *time.Time     `json:"finished"`
	Attempts int            `json:"attempts"`
	Summary  *store.Summary `json:"summary"`
	// Verdict is "ok", "warning" or "error" once analysed, "" before.
	Verdict string `json:"verdict"`
	// KeptCapture says whether the capture is kept (evidence extraction
	// works only then).
	KeptCapture bool `json:"kept_capture"`
	Accepted
}

// File is one uploaded file of a capture.
type File struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

// List is one page of captures, newest first.
type List struct {
	Captures []Capture `json:"captures"`
	// NextCursor, passed as cursor, gives the next page; null on the last.
	NextCursor *string `json:"next_cursor"`
}

// verdict turns the worst severity into the page's badge.
func verdict(r *store.Record) string {
	if r.Summary == nil {
		return ""
	}
	switch r.Summary.WorstSeverity {
	case "error":
		return "error"
	case "warning":
		return "warning"
	}
	return "ok"
}

func (a *API) view(r *store.Record) Capture {
	c := Capture{
		ID: r.ID, Name: r.Name, Tags: r.Tags, Size: r.Size, Status: r.Status, Progress: r.Progress,
		Created: r.Created, Started: r.Started, Finished: r.Finished, Attempts: r.Attempts,
		Summary: r.Summary, Verdict: verdict(r), KeptCapture: r.Keep, Accepted: a.links(r.Tenant, r.ID),
	}
	if c.Tags == nil {
		c.Tags = []string{}
	}
	for _, f := range r.Files {
		c.Files = append(c.Files, File{Name: f.Name, Size: f.Size})
	}
	if r.Error != "" {
		e := r.Error
		c.Error = &e
	}
	return c
}

// record reads the capture a request names, answering 401/404 itself.
func (a *API) record(w http.ResponseWriter, r *http.Request, allowKey bool) (*store.Record, bool) {
	id := r.PathValue("id")
	tenant, ok := a.bearer(r)
	if !ok && allowKey {
		tenant, ok = a.tenantFor(r, id)
	}
	if !ok {
		unauthorized(w)
		return nil, false
	}
	rec, _, err := a.cfg.Store.Record(r.Context(), tenant, id)
	if err != nil {
		a.storeError(w, "reading the record", err)
		return nil, false
	}
	return rec, true
}

// maxWait bounds the wait a GET of a record may ask for.
const maxWait = 60 * time.Second

// get answers a record; with ?wait=DURATION (at most a minute), once its
// analysis is final or the wait is over, whichever comes first.
func (a *API) get(w http.ResponseWriter, r *http.Request) {
	var wait time.Duration
	if v := r.URL.Query().Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > maxWait {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("wait=%q: want a duration up to %v, such as 30s", v, maxWait))
			return
		}
		wait = d
	}
	if wait == 0 {
		rec, ok := a.record(w, r, false)
		if ok {
			writeJSON(w, http.StatusOK, a.view(rec))
		}
		return
	}
	tenant, ok := a.bearer(r)
	if !ok {
		unauthorized(w)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	rec, err := a.cfg.Store.WaitRecord(ctx, tenant, r.PathValue("id"), func(rec *store.Record) bool { return rec.Status.Final() })
	if err != nil {
		a.storeError(w, "reading the record", err)
		return
	}
	writeJSON(w, http.StatusOK, a.view(rec))
}

func (a *API) delete(w http.ResponseWriter, r *http.Request) {
	rec, ok := a.record(w, r, false)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), deleteTimeout)
	defer cancel()
	// The record first: a worker still on it then fails to finish and
	// drops what it wrote.
	err := a.cfg.Store.DeleteRecord(ctx, rec.Tenant, rec.ID)
	if err == nil {
		err = a.cfg.Store.DeleteReports(ctx, rec.Tenant, rec.ID)
	}
	for _, f := range rec.Files {
		if err == nil {
			err = a.cfg.Store.DeleteCapture(ctx, f.Object)
		}
	}
	if err != nil {
		a.storeError(w, "deleting the capture", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// filter is what a listing asks for.
type filter struct {
	status   string
	severity string
	tag      string
	limit    int
	before   *listKey
}

// listKey orders captures newest first (ties by id).
type listKey struct {
	created int64
	id      string
}

func (k listKey) newerThan(o listKey) bool {
	return k.created > o.created || k.created == o.created && k.id > o.id
}

func (k listKey) cursor() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(k.created, 10) + "." + k.id))
}

func parseCursor(s string) (*listKey, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	ts, id, ok := strings.Cut(string(b), ".")
	n, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || !store.ValidID(id) {
		return nil, errors.New("malformed")
	}
	return &listKey{created: n, id: id}, nil
}

func parseFilter(q map[string][]string) (*filter, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	f := &filter{status: get("status"), severity: get("severity"), tag: get("tag"), limit: defaultListLimit}
	switch store.Status(f.status) {
	case "", store.Queued, store.Running, store.Done, store.Failed:
	default:
		return nil, fmt.Errorf("status=%q: want queued, running, done or failed", f.status)
	}
	switch f.severity {
	case "", "error", "warning", "info", "none", "ok":
	default:
		return nil, fmt.Errorf("severity=%q: want error, warning, info, none or ok (info or none)", f.severity)
	}
	if v := get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListLimit {
			return nil, fmt.Errorf("limit=%q: want 1 to %d", v, maxListLimit)
		}
		f.limit = n
	}
	if v := get("cursor"); v != "" {
		k, err := parseCursor(v)
		if err != nil {
			return nil, fmt.Errorf("cursor=%q: %v", v, err)
		}
		f.before = k
	}
	return f, nil
}

func (f *filter) match(r *store.Record) bool {
	if f.status != "" && string(r.Status) != f.status {
		return false
	}
	if f.severity != "" {
		worst := ""
		if r.Summary != nil {
			worst = r.Summary.WorstSeverity
		}
		if f.severity == "ok" {
			if worst != "none" && worst != "info" {
				return false
			}
		} else if worst != f.severity {
			return false
		}
	}
	if f.tag != "" && !contains(r.Tags, f.tag) {
		return false
	}
	if f.before != nil && !f.before.newerThan(keyOf(r)) {
		return false
	}
	return true
}

func keyOf(r *store.Record) listKey { return listKey{created: r.Created.UnixNano(), id: r.ID} }

// oldestFirst is a heap of records whose root is the oldest: the one to
// drop when more than a page's worth match.
type oldestFirst []*store.Record

func (h oldestFirst) Len() int           { return len(h) }
func (h oldestFirst) Less(i, j int) bool { return keyOf(h[j]).newerThan(keyOf(h[i])) }
func (h oldestFirst) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *oldestFirst) Push(x any)        { *h = append(*h, x.(*store.Record)) }
func (h *oldestFirst) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// list answers one page of the tenant's captures, newest first. It reads
// every record of the tenant and keeps the newest limit+1 that match, so
// its memory is that of one page.
func (a *API) list(w http.ResponseWriter, r *http.Request) {
	tenant, ok := a.bearer(r)
	if !ok {
		unauthorized(w)
		return
	}
	f, err := parseFilter(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	h := &oldestFirst{}
	err = a.cfg.Store.Records(r.Context(), tenant, func(rec *store.Record) bool {
		if f.match(rec) {
			heap.Push(h, rec)
			if h.Len() > f.limit+1 {
				heap.Pop(h)
			}
		}
		return true
	})
	if err != nil {
		a.storeError(w, "listing captures", err)
		return
	}
	page := make([]*store.Record, h.Len())
	for i := len(page) - 1; i >= 0; i-- {
		page[i] = heap.Pop(h).(*store.Record)
	}
	out := List{Captures: []Capture{}}
	if len(page) > f.limit {
		page = page[:f.limit]
		c := keyOf(page[len(page)-1]).cursor()
		out.NextCursor = &c
	}
	for _, rec := range page {
		out.Captures = append(out.Captures, a.view(rec))
	}
	writeJSON(w, http.StatusOK, out)
}

// notReady answers a request for a report that does not exist (yet).
func notReady(w http.ResponseWriter, rec *store.Record) {
	if !rec.Status.Final() {
		writeJSON(w, http.StatusConflict, Error{Error: "the capture is not analysed yet", Status: rec.Status})
		return
	}
	msg := "the analysis failed: no report"
	if rec.Error != "" {
		msg += ": " + rec.Error
	}
	writeJSON(w, http.StatusNotFound, Error{Error: msg, Status: rec.Status})
}

// report answers a stored report: ?format=json (default), html or text
// (with explain=true, the explained text).
func (a *API) report(w http.ResponseWriter, r *http.Request) {
	rec, ok := a.record(w, r, true)
	if !ok {
		return
	}
	if !rec.Reports {
		notReady(w, rec)
		return
	}
	kind, ctype := store.ReportJSON, "application/json"
	switch format := r.URL.Query().Get("format"); format {
	case "", "json":
	case "html":
		kind, ctype = store.ReportHTML, "text/html; charset=utf-8"
		w.Header().Set("Content-Security-Policy", reportContentSecurityPolicy)
	case "text":
		kind, ctype = store.ReportText, "text/plain; charset=utf-8"
		if explain, _ := strconv.ParseBool(r.URL.Query().Get("explain")); explain {
			kind = store.ReportExplain
		}
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("format=%q: want json, html or text", format))
		return
	}
	a.serveReport(w, r, rec, kind, ctype, nil)
}

// serveReport copies a stored report to the answer, passing it through
// edit if set.
func (a *API) serveReport(w http.ResponseWriter, r *http.Request, rec *store.Record, kind store.ReportKind, ctype string, edit func(io.Writer, io.Reader) error) {
	rc, size, err := a.cfg.Store.OpenReport(r.Context(), rec.Tenant, rec.ID, kind)
	if err != nil {
		a.storeError(w, "reading the report", err)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "private, no-cache")
	if edit == nil {
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		io.Copy(w, rc)
		return
	}
	edit(w, rc)
}

// backLink is put at the top of the HTML report: the way back to the list.
const backLink = `<nav style="background:#1b2b3d;padding:8px 28px;font:14px system-ui,sans-serif"><a href="/" style="color:#fff">&larr; All captures</a></nav>`

// navWithAnnotated is backLink with a button for the annotated capture,
// which opens it in Wireshark; key carries a share link's key on.
func navWithAnnotated(id, key string) string {
	href := "/api/v1/captures/" + id + "/annotated"
	if key != "" {
		href += "?key=" + url.QueryEscape(key)
	}
	button := `<a href="` + html.EscapeString(href) + `" style="color:#fff;margin-left:24px">Annotated capture for Wireshark (pcapng)</a>`
	return strings.Replace(backLink, "</nav>", button+"</nav>", 1)
}

// withNav copies an HTML report, inserting nav after <body>.
func withNav(w io.Writer, r io.Reader, nav string) error {
	br := bufio.NewReaderSize(r, sniffLen)
	head, _ := br.Peek(sniffLen)
	if i := bytes.Index(head, []byte("<body>")); i >= 0 {
		i += len("<body>")
		if _, err := w.Write(head[:i]); err != nil {
			return err
		}
		if _, err := io.WriteString(w, nav); err != nil {
			return err
		}
		br.Discard(i)
	}
	_, err := io.Copy(w, br)
	return err
}

// html answers the HTML report, with a link back to the list. It opens
// in a browser with a share link's key (no token there).
func (a *API) html(w http.ResponseWriter, r *http.Request) {
	rec, ok := a.record(w, r, true)
	if !ok {
		return
	}
	if !rec.Reports {
		notReady(w, rec)
		return
	}
	w.Header().Set("Content-Security-Policy", reportContentSecurityPolicy)
	nav := backLink
	if rec.Keep {
		nav = navWithAnnotated(rec.ID, r.URL.Query().Get("key"))
	}
	a.serveReport(w, r, rec, store.ReportHTML, "text/html; charset=utf-8", func(w io.Writer, r io.Reader) error { return withNav(w, r, nav) })
}

// extract answers a session's evidence capture (pcapng), made from the
// kept capture: its files are copied to temporary files (the extraction
// reads them twice), analysed again, and the session's packets written.
func (a *API) extract(w http.ResponseWriter, r *http.Request) {
	rec, ok := a.keptRecord(w, r)
	if !ok {
		return
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	switch {
	case err != nil || n < 1:
		writeError(w, http.StatusBadRequest, "session number: want a positive integer")
		return
	case rec.Summary != nil && n > rec.Summary.Sessions:
		writeError(w, http.StatusNotFound, fmt.Sprintf("no session %d: the capture has %d", n, rec.Summary.Sessions))
		return
	}
	out, name, err := a.evidence(r.Context(), rec, n)
	if err != nil {
		a.cfg.Logf("extract %s session %d: %v", rec.ID, n, err)
	}
	a.serveCapture(w, r, out, name, "the evidence capture", err)
}

// keptRecord finds the record of a request's capture, and answers (and
// returns false) unless its analysis is done and the capture kept.
func (a *API) keptRecord(w http.ResponseWriter, r *http.Request) (*store.Record, bool) {
	rec, ok := a.record(w, r, true)
	switch {
	case !ok:
		return nil, false
	case rec.Status != store.Done:
		notReady(w, rec)
		return nil, false
	case !rec.Keep:
		writeError(w, http.StatusConflict, "the capture was not kept after its analysis (the service runs without --keep-captures)")
		return nil, false
	}
	return rec, true
}

// serveCapture answers a capture made in a temporary file as an
// attachment, and removes the file; err, when not nil, says why it could
// not be made (404 for what does not exist).
func (a *API) serveCapture(w http.ResponseWriter, r *http.Request, out *os.File, name, what string, err error) {
	if err != nil {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, errNoSession) {
			writeError(w, http.StatusNotFound, err.Error())
			return
		}
		writeError(w, http.StatusInternalServerError, what+" could not be made: "+err.Error())
		return
	}
	defer os.Remove(out.Name())
	defer out.Close()
	w.Header().Set("Content-Type", "application/x-pcapng")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	st, _ := out.Stat()
	http.ServeContent(w, r, name, st.ModTime(), out)
}

var errNoSession = errors.New("no such session, or it has no packets")

// annotated answers the capture as one pcapng whose packets carry the
// diagnosis as comments (ftpdiag --annotate; with ?lesson=true, also
// --annotate-lesson's teaching notes), made from the kept capture.
func (a *API) annotated(w http.ResponseWriter, r *http.Request) {
	rec, ok := a.keptRecord(w, r)
	if !ok {
		return
	}
	out, err := a.annotate(r.Context(), rec, r.URL.Query().Get("lesson") == "true")
	if err != nil {
		a.cfg.Logf("annotate %s: %v", rec.ID, err)
	}
	a.serveCapture(w, r, out, "capture-"+rec.ID+"-annotated.pcapng", "the annotated capture", err)
}

// annotate writes the annotated capture to a temporary file. Passwords
// stay masked in its comments.
func (a *API) annotate(ctx context.Context, rec *store.Record, lesson bool) (*os.File, error) {
	inputs, remove, err := a.keptInputs(ctx, rec)
	defer remove()
	if err != nil {
		return nil, err
	}
	an, err := analyze.Run(ctx, inputs, worker.Options())
	if errors.Is(err, analyze.ErrNothingRead) {
		return nil, err
	}
	out, err := os.CreateTemp(a.cfg.TempDir, "annotated-*.pcapng")
	if err != nil {
		return nil, err
	}
	if _, err = annotate.Write(ctx, inputs, an, out, annotate.Options{Lesson: lesson, Version: version.String()}); err == nil {
		_, err = out.Seek(0, io.SeekStart)
	}
	if err != nil {
		out.Close()
		os.Remove(out.Name())
		return nil, err
	}
	return out, nil
}

// keptInputs copies a kept capture's files to temporary files, which the
// evidence and annotated captures read twice; remove deletes them.
func (a *API) keptInputs(ctx context.Context, rec *store.Record) (inputs []analyze.Input, remove func(), err error) {
	remove = func() {
		for _, in := range inputs {
			f := in.Reader.(*os.File)
			f.Close()
			os.Remove(f.Name())
		}
	}
	for _, file := range rec.Files {
		f, err := a.copyCapture(ctx, file.Object)
		if err != nil {
			remove()
			return nil, func() {}, err
		}
		inputs = append(inputs, analyze.Input{Name: file.Name, Reader: f})
	}
	return inputs, remove, nil
}

// evidence writes session n's evidence capture to a temporary file.
func (a *API) evidence(ctx context.Context, rec *store.Record, n int) (*os.File, string, error) {
	inputs, remove, err := a.keptInputs(ctx, rec)
	defer remove()
	if err != nil {
		return nil, "", err
	}
	an, err := analyze.Run(ctx, inputs, worker.Options())
	if errors.Is(err, analyze.ErrNothingRead) {
		return nil, "", err
	}
	var session *ftpflow.Session
	for _, s := range an.Sessions {
		if s.ID == n {
			session = s
		}
	}
	if session == nil {
		return nil, "", errNoSession
	}
	out, err := os.CreateTemp(a.cfg.TempDir, "evidence-*.pcapng")
	if err != nil {
		return nil, "", err
	}
	files, err := extract.Write(ctx, inputs, []*ftpflow.Session{session}, func(*ftpflow.Session) (io.Writer, error) { return struct{ io.Writer }{out}, nil }, extract.Options{})
	if err == nil && len(files) == 0 {
		err = errNoSession
	}
	if err == nil {
		_, err = out.Seek(0, io.SeekStart)
	}
	if err != nil {
		out.Close()
		os.Remove(out.Name())
		return nil, "", err
	}
	return out, extract.FileName("", session), nil
}

// copyCapture copies a stored capture to a temporary file.
func (a *API) copyCapture(ctx context.Context, object string) (*os.File, error) {
	rc, _, err := a.cfg.Store.OpenCapture(ctx, object)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	f, err := os.CreateTemp(a.cfg.TempDir, "capture-*")
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(f, rc)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("copying the capture: %w", err)
	}
	return f, nil
}
