// Package api is the triage service's HTTP interface: the versioned JSON
// API under /api/v1 (documented by the OpenAPI file it serves at
// /api/v1/openapi.json), the HTML reports at /captures/{id}, health and
// readiness probes, Prometheus metrics, and the page at "/".
//
// It writes uploads to the store and queues their jobs; workers do the
// analyses. Every request names its tenant with a bearer token (or, on a
// loopback address without tokens, is the open tenant's); another
// tenant's capture answers 404 as an unknown one does.
package api

import (
	"context"
	_ "embed" // the OpenAPI document
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"ftpdiag/service/metrics"
	"ftpdiag/service/store"
	"ftpdiag/service/web"
)

// Defaults of Config.
// MaxFilesPerUpload bounds the files of one upload; ftpdiag submit --each
// sends more in several uploads.
const MaxFilesPerUpload = 64

const (
	DefaultMaxUpload            = 4 << 30
	DefaultUploadsPerTenant     = 4
	DefaultBodyIdleTimeout      = 60 * time.Second
	defaultListLimit            = 20
	maxListLimit                = 200
	readyTimeout                = 2 * time.Second
	deleteTimeout               = 30 * time.Second
	maxFieldLen                 = 4 << 10
	maxNameLen                  = 512
	maxTags                     = 16
	maxTagLen                   = 64
	sniffLen                    = 64 << 10
	reportContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

//go:embed openapi.json
var openAPI []byte

// Config sets up the API.
type Config struct {
	Store   *store.Store
	Metrics *metrics.Metrics
	// Tokens, if set, are required (Bearer); otherwise every request is
	// OpenTenant's.
	Tokens *Tokens
	// MaxUpload bounds one upload request's body; default 4 GiB.
	MaxUpload int64
	// UploadsPerTenant bounds the uploads a tenant sends at once to this
	// process; default 4.
	UploadsPerTenant int
	// BodyIdleTimeout ends an upload whose body stalls this long;
	// default 60 s.
	BodyIdleTimeout time.Duration
	// KeepCaptures says the workers keep captures after analysis, so
	// evidence can be extracted.
	KeepCaptures bool
	// TempDir holds the temporary copies evidence extraction reads.
	TempDir string
	// Ready reports whether the workers are ready (for /readyz).
	Ready func() bool
	// Logf, if set, logs server-side failures.
	Logf func(format string, args ...any)
}

// API serves the HTTP interface.
type API struct {
	cfg    Config
	secret []byte
	mux    *http.ServeMux

	mu       sync.Mutex
	inFlight map[string]int // uploads in progress, by tenant
}

// New returns the API; it reads (or makes) the share-link secret.
func New(ctx context.Context, cfg Config) (*API, error) {
	if cfg.MaxUpload <= 0 {
		cfg.MaxUpload = DefaultMaxUpload
	}
	if cfg.UploadsPerTenant <= 0 {
		cfg.UploadsPerTenant = DefaultUploadsPerTenant
	}
	if cfg.BodyIdleTimeout <= 0 {
		cfg.BodyIdleTimeout = DefaultBodyIdleTimeout
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New(cfg.Store.QueueDepth)
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.Ready == nil {
		cfg.Ready = func() bool { return true }
	}
	secret, err := cfg.Store.LinkSecret(ctx)
	if err != nil {
		return nil, err
	}
	a := &API{cfg: cfg, secret: secret, inFlight: map[string]int{}, mux: http.NewServeMux()}
	a.routes()
	return a, nil
}

// Routes lists the API's routes as "METHOD PATH" patterns; the OpenAPI
// document describes each.
func Routes() []string {
	return []string{
		"POST /api/v1/captures",
		"GET /api/v1/captures",
		"GET /api/v1/captures/{id}",
		"DELETE /api/v1/captures/{id}",
		"GET /api/v1/captures/{id}/report",
		"GET /api/v1/captures/{id}/sessions/{n}/extract",
		"GET /api/v1/captures/{id}/annotated",
		"GET /api/v1/openapi.json",
		"GET /captures/{id}",
		"GET /healthz",
		"GET /readyz",
		"GET /metrics",
	}
}

func (a *API) routes() {
	handlers := map[string]http.HandlerFunc{
		"POST /api/v1/captures":                          a.upload,
		"GET /api/v1/captures":                           a.list,
		"GET /api/v1/captures/{id}":                      a.get,
		"DELETE /api/v1/captures/{id}":                   a.delete,
		"GET /api/v1/captures/{id}/report":               a.report,
		"GET /api/v1/captures/{id}/sessions/{n}/extract": a.extract,
		"GET /api/v1/captures/{id}/annotated":            a.annotated,
		"GET /api/v1/openapi.json":                       a.openapi,
		"GET /captures/{id}":                             a.html,
		"GET /healthz":                                   a.healthz,
		"GET /readyz":                                    a.readyz,
	}
	for _, route := range Routes() {
		if h, ok := handlers[route]; ok {
			a.mux.Handle(route, h)
		}
	}
	a.mux.Handle("GET /metrics", promhttp.HandlerFor(a.cfg.Metrics.Registry, promhttp.HandlerOpts{}))
	a.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API route: "+r.Method+" "+r.URL.Path)
	})
	a.mux.Handle("/", web.Handler())
}

// ServeHTTP serves a request, with the headers every answer carries.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer") // share links carry their key
	h.Set("X-Frame-Options", "DENY")
	a.mux.ServeHTTP(w, r)
}

// Error is the body of every error answer.
type Error struct {
	Error string `json:"error"`
	// Status is the capture's status, when the error is that it is not
	// analysed yet.
	Status store.Status `json:"status,omitempty"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, Error{Error: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// unauthorized answers a request without a valid token.
func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="ftpdiag"`)
	writeError(w, http.StatusUnauthorized, "a valid API token is required (Authorization: Bearer TOKEN)")
}

// storeError answers a failure of the store.
func (a *API) storeError(w http.ResponseWriter, what string, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "no such capture")
	case errors.Is(err, store.ErrFull):
		writeError(w, http.StatusInsufficientStorage, "the service's storage is full: nothing was stored; try again later")
	default:
		a.cfg.Logf("%s: %v", what, err)
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("%s: the store did not answer; try again later", what))
	}
}

func (a *API) openapi(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openAPI)
}

func (a *API) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := a.cfg.Store.Ping(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "JetStream not ready: %v\n", err)
		return
	}
	if !a.cfg.Ready() {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("workers not ready\n"))
		return
	}
	w.Write([]byte("ready\n"))
}
