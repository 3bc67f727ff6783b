package gen

// fill writes e's payload into p (len(p) == e.n).
func (g *generator) fill(p []byte, f *flow, c *conn, e *ent) {
	d := e.dir
	key := f.salt ^ uint64(e.conn)<<40 ^ uint64(d)<<32 ^ uint64(c.sent[d])
	switch e.kind {
	case payNone:
	case payLine:
		copy(p, f.texts[e.aux])
	case payStream:
		off := int(c.sent[d]) - 1 // the SYN took one
		copy(p, f.texts[e.aux][off:])
	case payRandom:
		g.random(p, key)
	case payTLS:
		g.tlsFill(p, &c.tls[d], e.aux, key)
	case payClientHello:
		var r [96]byte
		g.random(r[:], key)
		mustLen(appendClientHello(p[:0], f.name, r[:]), p)
	case payServerHello:
		var r [96]byte
		g.random(r[:], key)
		mustLen(appendServerHello(p[:0], r[:]), p)
	case payDNSQuery:
		mustLen(appendDNS(p[:0], f.name, &f.dns, false), p)
	case payDNSResponse:
		mustLen(appendDNS(p[:0], f.name, &f.dns, true), p)
	}
}

// mustLen panics when a payload builder wrote other than the planned
// length: plan and play disagree, a bug.
func mustLen(got, want []byte) {
	if len(got) != len(want) || (len(got) > 0 && &got[0] != &want[0]) {
		panic("gen: payload length differs from plan")
	}
}

// mix is splitmix64's finalizer.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// random fills p with bytes from the random pool at an offset chosen by
// key: ciphertext and compressed files look like this.
func (g *generator) random(p []byte, key uint64) {
	span := uint64(len(g.pool) - len(p) + 1)
	off := mix(key) % span
	copy(p, g.pool[off:])
}

// Largest TLS 1.3 ciphertext record body: 2^14 plaintext, content type,
// 16-byte tag.
const (
	tlsMaxRecord = 16384 + 1 + 16
	tlsMinRecord = 1 + 16
	tlsMinFlight = 5 + tlsMinRecord
)

// tlsFill writes the next bytes of a TLS application-data stream: record
// headers where records start, random bytes inside. A non-zero start
// begins a flight of that many bytes, split into full records and a last
// shorter one.
func (g *generator) tlsFill(p []byte, s *tlsState, start uint32, key uint64) {
	if start > 0 {
		*s = tlsState{flight: int(start), hdrPos: 5}
	}
	for len(p) > 0 {
		if s.hdrPos < 5 {
			k := copy(p, s.hdr[s.hdrPos:])
			s.hdrPos += k
			p = p[k:]
			continue
		}
		if s.rec == 0 {
			if s.flight < tlsMinFlight {
				g.random(p, key) // planned past the flight: never, but stay in bounds
				return
			}
			body := s.flight - 5
			if body > tlsMaxRecord {
				body = tlsMaxRecord
				if rest := s.flight - 5 - body; rest > 0 && rest < tlsMinFlight {
					body -= tlsMinFlight - rest
				}
			}
			s.hdr = [5]byte{0x17, 3, 3, byte(body >> 8), byte(body)}
			s.hdrPos, s.rec = 0, body
			s.flight -= 5 + body
			continue
		}
		k := min(len(p), s.rec)
		g.random(p[:k], key+uint64(s.flight+s.rec))
		s.rec -= k
		p = p[k:]
	}
}

// tlsCipherSuites are a browser's offer: TLS 1.3 suites, then ECDHE ones.
var tlsCipherSuites = []byte{
	0x13, 0x01, 0x13, 0x02, 0x13, 0x03, 0xc0, 0x2b, 0xc0, 0x2f, 0xc0, 0x2c, 0xc0, 0x30,
	0xcc, 0xa9, 0xcc, 0xa8, 0xc0, 0x13, 0xc0, 0x14, 0x00, 0x9c, 0x00, 0x9d, 0x00, 0x2f, 0x00, 0x35,
}

// tlsHelloExtensions are the ClientHello extensions after server_name and
// before key_share: supported_groups, ec_point_formats,
// signature_algorithms, ALPN (h2, http/1.1), supported_versions (1.3,
// 1.2), psk_key_exchange_modes.
var tlsHelloExtensions = []byte{
	0x00, 0x0a, 0x00, 0x08, 0x00, 0x06, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18,
	0x00, 0x0b, 0x00, 0x02, 0x01, 0x00,
	0x00, 0x0d, 0x00, 0x12, 0x00, 0x10, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01, 0x05, 0x03, 0x08, 0x05, 0x05, 0x01, 0x08, 0x06, 0x06, 0x01,
	0x00, 0x10, 0x00, 0x0e, 0x00, 0x0c, 0x02, 'h', '2', 0x08, 'h', 't', 't', 'p', '/', '1', '.', '1',
	0x00, 0x2b, 0x00, 0x05, 0x04, 0x03, 0x04, 0x03, 0x03,
	0x00, 0x2d, 0x00, 0x02, 0x01, 0x01,
}

// put16 writes v big-endian at b[i:].
func put16(b []byte, i, v int) { b[i], b[i+1] = byte(v>>8), byte(v) }

// appendClientHello appends a TLS 1.3 ClientHello record for server name
// sni; r gives 96 random bytes (random, session id, key share).
func appendClientHello(b []byte, sni string, r []byte) []byte {
	rec := len(b)
	b = append(b, 0x16, 3, 1, 0, 0)
	hs := len(b)
	b = append(b, 1, 0, 0, 0, 3, 3)
	b = append(b, r[:32]...)
	b = append(b, 32)
	b = append(b, r[32:64]...)
	b = append(b, 0, byte(len(tlsCipherSuites)))
	b = append(b, tlsCipherSuites...)
	b = append(b, 1, 0)
	ext := len(b)
	b = append(b, 0, 0)
	n := len(sni)
	b = append(b, 0, 0, byte((n+5)>>8), byte(n+5), byte((n+3)>>8), byte(n+3), 0, byte(n>>8), byte(n))
	b = append(b, sni...)
	b = append(b, tlsHelloExtensions...)
	b = append(b, 0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20)
	b = append(b, r[64:96]...)
	put16(b, ext, len(b)-ext-2)
	l := len(b) - hs - 4
	b[hs+1], b[hs+2], b[hs+3] = byte(l>>16), byte(l>>8), byte(l)
	put16(b, rec+3, len(b)-rec-5)
	return b
}

// clientHelloLen is the length appendClientHello gives for an sni of n
// bytes.
func clientHelloLen(n int) int {
	return 5 + 4 + 2 + 32 + 1 + 32 + 2 + len(tlsCipherSuites) + 2 + 2 + 9 + n + len(tlsHelloExtensions) + 10 + 32
}

// serverHelloLen is the length of appendServerHello's output.
const serverHelloLen = 5 + 4 + 2 + 32 + 1 + 32 + 3 + 2 + 6 + 40 + 6

// appendServerHello appends a TLS 1.3 ServerHello record (x25519 key
// share, TLS_AES_128_GCM_SHA256) and a ChangeCipherSpec record; r gives
// 96 random bytes.
func appendServerHello(b []byte, r []byte) []byte {
	rec := len(b)
	b = append(b, 0x16, 3, 3, 0, 0)
	hs := len(b)
	b = append(b, 2, 0, 0, 0, 3, 3)
	b = append(b, r[:32]...)
	b = append(b, 32)
	b = append(b, r[32:64]...)
	b = append(b, 0x13, 0x01, 0)
	b = append(b, 0, 46)
	b = append(b, 0x00, 0x2b, 0x00, 0x02, 0x03, 0x04)
	b = append(b, 0x00, 0x33, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20)
	b = append(b, r[64:96]...)
	l := len(b) - hs - 4
	b[hs+1], b[hs+2], b[hs+3] = byte(l>>16), byte(l>>8), byte(l)
	put16(b, rec+3, len(b)-rec-5)
	return append(b, 0x14, 3, 3, 0, 1, 1)
}

// DNS record types used.
const (
	dnsA    = 1
	dnsAAAA = 28
)

// dnsLen is the length of appendDNS's output.
func dnsLen(name string, m *dnsMsg, response bool) int {
	n := 12 + len(name) + 2 + 4 + 11
	if response {
		rd := 4
		if m.qtype == dnsAAAA {
			rd = 16
		}
		n += int(m.answers) * (12 + rd)
	}
	return n
}

// appendDNS appends a DNS query for name, or its response, with an EDNS
// OPT record.
func appendDNS(b []byte, name string, m *dnsMsg, response bool) []byte {
	flags, an := 0x0100, 0
	if response {
		flags, an = 0x8180|int(m.rcode), int(m.answers)
	}
	b = append(b, byte(m.id>>8), byte(m.id), byte(flags>>8), byte(flags), 0, 1, 0, byte(an), 0, 0, 0, 1)
	for len(name) > 0 {
		i := 0
		for i < len(name) && name[i] != '.' {
			i++
		}
		b = append(b, byte(i))
		b = append(b, name[:i]...)
		if i < len(name) {
			i++
		}
		name = name[i:]
	}
	b = append(b, 0, byte(m.qtype>>8), byte(m.qtype), 0, 1)
	for i := range an {
		b = append(b, 0xc0, 12, byte(m.qtype>>8), byte(m.qtype), 0, 1,
			byte(m.ttl>>24), byte(m.ttl>>16), byte(m.ttl>>8), byte(m.ttl))
		h := mix(uint64(m.seed) + uint64(i))
		if m.qtype == dnsAAAA {
			b = append(b, 0, 16, 0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, byte(h>>8&0x0f), 0, 0, 0, 0, 0, 0, 0, byte(h|1))
		} else {
			first := []byte{203, 0, 113}
			if h&1 == 0 {
				first = []byte{192, 0, 2}
			}
			b = append(b, 0, 4, first[0], first[1], first[2], byte(h>>8)%250+2)
		}
	}
	return append(b, 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0)
}
