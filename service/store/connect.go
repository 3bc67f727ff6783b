package store

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// The environment variables that carry NATS secrets, so that none is
// given on a command line (where ps shows it).
const (
	// EnvPassword is the password of ClientConfig.User.
	EnvPassword = "FTPDIAG_NATS_PASSWORD"
	// EnvToken is the NATS authentication token.
	EnvToken = "FTPDIAG_NATS_TOKEN"
)

// ClientConfig is how a process connects to an external NATS cluster.
// Secrets come from files or the environment, never from a flag value.
type ClientConfig struct {
	// URLs are the cluster's client addresses ("nats://host:4222"); the
	// client connects to one and fails over to the others.
	URLs []string
	// Name names the connection in the server's monitoring.
	Name string
	// User, with the password from PasswordFile or $FTPDIAG_NATS_PASSWORD.
	User         string
	PasswordFile string
	// TokenFile holds a token (or $FTPDIAG_NATS_TOKEN does).
	TokenFile string
	// NKeyFile holds an NKey seed (user NKey authentication).
	NKeyFile string
	// CredsFile is a .creds file (a user JWT and its NKey seed).
	CredsFile string
	// CAFile verifies the servers' certificates; CertFile and KeyFile
	// are this client's certificate for mutual TLS.
	CAFile, CertFile, KeyFile string
}

// connectTimeout bounds one attempt to reach a server.
const connectTimeout = 10 * time.Second

// Connect connects to the cluster. It retries for ever once connected
// (a node that dies is replaced by another of URLs), and fails at once
// when no server of URLs answers at start.
func Connect(cfg ClientConfig) (*nats.Conn, error) {
	if len(cfg.URLs) == 0 {
		return nil, errors.New("no NATS URL")
	}
	for _, u := range cfg.URLs {
		if err := checkURL(u); err != nil {
			return nil, err
		}
	}
	opts, err := cfg.options()
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(strings.Join(cfg.URLs, ","), opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to NATS at %s: %w", strings.Join(cfg.URLs, ","), err)
	}
	return nc, nil
}

// checkURL refuses a URL that carries a password or token: it would be
// on the command line.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("NATS URL %q: want nats://HOST:PORT (or tls://HOST:PORT)", raw)
	}
	if u.User != nil {
		return fmt.Errorf("NATS URL %s: credentials in a URL end up on command lines; give --nats-user with $%s or --nats-password-file, or --nats-token-file", u.Host, EnvPassword)
	}
	return nil
}

// options turns the configuration into nats.go options.
func (cfg ClientConfig) options() ([]nats.Option, error) {
	name := cfg.Name
	if name == "" {
		name = "ftpdiag"
	}
	opts := []nats.Option{
		nats.Name(name), nats.Timeout(connectTimeout),
		nats.MaxReconnects(-1), nats.ReconnectWait(500 * time.Millisecond),
		nats.RetryOnFailedConnect(false),
	}
	auth, err := cfg.authOptions()
	if err != nil {
		return nil, err
	}
	opts = append(opts, auth...)
	if cfg.CAFile != "" {
		opts = append(opts, nats.RootCAs(cfg.CAFile))
	}
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return nil, errors.New("--nats-cert and --nats-key go together")
	}
	if cfg.CertFile != "" {
		opts = append(opts, nats.ClientCert(cfg.CertFile, cfg.KeyFile))
	}
	return opts, nil
}

// authOptions picks the one authentication the configuration gives.
func (cfg ClientConfig) authOptions() ([]nats.Option, error) {
	var opts []nats.Option
	password, err := secret(cfg.PasswordFile, EnvPassword)
	if err != nil {
		return nil, fmt.Errorf("--nats-password-file: %w", err)
	}
	token, err := secret(cfg.TokenFile, EnvToken)
	if err != nil {
		return nil, fmt.Errorf("--nats-token-file: %w", err)
	}
	switch {
	case cfg.User != "":
		if password == "" {
			return nil, fmt.Errorf("--nats-user %s: no password (set $%s or give --nats-password-file)", cfg.User, EnvPassword)
		}
		opts = append(opts, nats.UserInfo(cfg.User, password))
	case password != "":
		return nil, errors.New("a NATS password without --nats-user")
	}
	if token != "" {
		opts = append(opts, nats.Token(token))
	}
	if cfg.NKeyFile != "" {
		o, err := nats.NkeyOptionFromSeed(cfg.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("--nats-nkey %s: %w", cfg.NKeyFile, err)
		}
		opts = append(opts, o)
	}
	if cfg.CredsFile != "" {
		if _, err := os.Stat(cfg.CredsFile); err != nil {
			return nil, fmt.Errorf("--nats-creds: %w", err)
		}
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	if len(opts) > 1 {
		return nil, errors.New("give one NATS authentication: user and password, token, NKey or .creds file")
	}
	return opts, nil
}

// secret reads a secret from file, or else from the environment
// variable env; "" when neither gives one.
func secret(file, env string) (string, error) {
	if file == "" {
		return strings.TrimSpace(os.Getenv(env)), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s is empty", file)
	}
	return s, nil
}
