package tlsdecrypt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// The seed corpora live in testdata/fuzz/<Target>/ and run as regression
// tests in every "go test". Run one target with
//
//	go test ./tlsdecrypt -run='^$' -fuzz='^FuzzConn$' -fuzztime=20s
//
// Inputs are capped so that each run stays small: the bounds under test
// are far below the caps.

func FuzzParseKeyLog(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		k, err := ParseKeyLog(bytes.NewReader(data))
		if k == nil {
			t.Fatal("ParseKeyLog returned a nil KeyLog")
		}
		if lines := bytes.Count(data, []byte("\n")) + 1; k.Len()+k.Skipped() > lines {
			t.Fatalf("%d connections and %d skipped from %d lines", k.Len(), k.Skipped(), lines)
		}
		if hexRun.MatchString(k.String()) {
			t.Fatalf("String() = %q", k.String())
		}
		if err != nil {
			var ke *KeyLogError
			if !errors.As(err, &ke) || ke.Line < 1 {
				t.Fatalf("error %v is not a *KeyLogError with a line", err)
			}
			if hexRun.MatchString(err.Error()) {
				t.Fatalf("error %q may show a secret", err)
			}
		}
	})
}

func FuzzParseSecretsBlock(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte, bigEndian bool) {
		if len(body) > 1<<16 {
			return
		}
		var order binary.ByteOrder = binary.LittleEndian
		if bigEndian {
			order = binary.BigEndian
		}
		k, err := ParseSecretsBlock(body, order)
		if k == nil {
			t.Fatal("ParseSecretsBlock returned a nil KeyLog")
		}
		if err != nil && (strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "decryption secrets block: ")) {
			t.Fatalf("error %q", err)
		}
	})
}

// fuzzSessions are the sessions whose secrets FuzzConn knows, so that
// mutations of their streams reach the decryption.
func fuzzSessions(tb testing.TB) ([]session, *KeyLog) {
	client, server, keylog := rfc8448Streams(tb)
	ss := []session{
		{client: client, server: server, keylog: keylog},
		tls12Session(0xc02f, rand.New(rand.NewPCG(1, 1))),
		tls12Session(0xcca8, rand.New(rand.NewPCG(2, 2))),
		tls13Session(0x1302, rand.New(rand.NewPCG(3, 3)), tls13Options{hrr: true}),
		tls13Session(0x1303, rand.New(rand.NewPCG(4, 4)), tls13Options{keyUpdate: true}),
	}
	var text strings.Builder
	for _, s := range ss {
		text.WriteString(s.keylog)
	}
	kl, err := ParseKeyLog(strings.NewReader(text.String()))
	if err != nil {
		tb.Fatal(err)
	}
	return ss, kl
}

// FuzzConn feeds two streams, cut at random as cuts says, to a Conn that
// knows the secrets of the seed sessions. It must not panic, must keep
// within its bounds, and must never give more plaintext than it was fed.
func FuzzConn(f *testing.F) {
	_, kl := fuzzSessions(f)
	f.Fuzz(func(t *testing.T, client, server []byte, cuts uint64) {
		if len(client)+len(server) > 1<<18 {
			return
		}
		c := NewConn(kl)
		out, errs := feedSegmented(c, rand.New(rand.NewPCG(cuts, 0)), client, server)
		st := c.Status()
		for d, in := range [2][]byte{client, server} {
			if len(out[d]) > len(in) {
				t.Fatalf("%s: %d bytes of plaintext from %d fed", Direction(d), len(out[d]), len(in))
			}
			if len(c.h[d].buf) > MaxBuffered {
				t.Fatalf("%s: %d bytes buffered", Direction(d), len(c.h[d].buf))
			}
			if errs[d] != nil && st.Err == nil {
				t.Fatalf("%s: Feed failed with %v, Status has no error", Direction(d), errs[d])
			}
		}
		var e *Error
		switch {
		case st.Err == nil && st.State > StateDecrypting, st.Err != nil && st.State <= StateDecrypting:
			t.Fatalf("status %+v: state and error disagree", st)
		case st.Err != nil && (!errors.As(st.Err, &e) || strings.Contains(st.Err.Error(), "\n")):
			t.Fatalf("status error %q", st.Err)
		}
	})
}
