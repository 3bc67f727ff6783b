package tlsdecrypt

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// The vectors are RFC 8448 section 3, "Simple 1-RTT Handshake", in
// testdata/rfc8448-simple-1rtt.txt.

// TestRFC8448KeySchedule checks HKDF-Expand-Label, its label encoding and
// the traffic key derivation against the RFC's intermediate values.
func TestRFC8448KeySchedule(t *testing.T) {
	v := readVectors(t, "rfc8448-simple-1rtt.txt")
	s := suiteByID(0x1301, true)

	if got, want := hkdfLabel("key", nil, 16), vector(t, v, "key_info"); !bytes.Equal(got, want) {
		t.Errorf(`hkdfLabel("key") = %x, want %x`, got, want)
	}
	if got, want := hkdfLabel("iv", nil, 12), vector(t, v, "iv_info"); !bytes.Equal(got, want) {
		t.Errorf(`hkdfLabel("iv") = %x, want %x`, got, want)
	}
	if got, want := hkdfLabel("s hs traffic", vector(t, v, "hello_hash"), 32), vector(t, v, "s_hs_traffic_info"); !bytes.Equal(got, want) {
		t.Errorf(`hkdfLabel("s hs traffic") = %x, want %x`, got, want)
	}

	empty := sha256.Sum256(nil)
	for _, tt := range []struct {
		prk, label, context, want string
	}{
		{"handshake_secret", "c hs traffic", "hello_hash", "client_handshake_traffic_secret"},
		{"handshake_secret", "s hs traffic", "hello_hash", "server_handshake_traffic_secret"},
		{"handshake_secret", "derived", "", "derived_for_master"},
		{"master_secret", "c ap traffic", "finished_hash", "client_application_traffic_secret_0"},
		{"master_secret", "s ap traffic", "finished_hash", "server_application_traffic_secret_0"},
		{"server_handshake_traffic_secret", "finished", "-", "server_finished_key"},
	} {
		var context []byte
		switch tt.context {
		case "":
			context = empty[:]
		case "-":
		default:
			context = vector(t, v, tt.context)
		}
		got, err := expandLabel(s.hash, vector(t, v, tt.prk), tt.label, context, 32)
		if err != nil {
			t.Fatal(err)
		}
		if want := vector(t, v, tt.want); !bytes.Equal(got, want) {
			t.Errorf("expandLabel(%s, %q) = %x, want %s %x", tt.prk, tt.label, got, tt.want, want)
		}
	}

	for _, tt := range []struct{ secret, key, iv string }{
		{"client_handshake_traffic_secret", "client_handshake_key", "client_handshake_iv"},
		{"server_handshake_traffic_secret", "server_handshake_key", "server_handshake_iv"},
		{"client_application_traffic_secret_0", "client_application_key", "client_application_iv"},
		{"server_application_traffic_secret_0", "server_application_key", "server_application_iv"},
	} {
		key, iv, err := trafficKeys(s, vector(t, v, tt.secret))
		if err != nil {
			t.Fatal(err)
		}
		if want := vector(t, v, tt.key); !bytes.Equal(key, want) {
			t.Errorf("%s = %x, want %x", tt.key, key, want)
		}
		if want := vector(t, v, tt.iv); !bytes.Equal(iv, want) {
			t.Errorf("%s = %x, want %x", tt.iv, iv, want)
		}
	}
}

// TestRFC8448Records opens each protected record of the trace with the
// protection derived from its traffic secret, at its sequence number.
func TestRFC8448Records(t *testing.T) {
	v := readVectors(t, "rfc8448-simple-1rtt.txt")
	s := suiteByID(0x1301, true)
	payload := make([]byte, 50)
	for i := range payload {
		payload[i] = byte(i)
	}
	for _, tt := range []struct {
		record, secret string
		seq            uint64
		typ            uint8
		want           []byte // nil: only the type and length are checked
		wantLen        int
	}{
		{"server_flight_record", "server_handshake_traffic_secret", 0, recHandshake, vector(t, v, "server_flight_plaintext"), 657},
		{"client_finished_record", "client_handshake_traffic_secret", 0, recHandshake, nil, 36},
		{"server_ticket_record", "server_application_traffic_secret_0", 0, recHandshake, nil, 205},
		{"client_application_record", "client_application_traffic_secret_0", 0, recApplicationData, payload, 50},
		{"server_application_record", "server_application_traffic_secret_0", 1, recApplicationData, payload, 50},
		{"client_alert_record", "client_application_traffic_secret_0", 1, recAlert, []byte{1, 0}, 2},
		{"server_alert_record", "server_application_traffic_secret_0", 2, recAlert, []byte{1, 0}, 2},
	} {
		t.Run(tt.record, func(t *testing.T) {
			p, err := newProtector13(s, vector(t, v, tt.secret))
			if err != nil {
				t.Fatal(err)
			}
			p.seq = tt.seq
			rec := bytes.Clone(vector(t, v, tt.record))
			typ, plain, err := p.open(rec[:5], rec[5:])
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			if typ != tt.typ || len(plain) != tt.wantLen {
				t.Fatalf("open = type %d, %d bytes; want type %d, %d bytes", typ, len(plain), tt.typ, tt.wantLen)
			}
			if tt.want != nil && !bytes.Equal(plain, tt.want) {
				t.Errorf("plaintext = %x\nwant        %x", plain, tt.want)
			}
			if p.seq != tt.seq+1 {
				t.Errorf("sequence number after open = %d, want %d", p.seq, tt.seq+1)
			}
			// The same record at the next sequence number must not open.
			rec = bytes.Clone(vector(t, v, tt.record))
			if _, _, err := p.open(rec[:5], rec[5:]); err == nil {
				t.Errorf("record opened again at sequence number %d", p.seq)
			}
		})
	}
}

// rfc8448Streams returns the trace's two byte streams and a key log for it.
func rfc8448Streams(t testing.TB) (client, server []byte, keylog string) {
	v := readVectors(t, "rfc8448-simple-1rtt.txt")
	cat := func(names ...string) []byte {
		var b []byte
		for _, n := range names {
			b = append(b, vector(t, v, n)...)
		}
		return b
	}
	client = cat("client_hello_record", "client_finished_record", "client_application_record", "client_alert_record")
	server = cat("server_hello_record", "server_flight_record", "server_ticket_record", "server_application_record", "server_alert_record")
	cr := fmt.Sprintf("%x", vector(t, v, "client_hello_record")[11:43])
	keylog = fmt.Sprintf("# RFC 8448 section 3\nCLIENT_HANDSHAKE_TRAFFIC_SECRET %s %x\nSERVER_HANDSHAKE_TRAFFIC_SECRET %s %x\nCLIENT_TRAFFIC_SECRET_0 %s %x\nSERVER_TRAFFIC_SECRET_0 %s %x\n",
		cr, vector(t, v, "client_handshake_traffic_secret"), cr, vector(t, v, "server_handshake_traffic_secret"),
		cr, vector(t, v, "client_application_traffic_secret_0"), cr, vector(t, v, "server_application_traffic_secret_0"))
	return client, server, keylog
}

// TestRFC8448Conn runs the whole trace through a Conn, as the two TCP
// streams cut at random: each side's 50-byte payload must come out, the
// handshake keys giving way to the application keys at each Finished.
func TestRFC8448Conn(t *testing.T) {
	client, server, keylog := rfc8448Streams(t)
	kl, err := ParseKeyLog(strings.NewReader(keylog))
	if err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 50)
	for i := range payload {
		payload[i] = byte(i)
	}
	for seed := range uint64(200) {
		c := NewConn(kl)
		out, errs := feedSegmented(c, rand.New(rand.NewPCG(seed, 8448)), client, server)
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("seed %d: errors %v, %v", seed, errs[0], errs[1])
		}
		for d := range out {
			if !bytes.Equal(out[d], payload) {
				t.Fatalf("seed %d: %s plaintext = %x, want %x", seed, Direction(d), out[d], payload)
			}
		}
		st := c.Status()
		if st.State != StateDecrypting || st.Version != versionTLS13 || st.CipherSuite != 0x1301 ||
			st.Records != [2]int{4, 5} || !st.Closed[0] || !st.Closed[1] {
			t.Fatalf("seed %d: status %+v", seed, st)
		}
	}
}
