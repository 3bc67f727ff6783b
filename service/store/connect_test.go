package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestClientConfigRefuses checks the connection settings refused before
// any server is dialled: secrets on the command line, missing or double
// authentication, half a client certificate.
func TestClientConfigRefuses(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	tok := filepath.Join(dir, "token")
	empty := filepath.Join(dir, "empty")
	for p, s := range map[string]string{pw: "secret\n", tok: "t0ken\n", empty: "\n"} {
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		cfg  ClientConfig
		want string
	}{
		{"no URL", ClientConfig{}, "no NATS URL"},
		{"password in URL", ClientConfig{URLs: []string{"nats://u:p@127.0.0.1:4222"}}, "credentials in a URL"},
		{"not a URL", ClientConfig{URLs: []string{"127.0.0.1"}}, "want nats://HOST:PORT"},
		{"user without password", ClientConfig{URLs: []string{"nats://127.0.0.1:1"}, User: "u"}, "no password"},
		{"empty password file", ClientConfig{URLs: []string{"nats://127.0.0.1:1"}, User: "u", PasswordFile: empty}, "is empty"},
		{"password without user", ClientConfig{URLs: []string{"nats://127.0.0.1:1"}, PasswordFile: pw}, "without --nats-user"},
		{"two authentications", ClientConfig{URLs: []string{"nats://127.0.0.1:1"}, User: "u", PasswordFile: pw, TokenFile: tok}, "give one NATS authentication"},
		{"missing creds", ClientConfig{URLs: []string{"nats://127.0.0.1:1"}, CredsFile: filepath.Join(dir, "none.creds")}, "--nats-creds"},
		{"half a certificate", ClientConfig{URLs: []string{"nats://127.0.0.1:1"}, CertFile: pw}, "go together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Connect(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Connect: %v; want an error with %q", err, tc.want)
			}
		})
	}
}
