package service_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ftpdiag/service"
	"ftpdiag/service/store"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 (an IP SAN)
// and its key as PEM files in dir, and returns their paths and the
// certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "ftpdiag test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, cert
}

// TestHTTPS serves the API over TLS with a certificate made for the test:
// a client that trusts it uploads a fixture and gets the CLI's report over
// TLS 1.2 or later; a client that does not trust it, and a plain-HTTP
// request to the TLS port, get no answer from the API.
func TestHTTPS(t *testing.T) {
	certFile, keyFile, cert := selfSigned(t, t.TempDir())
	ts := startService(t, func(c *service.Config) { c.TLSCert, c.TLSKey = certFile, keyFile })
	if !strings.HasPrefix(ts.URL(), "https://127.0.0.1:") {
		t.Fatalf("URL %q, want https://127.0.0.1:PORT/", ts.URL())
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	ts.client = &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}},
	}

	const fixture = "02-nat-pasv-curl-follow-client.pcap"
	acc := ts.uploadFile(acmeToken, fixture)
	if c := ts.wait(acmeToken, acc.ID); c.Status != store.Done {
		t.Fatalf("%s over HTTPS: %s, %v", fixture, c.Status, c.Error)
	}
	resp, err := ts.client.Get(ts.base + acc.JSONURL) // the share link: no token
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 || !resp.TLS.HandshakeComplete {
		t.Errorf("the report came without TLS 1.2 or later: %+v", resp.TLS)
	}
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, cliJSON(t, fixture)) {
		t.Errorf("report over HTTPS: %d, differs from the CLI's", resp.StatusCode)
	}

	// A client without the certificate among its roots refuses the server.
	untrusting := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	_, err = untrusting.Get(ts.base + "/healthz")
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("a client that does not trust the certificate: %v, want x509: unknown authority", err)
	}
	// A TLS 1.1 client is refused (MinVersion TLS 1.2).
	old := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MaxVersion: tls.VersionTLS11}}}
	if resp, err := old.Get(ts.base + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("a TLS 1.1 client was answered %d", resp.StatusCode)
	}

	// Plain HTTP to the TLS port: no answer of the API (Go's TLS server
	// answers a bare 400 and hangs up).
	plainURL := "http://" + strings.TrimPrefix(ts.base, "https://") + "/api/v1/captures/" + acc.ID
	req, _ := http.NewRequest("GET", plainURL, nil)
	req.Header.Set("Authorization", "Bearer "+acmeToken)
	plain := &http.Client{Timeout: 10 * time.Second}
	resp, err = plain.Do(req)
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || bytes.Contains(b, []byte(acc.ID)) {
			t.Errorf("plain HTTP to the TLS port: %d %q, want a failure", resp.StatusCode, b)
		}
	}
}

// TestServerErrorLog checks that the HTTP server's own errors (here a
// failed TLS handshake) reach the service's log, not log's default
// output.
func TestServerErrorLog(t *testing.T) {
	certFile, keyFile, _ := selfSigned(t, t.TempDir())
	var mu sync.Mutex
	var lines []string
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, fmt.Sprintf(format, args...))
	}
	ts := startService(t, func(c *service.Config) {
		c.TLSCert, c.TLSKey = certFile, keyFile
		c.API.Logf = logf
	})
	conn := dial(t, ts)
	conn.Write([]byte("\x16\x03\x01\x00\x05hello")) // a handshake record that is not one
	io.Copy(io.Discard, conn)                       // until the server hangs up
	conn.Close()
	found := func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		for _, l := range lines {
			if strings.Contains(l, "TLS handshake error") {
				return true, l
			}
		}
		return false, strings.Join(lines, "\n")
	}
	if ok, got := eventually(5*time.Second, found); !ok {
		t.Errorf("no TLS handshake error in the service's log; it has:\n%s", got)
	}
}
