package tlsdecrypt

import (
	"crypto/hkdf"
	"crypto/hmac"
	"hash"
)

// prf12 is the TLS 1.2 PRF (RFC 5246 section 5): P_hash(secret, label +
// seed), cut to n bytes.
func prf12(h func() hash.Hash, secret []byte, label string, seed []byte, n int) []byte {
	labelSeed := make([]byte, 0, len(label)+len(seed))
	labelSeed = append(append(labelSeed, label...), seed...)
	mac := hmac.New(h, secret)
	out := make([]byte, 0, n+mac.Size())
	mac.Write(labelSeed)
	a := mac.Sum(nil) // A(1)
	for len(out) < n {
		mac.Reset()
		mac.Write(a)
		mac.Write(labelSeed)
		out = mac.Sum(out)
		mac.Reset()
		mac.Write(a)
		a = mac.Sum(a[:0])
	}
	return out[:n]
}

// keys12 are one direction's TLS 1.2 write key and IV.
type keys12 struct{ key, iv []byte }

// keyBlock12 expands a TLS 1.2 master secret into both directions' keys
// (RFC 5246 section 6.3; AEAD suites have no MAC key). The client's come
// first.
func keyBlock12(s *suite, master []byte, clientRandom, serverRandom [32]byte) (client, server keys12) {
	seed := make([]byte, 0, 64)
	seed = append(append(seed, serverRandom[:]...), clientRandom[:]...)
	kb := prf12(s.hash, master, "key expansion", seed, 2*s.keyLen+2*s.ivLen)
	client.key, kb = kb[:s.keyLen], kb[s.keyLen:]
	server.key, kb = kb[:s.keyLen], kb[s.keyLen:]
	client.iv, kb = kb[:s.ivLen], kb[s.ivLen:]
	server.iv = kb[:s.ivLen]
	return client, server
}

// hkdfLabel is the HkdfLabel structure of RFC 8446 section 7.1 for
// HKDF-Expand-Label(secret, label, context, length). label and context are
// at most 255 bytes here (labels are constants, contexts hashes).
func hkdfLabel(label string, context []byte, length int) []byte {
	full := "tls13 " + label
	b := make([]byte, 0, 4+len(full)+len(context))
	b = append(b, byte(length>>8), byte(length), byte(len(full)))
	b = append(b, full...)
	b = append(b, byte(len(context)))
	return append(b, context...)
}

// expandLabel is HKDF-Expand-Label of RFC 8446 section 7.1. It fails only
// where crypto/hkdf refuses a length (in FIPS 140-only mode, outputs under
// 112 bits such as the 96-bit IV).
func expandLabel(h func() hash.Hash, secret []byte, label string, context []byte, length int) ([]byte, error) {
	return hkdf.Expand(h, secret, string(hkdfLabel(label, context, length)), length)
}

// trafficKeys derives a TLS 1.3 write key and IV from a traffic secret
// (RFC 8446 section 7.3).
func trafficKeys(s *suite, secret []byte) (key, iv []byte, err error) {
	if key, err = expandLabel(s.hash, secret, "key", nil, s.keyLen); err != nil {
		return nil, nil, err
	}
	iv, err = expandLabel(s.hash, secret, "iv", nil, 12)
	return key, iv, err
}

// nextTrafficSecret is the secret after a KeyUpdate (RFC 8446 section
// 7.2).
func nextTrafficSecret(s *suite, secret []byte) ([]byte, error) {
	return expandLabel(s.hash, secret, "traffic upd", nil, s.hashSz)
}
