package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"ftpdiag/service"
	"ftpdiag/service/api"
	"ftpdiag/service/worker"
)

const serveUsage = `Usage: ftpdiag serve [flags]

Runs the triage service: an HTTP API and a page where captures are
uploaded and diagnosed, with an embedded NATS JetStream server holding
the captures, the job queue, the records and the reports under --data,
and analysis workers. See README.md, "Triage service".

With --nats URL[,URL...] it uses an external NATS cluster instead (see
"Scaling out"): several front ends may share it behind a load balancer,
and --workers 0 leaves the analyses to 'ftpdiag worker' processes.
--replicas is then 3 unless given. NATS secrets come from files or the
environment ($FTPDIAG_NATS_PASSWORD, $FTPDIAG_NATS_TOKEN).

Exit status: 0 after a clean stop (Ctrl-C, SIGTERM), 1 when the service
could not start or failed, 2 bad usage.

Flags:
`

// byteSize is a flag value in bytes, written with an optional unit: 4GiB,
// 512MiB, 100MB, 1500000.
type byteSize int64

func (b *byteSize) String() string { return formatSize(int64(*b)) }
func (b *byteSize) Type() string   { return "size" }
func (b *byteSize) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*b = byteSize(n)
	return nil
}

// parseSize reads a size in bytes with an optional unit.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{
		{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"TIB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40}, {"B", 1},
	}
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n < 0 || n*float64(mult) > 1<<62 {
		return 0, fmt.Errorf("%q: want a size such as 4GiB, 512MiB or 1000000", s)
	}
	return int64(n * float64(mult)), nil
}

// formatSize writes a size in the largest binary unit that divides it.
func formatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.mult && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// serveConfig is what the serve command line asked for.
type serveConfig struct {
	listen, data, tokens, tlsCert, tlsKey, natsListen string
	workers, uploadsPerTenant                         int
	maxUpload, maxCapture, maxStore                   byteSize
	jobTimeout, bodyIdle, holdRunning, drainTimeout   time.Duration
	keepCaptures                                      bool
	nats                                              natsFlags
}

func parseServeFlags(args []string, stderr io.Writer) (*serveConfig, error) {
	c := &serveConfig{maxUpload: api.DefaultMaxUpload, maxCapture: worker.DefaultMaxCaptureBytes}
	fs := pflag.NewFlagSet("ftpdiag serve", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8080", "HTTP `address` to serve on; beyond loopback, --tokens is required")
	fs.StringVar(&c.data, "data", "ftpdiag-data", "`DIR` for JetStream's files: captures, queue, records, reports")
	fs.IntVar(&c.workers, "workers", runtime.NumCPU(), "analyses run at once in this process (0 with --nats: workers run elsewhere)")
	fs.StringVar(&c.tokens, "tokens", "", "API tokens `FILE`: one \"TENANT TOKEN\" per line, # comments")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "serve HTTPS with this certificate `FILE` (PEM, chain included)")
	fs.StringVar(&c.tlsKey, "tls-key", "", "the certificate's private key `FILE` (PEM)")
	fs.Var(&c.maxUpload, "max-upload", "bound on one upload request's body")
	fs.Var(&c.maxCapture, "max-capture-bytes", "bound on a capture's size once decompressed (a gzip bomb fails cleanly)")
	fs.Var(&c.maxStore, "max-store", "bound on JetStream's storage (default: three quarters of the disk space free at start)")
	fs.DurationVar(&c.jobTimeout, "job-timeout", worker.DefaultJobTimeout, "bound on one analysis")
	fs.IntVar(&c.uploadsPerTenant, "uploads-per-tenant", api.DefaultUploadsPerTenant, "uploads a tenant may send at once")
	fs.DurationVar(&c.bodyIdle, "body-idle-timeout", api.DefaultBodyIdleTimeout, "end an upload whose body stalls this long")
	fs.DurationVar(&c.drainTimeout, "drain-timeout", 10*time.Second, "on SIGTERM, how long the jobs in hand may finish before they are handed back")
	c.nats.add(fs, 1)
	fs.BoolVar(&c.keepCaptures, "keep-captures", false, "keep captures after their analysis (needed for evidence extraction)")
	fs.StringVar(&c.natsListen, "nats-listen", "", "open the embedded NATS server's client port on this `address` (default: none)")
	fs.DurationVar(&c.holdRunning, "debug-hold-running", 0, "fault tests: hold each job this long before analysing it")
	fs.MarkHidden("debug-hold-running")
	fs.Usage = func() {
		fmt.Fprint(stderr, serveUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("serve takes no arguments (got %q)", fs.Arg(0))
	}
	if c.nats.urls != "" && !fs.Changed("replicas") {
		c.nats.replicas = 3
	}
	if err := c.nats.check(); err != nil {
		return nil, err
	}
	switch {
	case c.workers < 0 || c.workers == 0 && c.nats.urls == "" && c.natsListen == "":
		return nil, fmt.Errorf("--workers %d: must be at least 1 (0 only with --nats or --nats-listen, when workers run elsewhere)", c.workers)
	case c.nats.urls != "" && (c.natsListen != "" || c.maxStore != 0):
		return nil, errors.New("--nats-listen and --max-store are the embedded server's: the cluster's own configuration sets them")
	case c.uploadsPerTenant < 1:
		return nil, fmt.Errorf("--uploads-per-tenant %d: must be at least 1", c.uploadsPerTenant)
	case c.maxUpload < 1 || c.maxCapture < 1:
		return nil, errors.New("--max-upload and --max-capture-bytes must be positive")
	case c.jobTimeout <= 0 || c.bodyIdle <= 0 || c.drainTimeout < 0:
		return nil, errors.New("--job-timeout and --body-idle-timeout must be positive, --drain-timeout not negative")
	case (c.tlsCert == "") != (c.tlsKey == ""):
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	return c, nil
}

// runServe runs the service until ctx is done or SIGTERM comes.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseServeFlags(args, stderr)
	if err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintln(stderr, "ftpdiag serve:", err)
		return exitUsage
	}
	logf := func(format string, args ...any) {
		fmt.Fprintf(stderr, "ftpdiag serve: %s %s\n", time.Now().UTC().Format(time.RFC3339), fmt.Sprintf(format, args...))
	}
	cfg := service.Config{
		Listen: c.listen, Dir: c.data, NATSListen: c.natsListen, MaxStore: int64(c.maxStore),
		NATS: c.nats.clientConfig("ftpdiag serve"), DrainTimeout: c.drainTimeout,
		TLSCert: c.tlsCert, TLSKey: c.tlsKey,
		Store: c.nats.storeConfig(),
		Worker: worker.Config{
			Workers: c.workers, JobTimeout: c.jobTimeout, MaxCaptureBytes: int64(c.maxCapture),
			KeepCaptures: c.keepCaptures, Logf: logf, HoldRunning: c.holdRunning,
		},
		API: api.Config{MaxUpload: int64(c.maxUpload), UploadsPerTenant: c.uploadsPerTenant, BodyIdleTimeout: c.bodyIdle},
	}
	if c.tokens != "" {
		f, err := os.Open(c.tokens)
		if err != nil {
			fmt.Fprintln(stderr, "ftpdiag serve: --tokens:", err)
			return exitUsage
		}
		cfg.Tokens, err = api.ParseTokens(f)
		f.Close()
		if err != nil {
			fmt.Fprintf(stderr, "ftpdiag serve: --tokens %s: %v\n", c.tokens, err)
			return exitUsage
		}
	}
	if cfg.Tokens == nil && !service.IsLoopback(c.listen) {
		fmt.Fprintf(stderr, "ftpdiag serve: --listen %s is reachable beyond this machine: give --tokens FILE (captures hold customers' traffic), or listen on 127.0.0.1\n", c.listen)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM)
	defer stop()
	svc, err := service.Start(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "ftpdiag serve:", err)
		return 1
	}
	defer svc.Stop()
	auth := "open (loopback, no tokens)"
	if cfg.Tokens != nil {
		auth = "bearer tokens from " + c.tokens
	}
	where := "data in " + c.data
	if cfg.NATS != nil {
		where = fmt.Sprintf("NATS cluster %s, replicas %d", c.nats.urls, c.nats.replicas)
	}
	fmt.Fprintf(stdout, "ftpdiag serve: %s (%s, %d workers, %s)\n", svc.URL(), where, svc.Workers(), auth)
	if u := svc.NATSURL(); u != "" {
		fmt.Fprintf(stdout, "ftpdiag serve: NATS on %s\n", u)
	}
	select {
	case <-ctx.Done():
		fmt.Fprintln(stderr, "ftpdiag serve: stopping")
		return exitOK
	case err := <-svc.Done():
		if err != nil {
			fmt.Fprintln(stderr, "ftpdiag serve:", err)
			return 1
		}
		return exitOK
	}
}
