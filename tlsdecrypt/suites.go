package tlsdecrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"fmt"
	"hash"

	"golang.org/x/crypto/chacha20poly1305"
)

// TLS versions on the wire.
const (
	versionTLS12 = 0x0303
	versionTLS13 = 0x0304
)

// aeadKind is the record protection algorithm of a cipher suite.
type aeadKind uint8

const (
	aeadAESGCM aeadKind = iota
	aeadChaCha20Poly1305
)

// suite is what the record layer needs to know of a cipher suite.
type suite struct {
	id     uint16
	tls13  bool
	hash   func() hash.Hash // PRF hash (TLS 1.2), HKDF hash (TLS 1.3)
	hashSz int
	aead   aeadKind
	keyLen int
	// ivLen is the length of the IV from the key schedule: 4, the implicit
	// part of the GCM nonce (RFC 5288), for TLS 1.2 AES-GCM; 12 otherwise.
	ivLen int
}

// suites lists the cipher suites this package decrypts: every TLS 1.2 AEAD
// suite with AES-GCM or ChaCha20-Poly1305 (whatever the key exchange, which
// the key log makes irrelevant) and the three TLS 1.3 suites.
var suites = []suite{
	// TLS 1.2, RFC 5288 (RSA, DHE) and RFC 5289 (ECDHE).
	{id: 0x009c, hash: sha256.New, hashSz: 32, aead: aeadAESGCM, keyLen: 16, ivLen: 4},    // TLS_RSA_WITH_AES_128_GCM_SHA256
	{id: 0x009d, hash: sha512.New384, hashSz: 48, aead: aeadAESGCM, keyLen: 32, ivLen: 4}, // TLS_RSA_WITH_AES_256_GCM_SHA384
	{id: 0x009e, hash: sha256.New, hashSz: 32, aead: aeadAESGCM, keyLen: 16, ivLen: 4},    // TLS_DHE_RSA_WITH_AES_128_GCM_SHA256
	{id: 0x009f, hash: sha512.New384, hashSz: 48, aead: aeadAESGCM, keyLen: 32, ivLen: 4}, // TLS_DHE_RSA_WITH_AES_256_GCM_SHA384
	{id: 0xc02b, hash: sha256.New, hashSz: 32, aead: aeadAESGCM, keyLen: 16, ivLen: 4},    // TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
	{id: 0xc02c, hash: sha512.New384, hashSz: 48, aead: aeadAESGCM, keyLen: 32, ivLen: 4}, // TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
	{id: 0xc02f, hash: sha256.New, hashSz: 32, aead: aeadAESGCM, keyLen: 16, ivLen: 4},    // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
	{id: 0xc030, hash: sha512.New384, hashSz: 48, aead: aeadAESGCM, keyLen: 32, ivLen: 4}, // TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
	// TLS 1.2, RFC 7905.
	{id: 0xcca8, hash: sha256.New, hashSz: 32, aead: aeadChaCha20Poly1305, keyLen: 32, ivLen: 12}, // TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
	{id: 0xcca9, hash: sha256.New, hashSz: 32, aead: aeadChaCha20Poly1305, keyLen: 32, ivLen: 12}, // TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
	{id: 0xccaa, hash: sha256.New, hashSz: 32, aead: aeadChaCha20Poly1305, keyLen: 32, ivLen: 12}, // TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256
	// TLS 1.3, RFC 8446 appendix B.4.
	{id: 0x1301, tls13: true, hash: sha256.New, hashSz: 32, aead: aeadAESGCM, keyLen: 16, ivLen: 12},           // TLS_AES_128_GCM_SHA256
	{id: 0x1302, tls13: true, hash: sha512.New384, hashSz: 48, aead: aeadAESGCM, keyLen: 32, ivLen: 12},        // TLS_AES_256_GCM_SHA384
	{id: 0x1303, tls13: true, hash: sha256.New, hashSz: 32, aead: aeadChaCha20Poly1305, keyLen: 32, ivLen: 12}, // TLS_CHACHA20_POLY1305_SHA256
}

// suiteByID returns the suite with id for the version, or nil when this
// package cannot decrypt it.
func suiteByID(id uint16, tls13 bool) *suite {
	for i := range suites {
		if suites[i].id == id && suites[i].tls13 == tls13 {
			return &suites[i]
		}
	}
	return nil
}

// newAEAD makes the record protection for key.
func (s *suite) newAEAD(key []byte) (cipher.AEAD, error) {
	if s.aead == aeadChaCha20Poly1305 {
		return chacha20poly1305.New(key)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// SuiteName is the IANA name of a cipher suite ("TLS_AES_128_GCM_SHA256"),
// or its number in hex when unknown.
func SuiteName(id uint16) string {
	return tls.CipherSuiteName(id)
}

// VersionName is the name of a TLS version ("TLS 1.3"), or its number in
// hex when unknown.
func VersionName(v uint16) string {
	if v == 0 {
		return "unknown version"
	}
	name := tls.VersionName(v)
	if name == fmt.Sprintf("0x%04X", v) {
		return fmt.Sprintf("version 0x%04x", v)
	}
	return name
}
