package service

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"ftpdiag/service/api"
	"ftpdiag/service/metrics"
	"ftpdiag/service/store"
	"ftpdiag/service/worker"
)

// HTTP server bounds (slowloris and idle connections).
const (
	ReadHeaderTimeout = 10 * time.Second
	IdleTimeout       = 120 * time.Second
	shutdownTimeout   = 10 * time.Second
	openTimeout       = 30 * time.Second
	flushTimeout      = 5 * time.Second
)

// Config is everything `ftpdiag serve` sets up.
type Config struct {
	// Listen is the HTTP address ("127.0.0.1:8080"); port 0 picks one.
	Listen string
	// Dir holds JetStream's files (and temporary copies for evidence
	// extraction, under Dir/tmp).
	Dir string
	// NATSListen, if set, opens the embedded NATS server's client port.
	NATSListen string
	// NATS, if set, is the external NATS cluster to use instead of the
	// embedded server (NATSListen and MaxStore then do not apply).
	NATS *store.ClientConfig
	// DrainTimeout is how long Stop lets the workers finish the jobs
	// they hold before handing them back; 0 hands them back at once.
	DrainTimeout time.Duration
	// MaxStore bounds JetStream's storage (0: NATS's default, three
	// quarters of the free disk space).
	MaxStore int64
	// TLSCert and TLSKey, if set, serve HTTPS.
	TLSCert, TLSKey string
	// Tokens, if set, are required; without, Listen must be loopback.
	Tokens *api.Tokens
	// ReadHeaderTimeout bounds the reading of a request's header
	// (slowloris); 0 means ReadHeaderTimeout.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes a keep-alive connection idle this long; 0
	// means IdleTimeout.
	IdleTimeout time.Duration
	Store       store.Config
	// Worker sets up the analysis workers; Worker.Workers 0 runs none
	// (a front end of workers on other machines).
	Worker worker.Config
	API    api.Config
}

// Service is a running triage service.
type Service struct {
	cfg      Config
	emb      *store.Embedded
	nc       *nats.Conn
	st       *store.Store
	pool     *worker.Pool
	http     *http.Server
	ln       net.Listener
	scheme   string
	stop     context.CancelFunc
	served   chan error
	stopOnce sync.Once
}

// IsLoopback reports whether a listen address binds only loopback
// interfaces ("127.0.0.1:8080", "[::1]:80", "localhost:8080").
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Start starts the embedded NATS server, the store, the workers and the
// HTTP server. Stop stops them.
func Start(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Tokens == nil && !IsLoopback(cfg.Listen) {
		return nil, fmt.Errorf("listening on %s, beyond this machine, needs --tokens: captures hold customers' traffic", cfg.Listen)
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	tmp := filepath.Join(cfg.Dir, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("--data: %w", err)
	}
	s := &Service{cfg: cfg, served: make(chan error, 1)}
	ok := false
	defer func() {
		if !ok {
			s.Stop()
		}
	}()
	var err error
	if err := s.connect(); err != nil {
		return nil, err
	}
	octx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	scfg := cfg.Store
	if s.emb != nil {
		scfg.DiskDir = s.emb.Dir()
	}
	if s.st, err = store.Open(octx, s.nc, scfg); err != nil {
		return nil, err
	}
	m := metrics.New(s.st.QueueDepth)
	wctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	acfg := cfg.API
	acfg.Ready = func() bool { return true }
	if cfg.Worker.Workers > 0 {
		wcfg := cfg.Worker
		wcfg.Metrics = m
		s.pool = worker.Start(wctx, s.st, wcfg)
		acfg.Ready = s.pool.Ready
	}
	acfg.Store, acfg.Metrics, acfg.Tokens, acfg.TempDir = s.st, m, cfg.Tokens, tmp
	acfg.KeepCaptures = cfg.Worker.KeepCaptures
	if acfg.Logf == nil {
		acfg.Logf = cfg.Worker.Logf
	}
	h, err := api.New(octx, acfg)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: ReadHeaderTimeout, IdleTimeout: IdleTimeout}
	if acfg.Logf != nil {
		// The server's own errors (TLS handshakes, a handler's panic,
		// accept failures) go where the service logs, not to log's
		// default output.
		srv.ErrorLog = log.New(logfWriter(acfg.Logf), "", 0)
	}
	if cfg.ReadHeaderTimeout > 0 {
		srv.ReadHeaderTimeout = cfg.ReadHeaderTimeout
	}
	if cfg.IdleTimeout > 0 {
		srv.IdleTimeout = cfg.IdleTimeout
	}
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	s.ln, err = net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("--listen: %w", err)
	}
	s.http, s.scheme = srv, "http"
	if srv.TLSConfig != nil {
		s.scheme = "https"
	}
	go func() {
		var err error
		if s.scheme == "https" {
			err = s.http.ServeTLS(s.ln, "", "")
		} else {
			err = s.http.Serve(s.ln)
		}
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.served <- err
	}()
	ok = true
	return s, nil
}

// logfWriter writes each line a log.Logger gives it through a Logf.
type logfWriter func(format string, args ...any)

func (w logfWriter) Write(p []byte) (int, error) {
	w("%s", strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// connect starts the embedded NATS server and connects to it, or
// connects to the external cluster.
func (s *Service) connect() error {
	var err error
	if s.cfg.NATS != nil {
		s.nc, err = store.Connect(*s.cfg.NATS)
		return err
	}
	s.emb, err = store.StartEmbedded(store.EmbeddedConfig{Dir: filepath.Join(s.cfg.Dir, "jetstream"), MaxStore: s.cfg.MaxStore, Listen: s.cfg.NATSListen})
	if err != nil {
		return err
	}
	s.nc, err = s.emb.Connect()
	return err
}

// URL is the address the page is served at.
func (s *Service) URL() string {
	return s.scheme + "://" + s.ln.Addr().String() + "/"
}

// NATSURL is the embedded NATS server's client address, "" when closed
// or external.
func (s *Service) NATSURL() string {
	if s.emb == nil {
		return ""
	}
	return s.emb.ClientURL()
}

// Store is the service's store (for tests).
func (s *Service) Store() *store.Store { return s.st }

// Workers returns the number of analysis workers in this process.
func (s *Service) Workers() int {
	if s.pool == nil {
		return 0
	}
	return s.pool.Workers()
}

// Done receives the HTTP server's error when it stops on its own.
func (s *Service) Done() <-chan error { return s.served }

// Stop stops the HTTP server (letting requests finish, for a while), the
// workers (a job in progress gets DrainTimeout to finish, and is then
// handed back to the queue) and NATS.
func (s *Service) Stop() {
	s.stopOnce.Do(func() {
		if s.http != nil {
			ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
			s.http.Shutdown(ctx)
			cancel()
		}
		if s.pool != nil {
			s.pool.Drain(s.cfg.DrainTimeout)
		}
		if s.stop != nil {
			s.stop()
		}
		if s.nc != nil {
			s.nc.FlushTimeout(flushTimeout) // the hand-backs reach the server
			s.nc.Close()
		}
		if s.emb != nil {
			s.emb.Shutdown()
		}
	})
}
