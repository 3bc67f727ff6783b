package tlsdecrypt

import (
	"errors"
	"fmt"
)

// MaxHandshakeLen is the largest handshake message body kept whole: the
// ClientHello, ServerHello and KeyUpdate messages this package reads. (A
// ClientHello with post-quantum key shares is about 2 KB.) Other messages,
// certificates among them, are skipped without being buffered.
const MaxHandshakeLen = 1 << 16

// Handshake message types (RFC 8446 section 4, RFC 5246 section 7.4).
const (
	hsClientHello = 1
	hsServerHello = 2
	hsFinished    = 20
	hsKeyUpdate   = 24
)

// extSupportedVersions is the supported_versions extension (RFC 8446
// section 4.2.1).
const extSupportedVersions = 43

// hrrRandom is the ServerHello.random of a HelloRetryRequest, SHA-256 of
// "HelloRetryRequest" (RFC 8446 section 4.1.3).
var hrrRandom = [32]byte{
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
}

// hsReader cuts one direction's handshake stream (the content of its
// handshake records, in clear or decrypted) into messages, which may span
// records. Only the bodies of the messages that are read are buffered.
type hsReader struct {
	hdr  [4]byte
	nhdr int
	left int // body bytes of the current message still to come
	keep bool
	body []byte
}

// kept says whether a message type's body is read.
func kept(typ uint8) bool {
	return typ == hsClientHello || typ == hsServerHello || typ == hsKeyUpdate
}

// feed adds b to the stream and calls fn with each message completed, its
// body nil unless kept. It stops at fn's first error.
func (r *hsReader) feed(b []byte, fn func(typ uint8, body []byte) error) error {
	for {
		if r.nhdr < 4 {
			if len(b) == 0 {
				return nil
			}
			n := copy(r.hdr[r.nhdr:], b)
			r.nhdr += n
			b = b[n:]
			if r.nhdr < 4 {
				return nil
			}
			r.left = int(r.hdr[1])<<16 | int(r.hdr[2])<<8 | int(r.hdr[3])
			r.keep = kept(r.hdr[0])
			if r.keep && r.left > MaxHandshakeLen {
				return fmt.Errorf("handshake message type %d of %d bytes exceeds %d (MaxHandshakeLen)", r.hdr[0], r.left, MaxHandshakeLen)
			}
			r.body = r.body[:0]
		}
		n := min(r.left, len(b))
		if r.keep {
			r.body = append(r.body, b[:n]...)
		}
		r.left -= n
		b = b[n:]
		if r.left > 0 {
			return nil
		}
		r.nhdr = 0
		var body []byte
		if r.keep {
			body = r.body
		}
		if err := fn(r.hdr[0], body); err != nil {
			return err
		}
	}
}

var errShortHello = errors.New("hello message too short")

// parseClientHello returns a ClientHello's random (RFC 8446 section 4.1.2).
func parseClientHello(b []byte) ([32]byte, error) {
	var random [32]byte
	if len(b) < 2+32 {
		return random, fmt.Errorf("ClientHello: %w (%d bytes)", errShortHello, len(b))
	}
	copy(random[:], b[2:34])
	return random, nil
}

// serverHello is what this package reads of a ServerHello.
type serverHello struct {
	version uint16 // the selected one: supported_versions if present
	random  [32]byte
	suite   uint16
}

// parseServerHello reads a ServerHello (RFC 8446 section 4.1.3, RFC 5246
// section 7.4.1.3).
func parseServerHello(b []byte) (serverHello, error) {
	var sh serverHello
	if len(b) < 2+32+1 {
		return sh, fmt.Errorf("ServerHello: %w (%d bytes)", errShortHello, len(b))
	}
	sh.version = uint16(b[0])<<8 | uint16(b[1])
	copy(sh.random[:], b[2:34])
	sid := int(b[34])
	if sid > 32 {
		return sh, fmt.Errorf("ServerHello: session id of %d bytes exceeds 32", sid)
	}
	p := 35 + sid
	if len(b) < p+3 {
		return sh, fmt.Errorf("ServerHello: %w (%d bytes)", errShortHello, len(b))
	}
	sh.suite = uint16(b[p])<<8 | uint16(b[p+1])
	p += 3 // cipher suite, compression method
	if p == len(b) {
		return sh, nil // no extensions (TLS 1.2 allows that)
	}
	if len(b) < p+2 {
		return sh, errors.New("ServerHello: extensions length cut short")
	}
	n := int(b[p])<<8 | int(b[p+1])
	p += 2
	if len(b) < p+n {
		return sh, fmt.Errorf("ServerHello: extensions of %d bytes exceed the %d left", n, len(b)-p)
	}
	ext := b[p : p+n]
	for len(ext) > 0 {
		if len(ext) < 4 {
			return sh, errors.New("ServerHello: extension header cut short")
		}
		typ := int(ext[0])<<8 | int(ext[1])
		l := int(ext[2])<<8 | int(ext[3])
		if len(ext) < 4+l {
			return sh, fmt.Errorf("ServerHello: extension %d of %d bytes exceeds the %d left", typ, l, len(ext)-4)
		}
		if typ == extSupportedVersions {
			if l != 2 {
				return sh, fmt.Errorf("ServerHello: supported_versions of %d bytes, want 2", l)
			}
			sh.version = uint16(ext[4])<<8 | uint16(ext[5])
		}
		ext = ext[4+l:]
	}
	return sh, nil
}
