package tlsdecrypt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// The tests here build TLS streams themselves, sealing records as a TLS
// stack does; e2e_test.go checks the same paths against real stacks.

var (
	ftpCommands = []string{"USER a\r\n", "PASV\r\n"}
	ftpReplies  = []string{"331 Please specify the password.\r\n", "227 Entering Passive Mode (192,0,2,1,156,87)\r\n"}
)

// rec frames a record in clear.
func rec(typ uint8, body []byte) []byte {
	return append([]byte{typ, 3, 3, byte(len(body) >> 8), byte(len(body))}, body...)
}

// hsMsg frames a handshake message.
func hsMsg(typ uint8, body []byte) []byte {
	return append([]byte{typ, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
}

func clientHelloMsg(random [32]byte) []byte {
	b := append([]byte{3, 3}, random[:]...)
	b = append(b, 0, 0, 2, 0x13, 0x01, 1, 0) // no session id, one suite, null compression
	return hsMsg(hsClientHello, b)
}

func serverHelloMsg(random [32]byte, suite uint16, version uint16) []byte {
	b := append([]byte{3, 3}, random[:]...)
	b = append(b, 0, byte(suite>>8), byte(suite), 0)
	if version == versionTLS13 {
		b = append(b, 0, 6, 0, 43, 0, 2, 3, 4)
	} else if version != versionTLS12 {
		b[0], b[1] = byte(version>>8), byte(version)
	}
	return hsMsg(hsServerHello, b)
}

// peer seals one direction's records.
type peer struct {
	s      *suite
	k      keys12 // TLS 1.2
	secret []byte // TLS 1.3
	seq    uint64
}

func (p *peer) seal(typ uint8, plain []byte) []byte {
	defer func() { p.seq++ }()
	if p.s.tls13 {
		pad := min(int(p.seq%3), maxPlaintextLen-len(plain)) // TLSInnerPlaintext is at most 2^14+1 bytes
		return seal13(p.s, p.secret, p.seq, typ, plain, pad)
	}
	return seal12(p.s, p.k, p.seq, typ, plain)
}

// rekey moves a TLS 1.3 peer to a new traffic secret.
func (p *peer) rekey(secret []byte) { p.secret, p.seq = secret, 0 }

func seal12(s *suite, k keys12, seq uint64, typ uint8, plain []byte) []byte {
	a, err := s.newAEAD(k.key)
	if err != nil {
		panic(err)
	}
	hdr := []byte{typ, 3, 3, 0, 0}
	var nonce [12]byte
	copy(nonce[:], k.iv)
	var body []byte
	if s.aead == aeadAESGCM {
		body = binary.BigEndian.AppendUint64(nil, seq^0x5a5a) // any explicit nonce will do
		copy(nonce[4:], body)
	} else {
		xorSeq(&nonce, seq)
	}
	body = a.Seal(body, nonce[:], plain, additionalData12(seq, typ, hdr, len(plain)))
	binary.BigEndian.PutUint16(hdr[3:], uint16(len(body)))
	return append(hdr, body...)
}

func seal13(s *suite, secret []byte, seq uint64, typ uint8, plain []byte, pad int) []byte {
	key, iv, err := trafficKeys(s, secret)
	if err != nil {
		panic(err)
	}
	a, err := s.newAEAD(key)
	if err != nil {
		panic(err)
	}
	inner := append(append(bytes.Clone(plain), typ), make([]byte, pad)...)
	hdr := []byte{recApplicationData, 3, 3, 0, 0}
	binary.BigEndian.PutUint16(hdr[3:], uint16(len(inner)+a.Overhead()))
	var nonce [12]byte
	copy(nonce[:], iv)
	xorSeq(&nonce, seq)
	return append(hdr, a.Seal(nil, nonce[:], inner, hdr)...)
}

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// session is a built TLS connection: its two streams, its key log and
// what each side sent as application data.
type session struct {
	client, server []byte
	keylog         string
	want           [2]string
}

// tls12Session builds a full TLS 1.2 handshake and FTP-like exchange.
func tls12Session(id uint16, rng *rand.Rand) session {
	s := suiteByID(id, false)
	var cr, sr [32]byte
	copy(cr[:], randomBytes(rng, 32))
	copy(sr[:], randomBytes(rng, 32))
	master := randomBytes(rng, 48)
	ck, sk := keyBlock12(s, master, cr, sr)
	c, sv := &peer{s: s, k: ck}, &peer{s: s, k: sk}
	var out session
	out.keylog = fmt.Sprintf("CLIENT_RANDOM %x %x\n", cr, master)
	out.server = append(out.server, rec(recHandshake, append(serverHelloMsg(sr, id, versionTLS12), hsMsg(11, randomBytes(rng, 700))...))...)
	out.server = append(out.server, rec(recHandshake, append(hsMsg(12, randomBytes(rng, 100)), hsMsg(14, nil)...))...)
	out.client = append(out.client, rec(recHandshake, clientHelloMsg(cr))...)
	out.client = append(out.client, rec(recHandshake, hsMsg(16, randomBytes(rng, 33)))...)
	out.client = append(out.client, rec(recChangeCipherSpec, []byte{1})...)
	out.client = append(out.client, c.seal(recHandshake, hsMsg(hsFinished, randomBytes(rng, 12)))...)
	out.server = append(out.server, rec(recHandshake, hsMsg(4, randomBytes(rng, 150)))...) // NewSessionTicket
	out.server = append(out.server, rec(recChangeCipherSpec, []byte{1})...)
	out.server = append(out.server, sv.seal(recHandshake, hsMsg(hsFinished, randomBytes(rng, 12)))...)
	for i := range ftpCommands {
		out.client = append(out.client, c.seal(recApplicationData, []byte(ftpCommands[i]))...)
		out.server = append(out.server, sv.seal(recApplicationData, []byte(ftpReplies[i]))...)
	}
	out.client = append(out.client, c.seal(recAlert, []byte{1, 0})...)
	out.want = [2]string{strings.Join(ftpCommands, ""), strings.Join(ftpReplies, "")}
	return out
}

// tls13Options vary a built TLS 1.3 session.
type tls13Options struct {
	hrr       bool // a HelloRetryRequest first
	keyUpdate bool // each side updates its keys after its first record of data
}

// tls13Session builds a full TLS 1.3 handshake and FTP-like exchange.
func tls13Session(id uint16, rng *rand.Rand, o tls13Options) session {
	s := suiteByID(id, true)
	var cr, sr [32]byte
	copy(cr[:], randomBytes(rng, 32))
	copy(sr[:], randomBytes(rng, 32))
	chs, shs := randomBytes(rng, s.hashSz), randomBytes(rng, s.hashSz)
	cap0, sap0 := randomBytes(rng, s.hashSz), randomBytes(rng, s.hashSz)
	c, sv := &peer{s: s, secret: chs}, &peer{s: s, secret: shs}
	var out session
	out.keylog = fmt.Sprintf("CLIENT_HANDSHAKE_TRAFFIC_SECRET %x %x\nSERVER_HANDSHAKE_TRAFFIC_SECRET %x %x\nCLIENT_TRAFFIC_SECRET_0 %x %x\nSERVER_TRAFFIC_SECRET_0 %x %x\n",
		cr, chs, cr, shs, cr, cap0, cr, sap0)
	out.client = append(out.client, rec(recHandshake, clientHelloMsg(cr))...)
	if o.hrr {
		out.server = append(out.server, rec(recHandshake, serverHelloMsg(hrrRandom, id, versionTLS13))...)
		out.server = append(out.server, rec(recChangeCipherSpec, []byte{1})...)
		out.client = append(out.client, rec(recChangeCipherSpec, []byte{1})...)
		out.client = append(out.client, rec(recHandshake, clientHelloMsg(cr))...)
		out.server = append(out.server, rec(recHandshake, serverHelloMsg(sr, id, versionTLS13))...)
	} else {
		out.server = append(out.server, rec(recHandshake, serverHelloMsg(sr, id, versionTLS13))...)
		out.server = append(out.server, rec(recChangeCipherSpec, []byte{1})...)
		out.client = append(out.client, rec(recChangeCipherSpec, []byte{1})...)
	}
	// The server's flight in two records, the Certificate cut between them.
	flight := append(hsMsg(8, []byte{0, 0}), hsMsg(11, randomBytes(rng, 900))...)
	flight = append(flight, hsMsg(15, randomBytes(rng, 72))...)
	flight = append(flight, hsMsg(hsFinished, randomBytes(rng, s.hashSz))...)
	out.server = append(out.server, sv.seal(recHandshake, flight[:500])...)
	out.server = append(out.server, sv.seal(recHandshake, flight[500:])...)
	sv.rekey(sap0)
	out.server = append(out.server, sv.seal(recHandshake, hsMsg(4, randomBytes(rng, 180)))...) // NewSessionTicket
	out.client = append(out.client, c.seal(recHandshake, hsMsg(hsFinished, randomBytes(rng, s.hashSz)))...)
	c.rekey(cap0)
	for i, p := range []*peer{c, sv} {
		texts := [][]string{ftpCommands, ftpReplies}[i]
		stream := [](*[]byte){&out.client, &out.server}[i]
		for j, text := range texts {
			*stream = append(*stream, p.seal(recApplicationData, []byte(text))...)
			if j == 0 && o.keyUpdate {
				*stream = append(*stream, p.seal(recHandshake, hsMsg(hsKeyUpdate, []byte{1}))...)
				next, err := nextTrafficSecret(s, p.secret)
				if err != nil {
					panic(err)
				}
				p.rekey(next)
			}
		}
	}
	out.client = append(out.client, c.seal(recAlert, []byte{1, 0})...)
	out.server = append(out.server, sv.seal(recAlert, []byte{1, 0})...)
	out.want = [2]string{strings.Join(ftpCommands, ""), strings.Join(ftpReplies, "")}
	return out
}

// checkSession feeds a session cut at random many times and checks each
// side's plaintext.
func checkSession(t *testing.T, ss session, version, suite uint16, closed [2]bool, updates [2]int) {
	t.Helper()
	kl, err := ParseKeyLog(strings.NewReader(ss.keylog))
	if err != nil {
		t.Fatal(err)
	}
	for seed := range uint64(50) {
		c := NewConn(kl)
		out, errs := feedSegmented(c, rand.New(rand.NewPCG(seed, 12)), ss.client, ss.server)
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("seed %d: errors %v; %v", seed, errs[0], errs[1])
		}
		for d := range out {
			if string(out[d]) != ss.want[d] {
				t.Fatalf("seed %d: %s plaintext = %q, want %q", seed, Direction(d), out[d], ss.want[d])
			}
		}
		st := c.Status()
		if st.State != StateDecrypting || st.Version != version || st.CipherSuite != suite || st.Closed != closed || st.KeyUpdates != updates {
			t.Fatalf("seed %d: status %+v", seed, st)
		}
	}
}

func TestTLS12RoundTrip(t *testing.T) {
	for _, s := range suites {
		if s.tls13 {
			continue
		}
		t.Run(SuiteName(s.id), func(t *testing.T) {
			ss := tls12Session(s.id, rand.New(rand.NewPCG(uint64(s.id), 1)))
			checkSession(t, ss, versionTLS12, s.id, [2]bool{true, false}, [2]int{})
		})
	}
}

func TestTLS13RoundTrip(t *testing.T) {
	for _, s := range suites {
		if !s.tls13 {
			continue
		}
		for _, o := range []tls13Options{{}, {hrr: true}, {keyUpdate: true}} {
			t.Run(fmt.Sprintf("%s/%+v", SuiteName(s.id), o), func(t *testing.T) {
				ss := tls13Session(s.id, rand.New(rand.NewPCG(uint64(s.id), 2)), o)
				updates := map[bool][2]int{true: {1, 1}}[o.keyUpdate]
				checkSession(t, ss, versionTLS13, s.id, [2]bool{true, true}, updates)
			})
		}
	}
}

// TestClearAfterCloseNotify: after a close_notify, bytes that are not TLS
// records are the protocol going on in clear (FTP's CCC).
func TestClearAfterCloseNotify(t *testing.T) {
	ss := tls12Session(0xc02f, rand.New(rand.NewPCG(3, 3)))
	kl, _ := ParseKeyLog(strings.NewReader(ss.keylog))
	c := NewConn(kl)
	if err := c.Feed(ServerToClient, ss.server); err != nil {
		t.Fatal(err)
	}
	if err := c.Feed(ClientToServer, append(bytes.Clone(ss.client), "PW"...)); err != nil {
		t.Fatal(err)
	}
	if err := c.Feed(ClientToServer, []byte("D\r\n")); err != nil {
		t.Fatal(err)
	}
	if got, want := string(c.Take(ClientToServer)), ss.want[0]+"PWD\r\n"; got != want {
		t.Errorf("client plaintext = %q, want %q", got, want)
	}
	if st := c.Status(); !st.Closed[ClientToServer] || len(st.Alerts[ClientToServer]) != 1 || st.Alerts[ClientToServer][0].String() != "warning close_notify (0)" {
		t.Errorf("status %+v", st)
	}
}

// records cuts a well-formed stream into its records.
func records(b []byte) [][]byte {
	var rs [][]byte
	for len(b) >= 5 {
		n := 5 + int(binary.BigEndian.Uint16(b[3:]))
		rs = append(rs, b[:n])
		b = b[n:]
	}
	return rs
}

// hostile builds the streams of a case of TestHostileInput from a good
// session.
type hostile struct {
	name           string
	client, server []byte
	keylog         string
	state          State
	dir            Direction
	record         int
	msg            string
}

func hostileCases() []hostile {
	rng := rand.New(rand.NewPCG(4, 4))
	s12 := tls12Session(0xc030, rng)
	s13 := tls13Session(0x1302, rng, tls13Options{})
	var cr, sr [32]byte
	ch := rec(recHandshake, clientHelloMsg(cr))
	sh := func(suite, version uint16) []byte { return rec(recHandshake, serverHelloMsg(sr, suite, version)) }
	withSH := func(sh []byte) []byte { // replace s12's ServerHello record
		n := 5 + int(binary.BigEndian.Uint16(s12.server[3:]))
		return append(append([]byte{}, sh...), s12.server[n:]...)
	}
	// The client's records: ClientHello, ClientKeyExchange,
	// ChangeCipherSpec, Finished, "USER a", "PASV", close_notify.
	cl := records(s12.client)
	tampered := bytes.Clone(cl[5])
	tampered[20] ^= 1
	cat := func(rs ...[]byte) []byte { return bytes.Join(rs, nil) }
	var waiting []byte
	waiting = append(waiting, ch...)
	for range 9 {
		waiting = append(waiting, rec(recApplicationData, make([]byte, 1<<14))...)
	}
	wrongMaster := strings.Replace(s12.keylog, s12.keylog[len(s12.keylog)-9:len(s12.keylog)-1], "00000000", 1)
	short13 := regexp.MustCompile(`([0-9a-f]{64})[0-9a-f]{32}\n`).ReplaceAllString(s13.keylog, "$1\n")
	return []hostile{
		{name: "FTP text instead of TLS", client: []byte("USER anonymous\r\n"), state: StateMalformed, record: 1, msg: "not a TLS record: content type 85"},
		{name: "SSLv2 ClientHello", client: []byte{0x80, 0x2e, 0x01, 0x00, 0x02}, state: StateMalformed, record: 1, msg: "content type 128"},
		{name: "record version 4.0", client: []byte{22, 4, 0, 0, 1, 0}, state: StateMalformed, record: 1, msg: "version 0x0400"},
		{name: "record in clear longer than 2^14", client: rec(recHandshake, make([]byte, 1<<14+1)), state: StateMalformed, record: 1, msg: "record of 16385 bytes in clear exceeds 2^14"},
		{name: "record too long", client: []byte{22, 3, 3, 0x41, 0x01}, state: StateMalformed, record: 1, msg: "exceeds 16640 (MaxRecordLen)"},
		{name: "capture starts after the handshake", client: rec(recApplicationData, make([]byte, 40)), state: StateNoHandshake, record: 1},
		{name: "short ClientHello", client: rec(recHandshake, hsMsg(hsClientHello, make([]byte, 20))), state: StateMalformed, record: 1, msg: "ClientHello: hello message too short (20 bytes)"},
		{name: "huge ClientHello", client: rec(recHandshake, []byte{1, 1, 0, 1, 0}), state: StateMalformed, record: 1, msg: "65537 bytes exceeds 65536"},
		{name: "ServerHello session id 33", client: ch, server: rec(recHandshake, hsMsg(hsServerHello, append(make([]byte, 34), 33))), dir: ServerToClient, state: StateMalformed, record: 1, msg: "session id of 33 bytes"},
		{name: "ServerHello extension overrun", client: ch, server: rec(recHandshake, hsMsg(hsServerHello, append(make([]byte, 38), 0, 9, 0, 43, 0, 2, 3))), dir: ServerToClient, state: StateMalformed, record: 1, msg: "extensions of 9 bytes exceed the 5 left"},
		{name: "supported_versions of 3 bytes", client: ch, server: rec(recHandshake, hsMsg(hsServerHello, append(make([]byte, 38), 0, 7, 0, 43, 0, 3, 3, 4, 0))), dir: ServerToClient, state: StateMalformed, record: 1, msg: "supported_versions of 3 bytes"},
		{name: "TLS 1.0", client: ch, server: sh(0xc013, 0x0301), dir: ServerToClient, state: StateUnsupported, record: 1, msg: "TLS 1.0 (only TLS 1.2 and 1.3 are)"},
		{name: "CBC suite", client: ch, server: sh(0xc013, versionTLS12), dir: ServerToClient, state: StateUnsupported, record: 1, msg: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA (0xc013) with TLS 1.2"},
		{name: "TLS 1.3 suite in TLS 1.2", client: ch, server: sh(0x1301, versionTLS12), dir: ServerToClient, state: StateUnsupported, record: 1},
		{name: "no key log", client: s12.client, server: s12.server, state: StateNoKeys, dir: ServerToClient, record: 1, msg: "no CLIENT_RANDOM line for client random"},
		{name: "TLS 1.3 without traffic secrets", client: s13.client, server: s13.server, keylog: strings.Join(strings.SplitAfter(s13.keylog, "\n")[:3], ""), state: StateNoKeys, dir: ServerToClient, record: 4, msg: "no SERVER_TRAFFIC_SECRET_0"},
		{name: "TLS 1.3 secrets of the wrong hash", client: s13.client, server: s13.server, keylog: short13, state: StateNoKeys, dir: ServerToClient, record: 1, msg: "is 32 bytes, but TLS_AES_256_GCM_SHA384 needs 48"},
		{name: "wrong master secret", client: s12.client, server: s12.server, keylog: wrongMaster, state: StateDecryptError, dir: ClientToServer, record: 4, msg: "record authentication failed (sequence number 0)"},
		{name: "tampered application data", client: cat(cl[0], cl[1], cl[2], cl[3], cl[4], tampered, cl[6]), server: s12.server, keylog: s12.keylog, state: StateDecryptError, dir: ClientToServer, record: 6, msg: "sequence number 2"},
		{name: "a record missing", client: cat(cl[0], cl[1], cl[2], cl[3], cl[4], cl[6]), server: s12.server, keylog: s12.keylog, state: StateDecryptError, dir: ClientToServer, record: 6, msg: "sequence number 2"},
		{name: "bytes missing", client: cat(cl[0], cl[1], cl[2], cl[3], cl[4], cl[5][:10], cl[6]), server: s12.server, keylog: s12.keylog, state: StateDecryptError, dir: ClientToServer, record: 6, msg: "sequence number 2"},
		{name: "application data before ChangeCipherSpec", client: append(bytes.Clone(ch), rec(recApplicationData, []byte("hello"))...), server: withSH(sh(0xc030, versionTLS12)), keylog: fmt.Sprintf("CLIENT_RANDOM %x %s\n", cr, s48), state: StateMalformed, record: 2, msg: "application data before ChangeCipherSpec"},
		{name: "TLS 1.2 record shorter than nonce and tag", client: append(bytes.Clone(ch), append(rec(recChangeCipherSpec, []byte{1}), rec(recHandshake, make([]byte, 23))...)...), server: sh(0xc030, versionTLS12), keylog: fmt.Sprintf("CLIENT_RANDOM %x %s\n", cr, s48), state: StateMalformed, record: 3, msg: "shorter than its explicit nonce and tag"},
		{name: "TLS 1.3 record shorter than tag", client: append(bytes.Clone(ch), rec(recApplicationData, make([]byte, 16))...), server: sh(0x1301, versionTLS13), keylog: fmt.Sprintf("CLIENT_HANDSHAKE_TRAFFIC_SECRET %x %s\nSERVER_HANDSHAKE_TRAFFIC_SECRET %x %s\n", cr, s32, cr, s32), state: StateMalformed, record: 2, msg: "shorter than its tag and content type"},
		{name: "TLS 1.3 inner plaintext only padding", client: append(bytes.Clone(ch), seal13(suiteByID(0x1301, true), bytes.Repeat([]byte{0x11}, 32), 0, 0, nil, 5)...), server: sh(0x1301, versionTLS13), keylog: fmt.Sprintf("CLIENT_HANDSHAKE_TRAFFIC_SECRET %x %s\nSERVER_HANDSHAKE_TRAFFIC_SECRET %x %s\n", cr, strings.Repeat("11", 32), cr, s32), state: StateMalformed, record: 2, msg: "only padding"},
		{name: "records waiting for a ServerHello that never comes", client: waiting, state: StateMalformed, msg: "more than 131072 (MaxBuffered)"},
	}
}

// TestHostileInput feeds crafted streams, whole and in one-byte pieces:
// each must stop with its State at its record, never panic, and never show
// a secret.
func TestHostileInput(t *testing.T) {
	for _, tt := range hostileCases() {
		t.Run(tt.name, func(t *testing.T) {
			kl, err := ParseKeyLog(strings.NewReader(tt.keylog))
			if err != nil {
				t.Fatal(err)
			}
			for _, piece := range []int{0, 1} {
				c := NewConn(kl)
				feed := func(d Direction, b []byte) {
					if piece == 0 {
						c.Feed(d, b)
						return
					}
					for i := range b {
						c.Feed(d, b[i:i+1])
					}
				}
				feed(ClientToServer, tt.client)
				feed(ServerToClient, tt.server)
				st := c.Status()
				var e *Error
				if !errors.As(st.Err, &e) {
					t.Fatalf("pieces of %d: status %v, want an *Error", piece, st)
				}
				if e.State != tt.state || e.Dir != tt.dir || e.Record != tt.record || !strings.Contains(e.Error(), tt.msg) || st.State != tt.state {
					t.Errorf("pieces of %d: error %q (state %s, %s record %d); want %s, %s record %d, %q",
						piece, e, e.State, e.Dir, e.Record, tt.state, tt.dir, tt.record, tt.msg)
				}
				for _, text := range []string{e.Error(), st.String()} {
					for _, line := range strings.Split(tt.keylog, "\n") {
						if f := strings.Fields(line); len(f) == 3 && strings.Contains(text, f[2][:16]) {
							t.Errorf("%q shows a secret", text)
						}
					}
				}
				// A stopped direction stays stopped and holds nothing.
				if err := c.Feed(e.Dir, []byte{22, 3, 3, 0, 0}); err == nil || c.h[e.Dir].buf != nil {
					t.Errorf("Feed after the failure = %v, %d bytes held", err, len(c.h[e.Dir].buf))
				}
			}
		})
	}
}

func TestStatusStrings(t *testing.T) {
	ss := tls13Session(0x1301, rand.New(rand.NewPCG(5, 5)), tls13Options{})
	c := NewConn(nil)
	if got := c.Status().String(); got != "handshake" {
		t.Errorf("Status before a byte = %q", got)
	}
	c.Feed(ClientToServer, ss.client)
	err := c.Feed(ServerToClient, ss.server)
	if !errors.Is(err, ErrNoKeys) {
		t.Errorf("Feed without keys = %v, want ErrNoKeys", err)
	}
	want := "TLS 1.3 TLS_AES_128_GCM_SHA256: server record 1 at offset 0: no_keys: no secrets for this connection in the key log: no CLIENT_HANDSHAKE_TRAFFIC_SECRET and SERVER_HANDSHAKE_TRAFFIC_SECRET lines for client random "
	if got := c.Status().String(); !strings.HasPrefix(got, want) {
		t.Errorf("Status = %q\nwant prefix  %q", got, want)
	}
	if err := c.Feed(2, nil); err == nil || c.Take(2) != nil {
		t.Error("an invalid direction was accepted")
	}
	for s := StateHandshake; s <= StateDecryptError; s++ {
		b, err := s.MarshalText()
		if err != nil || string(b) != s.String() || strings.Contains(s.String(), "(") {
			t.Errorf("State %d: MarshalText = %q, %v; String %q", s, b, err, s)
		}
	}
	if _, err := State(99).MarshalText(); err == nil {
		t.Error("State(99).MarshalText did not fail")
	}
	if got := (Alert{2, 40}).String(); got != "fatal handshake_failure (40)" {
		t.Errorf("Alert = %q", got)
	}
	if got := VersionName(0x7f1c); got != "version 0x7f1c" {
		t.Errorf("VersionName(0x7f1c) = %q", got)
	}
}

// TestPlaintextBound: plaintext not taken is dropped beyond
// MaxPlaintextBuffered, and counted.
func TestPlaintextBound(t *testing.T) {
	ss := tls12Session(0xcca8, rand.New(rand.NewPCG(6, 6)))
	kl, _ := ParseKeyLog(strings.NewReader(ss.keylog))
	c := NewConn(kl)
	c.Feed(ServerToClient, ss.server)
	c.Feed(ClientToServer, ss.client)
	c.h[ClientToServer].closed, c.h[ClientToServer].clear = true, true
	big := make([]byte, MaxPlaintextBuffered)
	c.Feed(ClientToServer, big)
	st := c.Status()
	if got := len(c.Take(ClientToServer)); got != MaxPlaintextBuffered || st.Dropped[ClientToServer] != int64(len(ss.want[0])) {
		t.Errorf("took %d bytes, %d dropped; want %d, %d", got, st.Dropped[ClientToServer], MaxPlaintextBuffered, len(ss.want[0]))
	}
}
