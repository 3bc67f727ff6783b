package api

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"

	"ftpdiag/service/store"
)

// OpenTenant is the tenant of every request when the service runs
// without tokens (on a loopback address only).
const OpenTenant = "default"

// maxTokens bounds the entries of a tokens file.
const maxTokens = 100000

// Tokens maps API tokens to tenants.
type Tokens struct {
	entries []tokenEntry
}

type tokenEntry struct {
	tenant string
	token  []byte
}

// ParseTokens reads a tokens file: one "TENANT TOKEN" per line, separated
// by white space; blank lines and lines starting with '#' are skipped.
// Tenants are 1 to 64 letters, digits, '-' or '_'; tokens at least 16
// characters, each used once.
func ParseTokens(r io.Reader) (*Tokens, error) {
	t := &Tokens{}
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("line %d: want TENANT TOKEN", n)
		}
		if !store.ValidTenant(f[0]) {
			return nil, fmt.Errorf("line %d: tenant %q: want 1 to 64 letters, digits, '-' or '_'", n, f[0])
		}
		if len(f[1]) < 16 {
			return nil, fmt.Errorf("line %d: the token of tenant %s is shorter than 16 characters", n, f[0])
		}
		if seen[f[1]] {
			return nil, fmt.Errorf("line %d: the token of tenant %s is used twice", n, f[0])
		}
		seen[f[1]] = true
		if len(t.entries) >= maxTokens {
			return nil, fmt.Errorf("more than %d tokens", maxTokens)
		}
		t.entries = append(t.entries, tokenEntry{tenant: f[0], token: []byte(f[1])})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(t.entries) == 0 {
		return nil, fmt.Errorf("no token")
	}
	return t, nil
}

// Tenant returns the tenant of a token. Every entry is compared in
// constant time.
func (t *Tokens) Tenant(token string) (string, bool) {
	tenant, found := "", false
	for _, e := range t.entries {
		if subtle.ConstantTimeCompare(e.token, []byte(token)) == 1 {
			tenant, found = e.tenant, true
		}
	}
	return tenant, found
}

// bearer returns the tenant of a request's "Authorization: Bearer"
// token; without tokens every request is OpenTenant's.
func (a *API) bearer(r *http.Request) (string, bool) {
	if a.cfg.Tokens == nil {
		return OpenTenant, true
	}
	h := r.Header.Get("Authorization")
	const prefix = "Bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	return a.cfg.Tokens.Tenant(strings.TrimSpace(h[len(prefix):]))
}

// linkKey signs a capture for a share link: "TENANT.MAC", the MAC a
// truncated HMAC-SHA256 of tenant and id under the service's secret.
func (a *API) linkKey(tenant, id string) string {
	m := hmac.New(sha256.New, a.secret)
	m.Write([]byte(tenant + "/" + id))
	return tenant + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// keyTenant returns the tenant a share link's key grants the capture id
// to.
func (a *API) keyTenant(key, id string) (string, bool) {
	tenant, _, ok := strings.Cut(key, ".")
	if !ok || !store.ValidTenant(tenant) {
		return "", false
	}
	want := a.linkKey(tenant, id)
	return tenant, subtle.ConstantTimeCompare([]byte(want), []byte(key)) == 1
}

// tenantFor returns who may read capture id: the bearer of a token, or
// the holder of its share link's key.
func (a *API) tenantFor(r *http.Request, id string) (string, bool) {
	if t, ok := a.bearer(r); ok {
		return t, true
	}
	if key := r.URL.Query().Get("key"); key != "" {
		return a.keyTenant(key, id)
	}
	return "", false
}
