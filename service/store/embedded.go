package store

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// EmbeddedConfig sets up the NATS server that runs inside ftpdiag serve.
type EmbeddedConfig struct {
	// Dir holds JetStream's files.
	Dir string
	// MaxStore bounds JetStream's storage in bytes; 0 leaves NATS's
	// default, three quarters of the disk space free at start.
	MaxStore int64
	// Listen, if set ("127.0.0.1:4222"), opens a client port for other
	// processes (workers, the nats CLI); otherwise no port is opened and
	// only this process connects, in-process.
	Listen string
}

// embeddedReady bounds the wait for the embedded server to start.
const embeddedReady = 30 * time.Second

// Embedded is a NATS server with JetStream running in this process.
type Embedded struct {
	srv *server.Server
	dir string
}

// Dir is where the server keeps JetStream's files.
func (e *Embedded) Dir() string { return e.dir }

// StartEmbedded starts the NATS server and waits until it is ready.
func StartEmbedded(cfg EmbeddedConfig) (*Embedded, error) {
	opts := &server.Options{
		ServerName:        "ftpdiag",
		JetStream:         true,
		StoreDir:          cfg.Dir,
		JetStreamMaxStore: cfg.MaxStore,
		NoSigs:            true,
		NoLog:             true,
		DontListen:        cfg.Listen == "",
	}
	if cfg.Listen != "" {
		host, port, err := net.SplitHostPort(cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("--nats-listen %q: %w", cfg.Listen, err)
		}
		opts.Host = host
		if opts.Port, err = strconv.Atoi(port); err != nil {
			return nil, fmt.Errorf("--nats-listen %q: bad port", cfg.Listen)
		}
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("NATS server: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(embeddedReady) {
		srv.Shutdown()
		return nil, errors.New("NATS server: not ready after 30 s")
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		return nil, fmt.Errorf("NATS server: JetStream could not start on %s", cfg.Dir)
	}
	return &Embedded{srv: srv, dir: cfg.Dir}, nil
}

// Connect opens an in-process client connection.
func (e *Embedded) Connect() (*nats.Conn, error) {
	nc, err := nats.Connect("", nats.InProcessServer(e.srv), nats.Name("ftpdiag"), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("connecting to the embedded NATS server: %w", err)
	}
	return nc, nil
}

// ClientURL is the address other processes connect to, or "" when no
// port is open.
func (e *Embedded) ClientURL() string {
	if e.srv.Addr() == nil {
		return ""
	}
	return e.srv.ClientURL()
}

// Shutdown stops the server and waits for it.
func (e *Embedded) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}
