package tlsdecrypt

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	cryptorand "crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// End to end: real TLS stacks (Go's crypto/tls here, OpenSSL's s_client in
// openssl_test.go) talk FTP-like lines with a key log written; the bytes
// each side wrote are fed to a Conn cut at random, and what it decrypts must
// be what was sent.

// recorder keeps a copy of what a connection read and wrote.
type recorder struct {
	net.Conn
	mu      sync.Mutex
	in, out bytes.Buffer
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.mu.Lock()
	r.in.Write(p[:n])
	r.mu.Unlock()
	return n, err
}

func (r *recorder) Write(p []byte) (int, error) {
	n, err := r.Conn.Write(p)
	r.mu.Lock()
	r.out.Write(p[:n])
	r.mu.Unlock()
	return n, err
}

// streams returns what the peer sent (read here) and what was sent from here.
func (r *recorder) streams() (read, written []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.in.Bytes()), bytes.Clone(r.out.Bytes())
}

func makeCert(t testing.TB, key crypto.Signer) tls.Certificate {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(18),
		Subject:      pkix.Name{CommonName: "ftp.example"},
		DNSNames:     []string{"ftp.example"},
		NotBefore:    time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(cryptorand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

var (
	ecdsaKey = sync.OnceValue(func() crypto.Signer {
		k, err := ecdsa.GenerateKey(elliptic.P256(), cryptorand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	})
	rsaKey = sync.OnceValue(func() crypto.Signer {
		k, err := rsa.GenerateKey(cryptorand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return k
	})
)

// serveFTP is the server side of the exchange: it reads each command and
// answers it, then waits for the client's close_notify.
func serveFTP(c *tls.Conn) error {
	defer c.Close()
	if err := c.Handshake(); err != nil {
		return fmt.Errorf("server handshake: %w", err)
	}
	r := bufio.NewReader(c)
	for i, want := range ftpCommands {
		line, err := r.ReadString('\n')
		if err != nil || line != want {
			return fmt.Errorf("server read %q, %v; want %q", line, err, want)
		}
		if _, err := io.WriteString(c, ftpReplies[i]); err != nil {
			return fmt.Errorf("server write: %w", err)
		}
	}
	if b, err := r.ReadByte(); err != io.EOF {
		return fmt.Errorf("server read %q, %v after the last command; want the client's close_notify", b, err)
	}
	return nil
}

// clientFTP is the client side. Each command is written while the reply is
// read, as net.Pipe does not buffer: a TLS 1.3 server sends its session
// tickets after a client certificate's Finished, and would otherwise wait
// for the client to read while the client waits for it to read.
func clientFTP(c *tls.Conn) error {
	if err := c.Handshake(); err != nil {
		return fmt.Errorf("client handshake: %w", err)
	}
	r := bufio.NewReader(c)
	for i, cmd := range ftpCommands {
		werr := make(chan error, 1)
		go func() {
			_, err := io.WriteString(c, cmd)
			werr <- err
		}()
		line, err := r.ReadString('\n')
		if err := <-werr; err != nil {
			return fmt.Errorf("client write: %w", err)
		}
		if err != nil || line != ftpReplies[i] {
			return fmt.Errorf("client read %q, %v; want %q", line, err, ftpReplies[i])
		}
	}
	return c.Close()
}

// goExchange runs the exchange between a Go client and server over
// net.Pipe and returns the two streams as the server saw them, the
// client's key log and the connection's state.
func goExchange(t *testing.T, ccfg, scfg *tls.Config) (client, server, keylog []byte, cs tls.ConnectionState) {
	t.Helper()
	cp, sp := net.Pipe()
	deadline := time.Now().Add(30 * time.Second)
	cp.SetDeadline(deadline)
	sp.SetDeadline(deadline)
	srec := &recorder{Conn: sp}
	var kl bytes.Buffer
	ccfg = ccfg.Clone()
	ccfg.KeyLogWriter = &kl
	ccfg.InsecureSkipVerify = true
	ccfg.ServerName = "ftp.example"
	errc := make(chan error, 1)
	go func() { errc <- serveFTP(tls.Server(srec, scfg)) }()
	cli := tls.Client(cp, ccfg)
	if err := clientFTP(cli); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	client, server = srec.streams()
	return client, server, kl.Bytes(), cli.ConnectionState()
}

// checkDecrypt feeds the captured streams to Conns cut at random, checks
// both plaintexts and the status, and returns the last status.
func checkDecrypt(t *testing.T, client, server, keylog []byte, version, suite uint16) Status {
	t.Helper()
	kl, err := ParseKeyLog(bytes.NewReader(keylog))
	if err != nil {
		t.Fatalf("ParseKeyLog of the real key log: %v", err)
	}
	want := [2]string{strings.Join(ftpCommands, ""), strings.Join(ftpReplies, "")}
	var st Status
	for seed := range uint64(20) {
		c := NewConn(kl)
		out, errs := feedSegmented(c, rand.New(rand.NewPCG(seed, 1)), client, server)
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("seed %d: %v; %v", seed, errs[0], errs[1])
		}
		for d := range out {
			if string(out[d]) != want[d] {
				t.Fatalf("seed %d: %s plaintext %q, want %q", seed, Direction(d), out[d], want[d])
			}
		}
		st = c.Status()
		if st.State != StateDecrypting || st.Version != version || st.CipherSuite != suite || !st.Closed[ClientToServer] {
			t.Fatalf("seed %d: status %+v, want decrypting %s %s, client closed", seed, st, VersionName(version), SuiteName(suite))
		}
	}
	return st
}

func TestGoTLS12(t *testing.T) {
	for _, tt := range []struct {
		suite uint16
		key   func() crypto.Signer
	}{
		{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, ecdsaKey},
		{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, ecdsaKey},
		{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, ecdsaKey},
		{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, rsaKey},
		{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, rsaKey},
		{tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, rsaKey},
		{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, rsaKey},
		{tls.TLS_RSA_WITH_AES_256_GCM_SHA384, rsaKey},
	} {
		t.Run(tls.CipherSuiteName(tt.suite), func(t *testing.T) {
			scfg := &tls.Config{
				Certificates: []tls.Certificate{makeCert(t, tt.key())},
				CipherSuites: []uint16{tt.suite},
				MaxVersion:   tls.VersionTLS12,
			}
			client, server, keylog, cs := goExchange(t, &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tt.suite}}, scfg)
			if cs.Version != tls.VersionTLS12 || cs.CipherSuite != tt.suite {
				t.Fatalf("negotiated %s %s", tls.VersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite))
			}
			checkDecrypt(t, client, server, keylog, versionTLS12, tt.suite)
		})
	}
}

// TestGoTLS13 checks the suite Go picks itself: TLS_AES_128_GCM_SHA256 on
// a machine with AES instructions, TLS_CHACHA20_POLY1305_SHA256 without
// them (TestGoTLS13ChaCha20 forces that); Go never picks
// TLS_AES_256_GCM_SHA384 between two Go peers, which openssl_test.go covers.
func TestGoTLS13(t *testing.T) {
	for _, tt := range []struct {
		name       string
		clientCert bool
	}{
		{"server auth", false},
		{"client certificate", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			scfg := &tls.Config{Certificates: []tls.Certificate{makeCert(t, ecdsaKey())}}
			ccfg := &tls.Config{}
			if tt.clientCert {
				scfg.ClientAuth = tls.RequireAnyClientCert
				ccfg.Certificates = []tls.Certificate{makeCert(t, rsaKey())}
			}
			client, server, keylog, cs := goExchange(t, ccfg, scfg)
			if cs.Version != tls.VersionTLS13 {
				t.Fatalf("negotiated %s", tls.VersionName(cs.Version))
			}
			if want := os.Getenv("TLSDECRYPT_WANT_SUITE"); want != "" && want != fmt.Sprintf("%#04x", cs.CipherSuite) {
				t.Fatalf("Go picked %s, want %s", tls.CipherSuiteName(cs.CipherSuite), want)
			}
			t.Logf("Go picked %s", tls.CipherSuiteName(cs.CipherSuite))
			checkDecrypt(t, client, server, keylog, versionTLS13, cs.CipherSuite)
		})
	}
}

// TestGoTLS13ChaCha20 runs TestGoTLS13 again in a process told that the
// CPU has no AES instructions (GODEBUG=cpu.aes=off), where Go's client
// puts ChaCha20-Poly1305 first and its server follows.
func TestGoTLS13ChaCha20(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a second test process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestGoTLS13$", "-test.v")
	cmd.Env = append(os.Environ(), "GODEBUG=cpu.aes=off", "TLSDECRYPT_WANT_SUITE=0x1303")
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("Go picked TLS_CHACHA20_POLY1305_SHA256")) || !bytes.Contains(out, []byte("--- PASS: TestGoTLS13 ")) {
		t.Fatalf("%v\n%s", err, out)
	}
}

// TestGoResumption: a resumed session (TLS 1.2 abbreviated handshake, the
// server's ChangeCipherSpec first; TLS 1.3 PSK) decrypts like a full one.
// vsftpd's require_ssl_reuse makes data connections resume the control
// connection's session. Go logs no CLIENT_RANDOM line for a resumed TLS
// 1.2 session (OpenSSL does), so the test writes the one OpenSSL would:
// the new client random with the first session's master secret.
func TestGoResumption(t *testing.T) {
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			scfg := &tls.Config{Certificates: []tls.Certificate{makeCert(t, ecdsaKey())}, MaxVersion: version}
			ccfg := &tls.Config{MaxVersion: version, ClientSessionCache: tls.NewLRUClientSessionCache(4)}
			_, _, first, _ := goExchange(t, ccfg, scfg)
			client, server, keylog, cs := goExchange(t, ccfg, scfg)
			if !cs.DidResume {
				t.Fatal("the second connection did not resume")
			}
			if version == tls.VersionTLS12 {
				if len(keylog) != 0 {
					t.Fatalf("Go logged a resumed TLS 1.2 session: %d bytes", len(keylog))
				}
				f := strings.Fields(string(first))
				keylog = fmt.Appendf(nil, "CLIENT_RANDOM %x %s\n", client[11:43], f[2])
			}
			checkDecrypt(t, client, server, keylog, version, cs.CipherSuite)
		})
	}
}

// TestGoWrongKeyLog: the key log of another connection gives no_keys; a
// damaged one gives decrypt_error at the first protected record.
func TestGoWrongKeyLog(t *testing.T) {
	scfg := &tls.Config{Certificates: []tls.Certificate{makeCert(t, ecdsaKey())}}
	client, server, keylog, _ := goExchange(t, &tls.Config{}, scfg)
	_, _, other, _ := goExchange(t, &tls.Config{}, scfg)
	lines := bytes.Split(bytes.Clone(keylog), []byte("\n"))
	for _, l := range lines {
		if bytes.HasPrefix(l, []byte("SERVER_HANDSHAKE")) {
			// The last hex digit of the server's handshake secret.
			if l[len(l)-1] == '0' {
				l[len(l)-1] = '1'
			} else {
				l[len(l)-1] = '0'
			}
		}
	}
	damaged := bytes.Join(lines, []byte("\n"))
	for _, tt := range []struct {
		name   string
		keylog []byte
		state  State
		dir    Direction
	}{
		{"another connection's", other, StateNoKeys, ClientToServer},
		{"damaged", damaged, StateDecryptError, ServerToClient},
	} {
		t.Run(tt.name, func(t *testing.T) {
			kl, err := ParseKeyLog(bytes.NewReader(tt.keylog))
			if err != nil {
				t.Fatal(err)
			}
			// The ClientHello completes after the ServerHello: a missing
			// secret is found in the client's direction.
			c := NewConn(kl)
			c.Feed(ClientToServer, client[:1])
			c.Feed(ServerToClient, server)
			c.Feed(ClientToServer, client[1:])
			var e *Error
			if st := c.Status(); !errors.As(st.Err, &e) || e.State != tt.state || e.Dir != tt.dir {
				t.Errorf("status %v, want %s in %s", st, tt.state, tt.dir)
			}
		})
	}
}
