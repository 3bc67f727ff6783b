package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"ftpdiag/service/store"
	"ftpdiag/service/worker"
)

const workerUsage = `Usage: ftpdiag worker --nats URL[,URL...] [flags]

Runs analysis workers against the triage service's NATS cluster: pulls
jobs from JetStream, streams each capture from the object store,
analyses it and stores the reports. Run one per machine (--concurrency
one per core); the front ends run 'ftpdiag serve --nats ... --workers 0'.
The JetStream settings (--replicas, --ack-wait, --max-deliveries,
--retention) must be the same in every process. NATS secrets come from
files or the environment ($FTPDIAG_NATS_PASSWORD, $FTPDIAG_NATS_TOKEN),
never from the command line. See README.md, "Scaling out".

On SIGTERM or Ctrl-C a worker takes no new job, gives those it holds
--drain-timeout to finish, hands the rest back to the queue, and exits.

Exit status: 0 after a clean stop, 1 when it could not start, 2 bad usage.

Flags:
`

// natsFlags are the flags that reach an external NATS cluster and lay out
// JetStream, shared by serve and worker.
type natsFlags struct {
	urls       string
	client     store.ClientConfig
	replicas   int
	ackWait    time.Duration
	maxDeliver int
	retention  time.Duration
}

// add declares the flags; replicas is the default replication.
func (n *natsFlags) add(fs *pflag.FlagSet, replicas int) {
	fs.StringVar(&n.urls, "nats", "", "external NATS cluster: `URL[,URL...]` (nats://host:4222, tls://host:4222)")
	fs.StringVar(&n.client.User, "nats-user", "", "NATS user; the password from $"+store.EnvPassword+" or --nats-password-file")
	fs.StringVar(&n.client.PasswordFile, "nats-password-file", "", "`FILE` holding the NATS password")
	fs.StringVar(&n.client.TokenFile, "nats-token-file", "", "`FILE` holding the NATS token (or $"+store.EnvToken+")")
	fs.StringVar(&n.client.NKeyFile, "nats-nkey", "", "`FILE` holding a user NKey seed")
	fs.StringVar(&n.client.CredsFile, "nats-creds", "", "NATS .creds `FILE` (user JWT and seed)")
	fs.StringVar(&n.client.CAFile, "nats-ca", "", "CA `FILE` (PEM) that signed the NATS servers' certificates")
	fs.StringVar(&n.client.CertFile, "nats-cert", "", "client certificate `FILE` (PEM) for mutual TLS")
	fs.StringVar(&n.client.KeyFile, "nats-key", "", "the client certificate's key `FILE` (PEM)")
	fs.IntVar(&n.replicas, "replicas", replicas, "replicas of every stream, bucket and KV store (3 on a 3-node cluster; 1 embedded)")
	fs.DurationVar(&n.ackWait, "ack-wait", store.DefaultAckWait, "how long a job whose worker stopped answering (a crash) waits before another worker takes it")
	fs.IntVar(&n.maxDeliver, "max-deliveries", store.DefaultMaxDeliver, "deliveries of one job before it is failed")
	fs.DurationVar(&n.retention, "retention", store.DefaultRetention, "how long records, reports and kept captures live")
}

// check validates the flags; fs tells whether --replicas was given.
func (n *natsFlags) check() error {
	switch {
	case n.replicas < 1 || n.replicas > 5:
		return fmt.Errorf("--replicas %d: want 1 to 5", n.replicas)
	case n.ackWait < time.Second:
		return fmt.Errorf("--ack-wait %v: must be at least 1s", n.ackWait)
	case n.maxDeliver < 1:
		return fmt.Errorf("--max-deliveries %d: must be at least 1", n.maxDeliver)
	case n.retention <= 0:
		return errors.New("--retention must be positive")
	}
	for _, u := range strings.Split(n.urls, ",") {
		if n.urls != "" && strings.TrimSpace(u) == "" {
			return fmt.Errorf("--nats %q: an empty URL", n.urls)
		}
	}
	return nil
}

// clientConfig is the connection to the cluster, or nil without --nats.
func (n *natsFlags) clientConfig(name string) *store.ClientConfig {
	if n.urls == "" {
		return nil
	}
	c := n.client
	c.Name = name
	for _, u := range strings.Split(n.urls, ",") {
		c.URLs = append(c.URLs, strings.TrimSpace(u))
	}
	return &c
}

// storeConfig is the JetStream layout the flags ask for.
func (n *natsFlags) storeConfig() store.Config {
	return store.Config{Retention: n.retention, Replicas: n.replicas, AckWait: n.ackWait, MaxDeliver: n.maxDeliver}
}

// workerConfig is what the worker command line asked for.
type workerConfig struct {
	nats         natsFlags
	concurrency  int
	jobTimeout   time.Duration
	drainTimeout time.Duration
	holdRunning  time.Duration
	maxCapture   byteSize
	keepCaptures bool
	quiet        bool
}

func parseWorkerFlags(args []string, stderr io.Writer) (*workerConfig, error) {
	c := &workerConfig{maxCapture: worker.DefaultMaxCaptureBytes}
	fs := pflag.NewFlagSet("ftpdiag worker", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	c.nats.add(fs, 3)
	fs.IntVar(&c.concurrency, "concurrency", runtime.NumCPU(), "analyses run at once (one per core)")
	fs.DurationVar(&c.jobTimeout, "job-timeout", worker.DefaultJobTimeout, "bound on one analysis")
	fs.DurationVar(&c.drainTimeout, "drain-timeout", 30*time.Second, "on SIGTERM, how long the jobs in hand may finish before they are handed back")
	fs.Var(&c.maxCapture, "max-capture-bytes", "bound on a capture's size once decompressed (a gzip bomb fails cleanly)")
	fs.BoolVar(&c.keepCaptures, "keep-captures", false, "keep captures after their analysis (as the front end's --keep-captures)")
	fs.BoolVar(&c.quiet, "quiet", false, "do not log each job's start and end")
	fs.DurationVar(&c.holdRunning, "debug-hold-running", 0, "fault tests: hold each job this long before analysing it")
	fs.MarkHidden("debug-hold-running")
	fs.Usage = func() {
		fmt.Fprint(stderr, workerUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("worker takes no arguments (got %q)", fs.Arg(0))
	case c.nats.urls == "":
		return nil, errors.New("--nats URL[,URL...] is required: the cluster the front end uses")
	case c.concurrency < 1:
		return nil, fmt.Errorf("--concurrency %d: must be at least 1", c.concurrency)
	case c.jobTimeout <= 0 || c.drainTimeout < 0:
		return nil, errors.New("--job-timeout must be positive and --drain-timeout not negative")
	case c.maxCapture < 1:
		return nil, errors.New("--max-capture-bytes must be positive")
	}
	return c, c.nats.check()
}

// workerOpenTimeout bounds the creation of the streams and buckets.
const workerOpenTimeout = 60 * time.Second

// runWorker runs workers until ctx is done or SIGTERM comes.
func runWorker(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseWorkerFlags(args, stderr)
	if err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintln(stderr, "ftpdiag worker:", err)
		return exitUsage
	}
	logf := func(format string, args ...any) {
		fmt.Fprintf(stderr, "ftpdiag worker: %s %s\n", time.Now().UTC().Format(time.RFC3339Nano), fmt.Sprintf(format, args...))
	}
	nc, err := store.Connect(*c.nats.clientConfig("ftpdiag worker"))
	if err != nil {
		fmt.Fprintln(stderr, "ftpdiag worker:", err)
		return 1
	}
	defer nc.Close()
	octx, cancel := context.WithTimeout(ctx, workerOpenTimeout)
	st, err := store.Open(octx, nc, c.nats.storeConfig())
	cancel()
	if err != nil {
		fmt.Fprintln(stderr, "ftpdiag worker:", err)
		return 1
	}
	wcfg := worker.Config{
		Workers: c.concurrency, JobTimeout: c.jobTimeout, MaxCaptureBytes: int64(c.maxCapture),
		KeepCaptures: c.keepCaptures, Logf: logf, HoldRunning: c.holdRunning,
	}
	if !c.quiet {
		wcfg.Tracef = logf
	}
	sctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// The pool's own context outlives the signal: Drain stops it gently.
	pool := worker.Start(context.WithoutCancel(ctx), st, wcfg)
	fmt.Fprintf(stdout, "ftpdiag worker: %d workers on %s (replicas %d, ack wait %v, max deliveries %d)\n",
		c.concurrency, nc.ConnectedUrlRedacted(), c.nats.replicas, c.nats.ackWait, c.nats.maxDeliver)
	<-sctx.Done()
	logf("stopping: taking no new job; %v for the jobs in hand", c.drainTimeout)
	pool.Drain(c.drainTimeout)
	nc.FlushTimeout(5 * time.Second)
	logf("stopped")
	return exitOK
}
