package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"ftpdiag/pcap"
	"ftpdiag/service/store"
)

// Accepted is the answer to an upload: where to follow the capture.
type Accepted struct {
	ID string `json:"id"`
	// StatusURL is the record (GET), ReportURL the JSON report (GET, with
	// the token), HTMLURL the HTML report: a link that opens in a browser
	// and may be shared (it carries a key when tokens are required).
	StatusURL string `json:"status_url"`
	ReportURL string `json:"report_url"`
	HTMLURL   string `json:"html_url"`
	// JSONURL is the JSON report as a link to share, like HTMLURL.
	JSONURL string `json:"json_url"`
	// Captures lists every capture made by an upload with each=true (the
	// fields above are then the first one's).
	Captures []Accepted `json:"captures,omitempty"`
}

// links fills the URLs of a capture.
func (a *API) links(tenant, id string) Accepted {
	key := ""
	if a.cfg.Tokens != nil {
		key = "?key=" + a.linkKey(tenant, id)
	}
	api := "/api/v1/captures/" + id
	return Accepted{ID: id, StatusURL: api, ReportURL: api + "/report", HTMLURL: "/captures/" + id + key, JSONURL: api + "/report" + key}
}

// uploadError is a failure of an upload with its HTTP status.
type uploadError struct {
	code   int
	result string // metrics label
	msg    string
}

func (e *uploadError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &uploadError{code: http.StatusBadRequest, result: "bad_request", msg: fmt.Sprintf(format, args...)}
}

// upload is one upload request in progress: the files stored so far.
type upload struct {
	a      *API
	tenant string
	name   string
	tags   []string
	each   bool
	files  []store.File
}

func (a *API) upload(w http.ResponseWriter, r *http.Request) {
	tenant, ok := a.bearer(r)
	if !ok {
		unauthorized(w)
		return
	}
	m := a.cfg.Metrics
	fail := func(err error) {
		var ue *uploadError
		if !errors.As(err, &ue) {
			ue = classifyUploadError(err)
		}
		if ue.code >= 500 && ue.code != http.StatusInsufficientStorage {
			a.cfg.Logf("upload: %v", err)
		}
		m.Uploads.WithLabelValues(ue.result).Inc()
		m.Failures.WithLabelValues("upload_" + ue.result).Inc()
		if ue.code == http.StatusRequestEntityTooLarge || ue.code == http.StatusTooManyRequests {
			w.Header().Set("Connection", "close")
		}
		if ue.code == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "5")
		}
		writeError(w, ue.code, ue.msg)
	}
	if r.ContentLength > a.cfg.MaxUpload {
		fail(tooLarge(a.cfg.MaxUpload))
		return
	}
	if !a.acquire(tenant) {
		fail(&uploadError{code: http.StatusTooManyRequests, result: "too_many_uploads",
			msg: fmt.Sprintf("this tenant already has %d uploads in progress; try again when one ends", a.cfg.UploadsPerTenant)})
		return
	}
	defer a.release(tenant)
	if r.ContentLength > 0 {
		if used, limit, err := a.cfg.Store.Usage(r.Context()); err == nil && limit > 0 && used+r.ContentLength > limit {
			fail(fmt.Errorf("%d bytes declared, %d of %d used: %w", r.ContentLength, used, limit, store.ErrFull))
			return
		}
	}
	up := &upload{a: a, tenant: tenant}
	if err := up.options(r.URL.Query()); err != nil {
		fail(err)
		return
	}
	body := &idleReader{r: http.MaxBytesReader(w, r.Body, a.cfg.MaxUpload), rc: http.NewResponseController(w), idle: a.cfg.BodyIdleTimeout}
	err := up.read(r, body)
	if err == nil && len(up.files) == 0 {
		err = badRequest("no capture in the request: send it as the body, or as multipart \"file\" parts")
	}
	var accepted Accepted
	if err == nil {
		accepted, err = up.queue(r.Context())
	}
	if err != nil {
		up.discard()
		fail(err)
		return
	}
	m.Uploads.WithLabelValues("accepted").Inc()
	for _, f := range up.files {
		m.UploadBytes.Add(float64(f.Size))
	}
	w.Header().Set("Location", accepted.StatusURL)
	writeJSON(w, http.StatusAccepted, accepted)
}

func tooLarge(limit int64) error {
	return &uploadError{code: http.StatusRequestEntityTooLarge, result: "too_large",
		msg: fmt.Sprintf("the upload exceeds %d bytes (--max-upload)", limit)}
}

// classifyUploadError turns an error met while storing into an answer.
func classifyUploadError(err error) *uploadError {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return tooLarge(mbe.Limit).(*uploadError)
	case errors.Is(err, store.ErrFull):
		return &uploadError{code: http.StatusInsufficientStorage, result: "storage_full",
			msg: "the service's storage is full: nothing was stored; try again later"}
	case errors.Is(err, errBodyIdle):
		return &uploadError{code: http.StatusRequestTimeout, result: "body_timeout", msg: err.Error()}
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.Canceled) || isNetError(err):
		return &uploadError{code: http.StatusBadRequest, result: "client_gone", msg: "the upload was cut short: " + err.Error()}
	}
	return &uploadError{code: http.StatusServiceUnavailable, result: "store_error", msg: "the upload could not be stored; try again later"}
}

func isNetError(err error) bool {
	s := err.Error()
	return strings.Contains(s, "connection reset") || strings.Contains(s, "broken pipe") ||
		strings.Contains(s, "use of closed network connection") || strings.Contains(s, "i/o timeout") ||
		strings.Contains(s, "http: invalid Read on closed Body")
}

// acquire counts an upload of tenant against its bound.
func (a *API) acquire(tenant string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.inFlight[tenant] >= a.cfg.UploadsPerTenant {
		return false
	}
	a.inFlight[tenant]++
	return true
}

func (a *API) release(tenant string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.inFlight[tenant]--; a.inFlight[tenant] <= 0 {
		delete(a.inFlight, tenant)
	}
}

// errBodyIdle ends an upload whose body stalled.
var errBodyIdle = errors.New("the upload stalled (no data for too long)")

// idleReader pushes the connection's read deadline forward before each
// read, so that a body that stops flowing ends the request while a slow
// but steady one goes on.
type idleReader struct {
	r    io.Reader
	rc   *http.ResponseController
	idle time.Duration
}

func (ir *idleReader) Read(p []byte) (int, error) {
	ir.rc.SetReadDeadline(time.Now().Add(ir.idle)) // not supported by every writer: then no bound
	n, err := ir.r.Read(p)
	if err != nil && strings.Contains(err.Error(), "i/o timeout") {
		err = fmt.Errorf("%w: %w", errBodyIdle, err)
	}
	return n, err
}

// options reads the query's name, tags and each.
func (up *upload) options(q map[string][]string) error {
	for _, v := range q["name"] {
		if err := up.setName(v); err != nil {
			return err
		}
	}
	for _, v := range append(q["tags"], q["tag"]...) {
		if err := up.addTags(v); err != nil {
			return err
		}
	}
	for _, v := range q["each"] {
		if err := up.setEach(v); err != nil {
			return err
		}
	}
	return nil
}

func (up *upload) setName(v string) error {
	v = strings.TrimSpace(v)
	if len(v) > maxNameLen || strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return badRequest("name: at most %d characters, no control characters", maxNameLen)
	}
	up.name = v
	return nil
}

func (up *upload) setEach(v string) error {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return badRequest("each=%q: want true or false", v)
	}
	up.each = b
	return nil
}

// addTags adds comma- or space-separated tags.
func (up *upload) addTags(v string) error {
	for _, t := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		if !validTag(t) {
			return badRequest("tag %q: want 1 to %d letters, digits or . _ - : /", t, maxTagLen)
		}
		if !contains(up.tags, t) {
			up.tags = append(up.tags, t)
		}
	}
	if len(up.tags) > maxTags {
		return badRequest("at most %d tags", maxTags)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func validTag(t string) bool {
	if t == "" || len(t) > maxTagLen {
		return false
	}
	for _, c := range t {
		if !(unicode.IsLetter(c) || unicode.IsDigit(c) || strings.ContainsRune("._-:/", c)) {
			return false
		}
	}
	return true
}

// read stores the request's captures: the raw body, or each "file" part
// of a multipart form.
func (up *upload) read(r *http.Request, body io.Reader) error {
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		name := r.URL.Query().Get("filename")
		if name == "" {
			name = up.name
		}
		return up.addFile(r.Context(), name, body)
	}
	if params["boundary"] == "" {
		return badRequest("multipart/form-data without a boundary")
	}
	mr := multipart.NewReader(body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch part.FormName() {
		case "file":
			if len(up.files) >= MaxFilesPerUpload {
				return badRequest("at most %d files in one upload: merge them first (mergecap) or send them in several uploads", MaxFilesPerUpload)
			}
			err = up.addFile(r.Context(), fileName(part), part)
		case "name", "tags", "tag", "each":
			var v string
			if v, err = readField(part); err == nil {
				switch part.FormName() {
				case "name":
					err = up.setName(v)
				case "each":
					err = up.setEach(v)
				default:
					err = up.addTags(v)
				}
			}
		}
		part.Close()
		if err != nil {
			return err
		}
	}
}

// fileName is a part's file name as sent: unlike Part.FileName, it keeps
// a path, as the CLI's report names a file by the path it was given.
func fileName(p *multipart.Part) string {
	_, params, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	return params["filename"]
}

func readField(p *multipart.Part) (string, error) {
	b, err := io.ReadAll(io.LimitReader(p, maxFieldLen+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxFieldLen {
		return "", badRequest("form field %q exceeds %d bytes", p.FormName(), maxFieldLen)
	}
	return string(b), nil
}

// cleanName makes an uploaded file's name safe to show: no control
// characters, bounded length, "capture" when empty.
func cleanName(name string) string {
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, name)
	if len(name) > maxNameLen {
		name = name[:maxNameLen]
	}
	if strings.TrimSpace(name) == "" {
		return "capture"
	}
	return name
}

// addFile sniffs one capture and streams it into the object store.
func (up *upload) addFile(ctx context.Context, name string, r io.Reader) error {
	name = cleanName(name)
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(r, head)
	head = head[:n]
	whole := err == io.EOF || err == io.ErrUnexpectedEOF
	if err != nil && !whole {
		return err
	}
	if err := sniff(head, name, whole); err != nil {
		return err
	}
	obj := "capture/" + store.NewID()
	var rest io.Reader = r
	if whole {
		rest = bytes.NewReader(nil)
	}
	size, err := up.a.cfg.Store.PutCapture(ctx, obj, io.MultiReader(bytes.NewReader(head), rest))
	if err != nil {
		return err
	}
	up.files = append(up.files, store.File{Name: name, Size: size, Object: obj})
	return nil
}

// sniff rejects what is not a capture, with the one-line reason the CLI
// prints. head is the start of the file (all of it when whole).
func sniff(head []byte, name string, whole bool) error {
	_, err := pcap.NewReader(bytes.NewReader(head), name)
	if err == nil {
		return nil
	}
	var fe *pcap.FormatError
	if !errors.As(err, &fe) {
		return nil // not about the content: the analysis will say
	}
	if !whole && errors.Is(err, io.ErrUnexpectedEOF) {
		return nil // cut by the sniffing, not in the file
	}
	return &uploadError{code: http.StatusUnsupportedMediaType, result: "unsupported_media_type", msg: fe.Error()}
}

// queue writes the records and queues their jobs.
func (up *upload) queue(ctx context.Context) (Accepted, error) {
	groups := [][]store.File{up.files}
	if up.each {
		groups = groups[:0]
		for _, f := range up.files {
			groups = append(groups, []store.File{f})
		}
	}
	ctx = context.WithoutCancel(ctx) // the upload is complete: finish it
	ctx, cancel := context.WithTimeout(ctx, deleteTimeout)
	defer cancel()
	var out Accepted
	var made []*store.Record
	undo := func() {
		// A fresh context: the one above may be spent by the failure.
		uctx, cancel := context.WithTimeout(context.Background(), deleteTimeout)
		defer cancel()
		for _, rec := range made {
			if err := up.a.cfg.Store.DeleteRecord(uctx, rec.Tenant, rec.ID); err != nil {
				up.a.cfg.Logf("upload: undoing record %s: %v", rec.ID, err)
			}
		}
	}
	now := time.Now().UTC()
	for _, files := range groups {
		rec := &store.Record{
			ID: store.NewID(), Tenant: up.tenant, Name: up.name, Tags: up.tags, Files: files,
			Status: store.Queued, Created: now, Keep: up.a.cfg.KeepCaptures,
		}
		if rec.Tags == nil {
			rec.Tags = []string{}
		}
		if rec.Name == "" || up.each {
			rec.Name = groupName(files)
			if up.name != "" {
				rec.Name = up.name + ": " + rec.Name
			}
		}
		for _, f := range files {
			rec.Size += f.Size
		}
		if _, err := up.a.cfg.Store.CreateRecord(ctx, rec); err != nil {
			undo()
			return Accepted{}, err
		}
		made = append(made, rec)
		if err := up.a.cfg.Store.Enqueue(ctx, store.Job{Tenant: rec.Tenant, ID: rec.ID}); err != nil {
			undo()
			return Accepted{}, err
		}
		out.Captures = append(out.Captures, up.a.links(rec.Tenant, rec.ID))
	}
	first := out.Captures[0]
	if up.each {
		first.Captures = out.Captures
	}
	return first, nil
}

// groupName names a capture after its files.
func groupName(files []store.File) string {
	names := make([]string, 0, len(files))
	for _, f := range files {
		names = append(names, f.Name)
	}
	name := strings.Join(names, ", ")
	if len(name) > maxNameLen {
		name = name[:maxNameLen-3] + "..."
	}
	return name
}

// discard deletes the captures of an upload that was not accepted.
func (up *upload) discard() {
	ctx, cancel := context.WithTimeout(context.Background(), deleteTimeout)
	defer cancel()
	for _, f := range up.files {
		if err := up.a.cfg.Store.DeleteCapture(ctx, f.Object); err != nil {
			up.a.cfg.Logf("upload: discarding %s: %v", f.Object, err)
		}
	}
}
