// Package tlsdecrypt reads the TLS records of one connection offline and,
// given the session secrets from a key log, gives back the application data
// each side sent.
//
// Its place in ftpdiag's pipeline is under package ftpflow: when an FTP
// control connection switches to TLS (after "AUTH TLS" is accepted with 234,
// RFC 4217, or from its first byte on port 990, implicit FTPS), ftpflow hands
// the reassembled bytes of each direction to a Conn instead of its line
// splitter, and reads the FTP commands and replies from what Conn.Take
// returns. Without a key log a Conn still reads the clear-text hellos and
// says which TLS version and cipher suite were chosen, and why it cannot go
// further (StateNoKeys).
//
// The key log is the NSS key log format that curl, Firefox, OpenSSL,
// GnuTLS and Python write when SSLKEYLOGFILE is set (ParseKeyLog), or the
// same text inside a pcapng Decryption Secrets Block, as "editcap
// --inject-secrets" writes it (ParseSecretsBlock).
//
// Supported: TLS 1.2 with the AEAD suites (AES-128-GCM and AES-256-GCM,
// RFC 5288 and 5289; ChaCha20-Poly1305, RFC 7905) and TLS 1.3 with its three
// suites (RFC 8446), including key updates. Only the record layer and the key
// schedule are written here; the primitives are Go's crypto/aes,
// crypto/cipher, crypto/hkdf, crypto/hmac, crypto/sha256, crypto/sha512 and
// golang.org/x/crypto/chacha20poly1305.
//
// Not decrypted: SSL 3.0 to TLS 1.1, and CBC or RC4 suites
// (StateUnsupported); 0-RTT early data and TLS 1.2 renegotiation (they end
// in StateDecryptError); a resumed TLS 1.2 session whose client random the
// key log lacks (StateNoKeys: Go's crypto/tls logs only full handshakes,
// OpenSSL logs resumptions too).
//
// The package never panics on hostile input: every length is checked, every
// buffer is bounded by a named constant (MaxKeyLogLineLen,
// MaxKeyLogEntries, MaxRecordLen, MaxBuffered, MaxHandshakeLen,
// MaxPlaintextBuffered), and failures are values (State, *Error). Secrets
// never appear in errors or in the output of String methods.
package tlsdecrypt
