package tlsdecrypt

import (
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrDecrypt is wrapped by the error of a record whose authentication tag
// does not match: the key log holds a wrong secret for the connection, or
// the stream fed is not the one sent (bytes missing from the capture).
var ErrDecrypt = errors.New("record authentication failed")

// maxPlaintextLen is the most a record's plaintext may hold (RFC 8446
// section 5.1, RFC 5246 section 6.2.1).
const maxPlaintextLen = 1 << 14

// protector removes the protection of one direction's records.
type protector struct {
	s      *suite
	aead   cipher.AEAD
	iv     [12]byte // TLS 1.2 GCM uses only the first 4 bytes, the salt
	seq    uint64
	secret []byte // TLS 1.3 traffic secret, for key updates
}

// newProtector12 makes a TLS 1.2 direction's record protection.
func newProtector12(s *suite, k keys12) (*protector, error) {
	a, err := s.newAEAD(k.key)
	if err != nil {
		return nil, err
	}
	p := &protector{s: s, aead: a}
	copy(p.iv[:], k.iv)
	return p, nil
}

// newProtector13 makes a TLS 1.3 direction's record protection from a
// traffic secret.
func newProtector13(s *suite, secret []byte) (*protector, error) {
	key, iv, err := trafficKeys(s, secret)
	if err != nil {
		return nil, err
	}
	a, err := s.newAEAD(key)
	if err != nil {
		return nil, err
	}
	p := &protector{s: s, aead: a, secret: secret}
	copy(p.iv[:], iv)
	return p, nil
}

// update moves a TLS 1.3 direction to its next traffic secret, after a
// KeyUpdate message (RFC 8446 section 4.6.3).
func (p *protector) update() error {
	next, err := nextTrafficSecret(p.s, p.secret)
	if err != nil {
		return err
	}
	q, err := newProtector13(p.s, next)
	if err != nil {
		return err
	}
	*p = *q
	return nil
}

// open removes the protection of one record: hdr is its 5-byte header,
// body its fragment, which is decrypted in place. It returns the content
// type (the inner one in TLS 1.3) and the plaintext, which aliases body.
// The sequence number advances only on success.
func (p *protector) open(hdr, body []byte) (uint8, []byte, error) {
	overhead := p.aead.Overhead()
	var nonce [12]byte
	copy(nonce[:], p.iv[:])
	var aad []byte
	typ := hdr[0]
	switch {
	case p.s.tls13:
		// RFC 8446 section 5.3: the IV XOR the sequence number; the
		// header is the additional data.
		if len(body) < overhead+1 {
			return 0, nil, fmt.Errorf("record of %d bytes is shorter than its tag and content type", len(body))
		}
		xorSeq(&nonce, p.seq)
		aad = hdr
	case p.s.aead == aeadAESGCM:
		// RFC 5288 section 3: 4 bytes of salt from the key block, 8 of
		// explicit nonce carried first in the record.
		const explicit = 8
		if len(body) < explicit+overhead {
			return 0, nil, fmt.Errorf("record of %d bytes is shorter than its explicit nonce and tag", len(body))
		}
		copy(nonce[4:], body[:explicit])
		body = body[explicit:]
		aad = additionalData12(p.seq, typ, hdr, len(body)-overhead)
	default:
		// RFC 7905 section 2: the IV XOR the sequence number.
		if len(body) < overhead {
			return 0, nil, fmt.Errorf("record of %d bytes is shorter than its tag", len(body))
		}
		xorSeq(&nonce, p.seq)
		aad = additionalData12(p.seq, typ, hdr, len(body)-overhead)
	}
	plain, err := p.aead.Open(body[:0], nonce[:], body, aad)
	if err != nil {
		return 0, nil, fmt.Errorf("%w (sequence number %d)", ErrDecrypt, p.seq)
	}
	p.seq++
	if p.s.tls13 {
		// TLSInnerPlaintext: content, the real type, then zero padding.
		if len(plain) > maxPlaintextLen+1 {
			return 0, nil, fmt.Errorf("inner plaintext of %d bytes exceeds 2^14+1", len(plain))
		}
		i := len(plain) - 1
		for i >= 0 && plain[i] == 0 {
			i--
		}
		if i < 0 {
			return 0, nil, errors.New("inner plaintext holds only padding, no content type")
		}
		typ, plain = plain[i], plain[:i]
	}
	if len(plain) > maxPlaintextLen {
		return 0, nil, fmt.Errorf("plaintext of %d bytes exceeds 2^14", len(plain))
	}
	return typ, plain, nil
}

// xorSeq mixes a sequence number into the last 8 bytes of a nonce.
func xorSeq(nonce *[12]byte, seq uint64) {
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], seq)
	for i := range s {
		nonce[4+i] ^= s[i]
	}
}

// additionalData12 is TLS 1.2's AEAD additional data (RFC 5246 section
// 6.2.3.3): sequence number, type, version and plaintext length.
func additionalData12(seq uint64, typ uint8, hdr []byte, n int) []byte {
	var b [13]byte
	binary.BigEndian.PutUint64(b[:], seq)
	b[8] = typ
	b[9], b[10] = hdr[1], hdr[2]
	b[11], b[12] = byte(n>>8), byte(n)
	return b[:]
}
