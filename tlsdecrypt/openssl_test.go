package tlsdecrypt

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestOpenSSLClient: OpenSSL's s_client, writing its own key log
// (-keylogfile, the SSLKEYLOGFILE format curl and lftp's OpenSSL builds
// write), talks to a Go server over loopback TCP. It covers what two Go
// peers never negotiate (TLS_AES_256_GCM_SHA384), the key log of another
// implementation, and key updates in both directions (s_client's "K"
// command sends a KeyUpdate asking for one back).
func TestOpenSSLClient(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but openssl is missing: %v", err)
		}
		t.Skip("openssl is not installed")
	}
	for _, tt := range []struct {
		name      string
		args      []string
		key       func() crypto.Signer
		suite     uint16
		keyUpdate bool
	}{
		{"TLS_AES_256_GCM_SHA384", []string{"-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384"}, ecdsaKey, 0x1302, true},
		{"TLS_AES_128_GCM_SHA256", []string{"-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256"}, rsaKey, 0x1301, false},
		{"TLS_CHACHA20_POLY1305_SHA256", []string{"-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"}, ecdsaKey, 0x1303, true},
		{"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", []string{"-tls1_2", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384"}, rsaKey, 0xc030, false},
		{"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"}, ecdsaKey, 0xcca9, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			client, server, keylog, version := opensslExchange(t, openssl, tt.args, makeCert(t, tt.key()), tt.keyUpdate)
			st := checkDecrypt(t, client, server, keylog, version, tt.suite)
			if want := map[bool][2]int{true: {1, 1}}[tt.keyUpdate]; st.KeyUpdates != want {
				t.Errorf("KeyUpdates = %v, want %v (s_client's, and Go's answer)", st.KeyUpdates, want)
			}
		})
	}
}

// opensslExchange runs s_client with args against a Go server and returns
// the two streams, s_client's key log and the version negotiated.
func opensslExchange(t *testing.T, openssl string, args []string, cert tls.Certificate, keyUpdate bool) (client, server, keylog []byte, version uint16) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	accepted := make(chan *recorder, 1)
	replied := make(chan int, len(ftpCommands))
	done := make(chan error, 1)
	var state tls.ConnectionState
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		nc.SetDeadline(time.Now().Add(30 * time.Second))
		rec := &recorder{Conn: nc}
		accepted <- rec
		c := tls.Server(rec, &tls.Config{Certificates: []tls.Certificate{cert}})
		defer c.Close()
		r := bufio.NewReader(c)
		for i, want := range ftpCommands {
			line, err := r.ReadString('\n')
			if err != nil || line != want {
				done <- fmt.Errorf("server read %q, %v; want %q", line, err, want)
				return
			}
			if _, err := io.WriteString(c, ftpReplies[i]); err != nil {
				done <- err
				return
			}
			replied <- i
		}
		if _, err := r.ReadByte(); err != io.EOF {
			done <- fmt.Errorf("server read %v after the last command; want the client's close_notify", err)
			return
		}
		state = c.ConnectionState()
		done <- nil
	}()

	logfile := filepath.Join(t.TempDir(), "keys.log")
	cmd := exec.CommandContext(ctx, openssl, append([]string{"s_client", "-connect", ln.Addr().String(),
		"-keylogfile", logfile, "-quiet", "-no_ign_eof"}, args...)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	fail := func(format string, a ...any) {
		t.Helper()
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf(format+"\ns_client said: %s", append(a, stderr.String())...)
	}
	var rec *recorder
	select {
	case rec = <-accepted:
	case err := <-done:
		fail("server: %v", err)
	case <-ctx.Done():
		fail("s_client did not connect")
	}
	next := func() {
		t.Helper()
		select {
		case <-replied:
		case err := <-done:
			fail("server stopped early: %v", err)
		case <-ctx.Done():
			fail("timed out")
		}
	}
	io.WriteString(stdin, ftpCommands[0])
	next()
	if keyUpdate {
		// A line "K" alone is s_client's command to send a KeyUpdate
		// with update_requested. Write the next command only once the
		// server has read that record, lest s_client read both lines at
		// once and send them as data.
		read, _ := rec.streams()
		stdin.Write([]byte("K\n"))
		for {
			if now, _ := rec.streams(); len(now) > len(read) {
				break
			}
			select {
			case <-ctx.Done():
				fail("no KeyUpdate from s_client")
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	io.WriteString(stdin, ftpCommands[1])
	next()
	stdin.Close() // s_client sends close_notify and exits
	select {
	case err := <-done:
		if err != nil {
			fail("server: %v", err)
		}
	case <-ctx.Done():
		fail("timed out waiting for close_notify")
	}
	cmd.Wait()
	keylog, err = os.ReadFile(logfile)
	if err != nil {
		t.Fatal(err)
	}
	client, server = rec.streams()
	return client, server, keylog, state.Version
}
