package tlsdecrypt

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Bounds of the key log reader.
const (
	// MaxKeyLogLineLen is the longest key log line accepted, in bytes
	// without its line ending. The longest line this package uses is 193
	// bytes (a TLS 1.3 label, a client random and a 48-byte secret); the
	// rest is room for labels it skips (ECH_CONFIG holds a whole ECHConfig).
	MaxKeyLogLineLen = 4 << 10

	// MaxKeyLogEntries is the most connections (distinct client randoms) a
	// KeyLog holds; each costs about 300 bytes.
	MaxKeyLogEntries = 1 << 18
)

// Labels of the NSS key log format that this package uses. Others
// (CLIENT_EARLY_TRAFFIC_SECRET, EXPORTER_SECRET, EARLY_EXPORTER_SECRET,
// ECH_SECRET, ECH_CONFIG, RSA, CLIENT_TRAFFIC_SECRET_1 and later) are skipped.
const (
	labelClientRandom = "CLIENT_RANDOM"
	labelClientHS     = "CLIENT_HANDSHAKE_TRAFFIC_SECRET"
	labelServerHS     = "SERVER_HANDSHAKE_TRAFFIC_SECRET"
	labelClientAP     = "CLIENT_TRAFFIC_SECRET_0"
	labelServerAP     = "SERVER_TRAFFIC_SECRET_0"
)

// secretsTypeTLSKeyLog is the Secrets Type of a pcapng Decryption Secrets
// Block holding an NSS key log ("TLSK").
const secretsTypeTLSKeyLog = 0x544c534b

// ErrNotTLSKeyLog is wrapped by ParseSecretsBlock's error when the block
// holds secrets of another kind (WireGuard, SSH, ...), which a caller may
// skip.
var ErrNotTLSKeyLog = errors.New("secrets are not a TLS key log")

// KeyLog holds the TLS session secrets of a key log, by client random. The
// zero value is an empty key log; a nil *KeyLog is empty too. A KeyLog is
// not safe for concurrent modification, but Conns may read one KeyLog from
// several goroutines once it is built.
type KeyLog struct {
	m       map[[32]byte]*secrets
	skipped int
	limit   int // MaxKeyLogEntries if 0; lowered by tests
}

// secrets are what a key log says about one connection. Each field is nil
// until a line gives it.
type secrets struct {
	master   []byte // TLS 1.2 master secret (48 bytes)
	clientHS []byte // TLS 1.3 client_handshake_traffic_secret
	serverHS []byte
	clientAP []byte // TLS 1.3 client_application_traffic_secret_0
	serverAP []byte
}

// KeyLogError is the error of a malformed key log line. It never holds the
// line's text, which may be a secret.
type KeyLogError struct {
	Line int    // 1-based line number
	Msg  string // what is wrong, without the line's content
}

// Error says which line is malformed and how.
func (e *KeyLogError) Error() string {
	return "key log line " + strconv.Itoa(e.Line) + ": " + e.Msg
}

// ParseKeyLog reads an NSS key log (the SSLKEYLOGFILE format): one
// "LABEL <client random hex> <secret hex>" per line, '#' comments and blank
// lines, LF or CRLF line endings. Labels other than CLIENT_RANDOM and the
// four TLS 1.3 handshake and traffic secrets are skipped. A malformed line
// of a known label, a line longer than MaxKeyLogLineLen or more than
// MaxKeyLogEntries connections stops the reading with a *KeyLogError; the
// KeyLog returned then holds the lines before it, and is never nil.
func ParseKeyLog(r io.Reader) (*KeyLog, error) {
	k := &KeyLog{}
	return k, k.read(r)
}

// ParseSecretsBlock reads the body of a pcapng Decryption Secrets Block
// (block type 0x0000000A): everything between the Block Total Length fields,
// that is Secrets Type, Secrets Length, the secrets and their padding, and
// the options, which are ignored. order is the byte order of the block's
// section. A block whose type is not "TLSK" (0x544c534b) gives an error
// wrapping ErrNotTLSKeyLog; otherwise the secrets are read as ParseKeyLog
// reads a file, with the same partial result on error.
func ParseSecretsBlock(body []byte, order binary.ByteOrder) (*KeyLog, error) {
	k := &KeyLog{}
	if len(body) < 8 {
		return k, fmt.Errorf("decryption secrets block: body of %d bytes is shorter than its 8-byte header", len(body))
	}
	typ := order.Uint32(body)
	n := order.Uint32(body[4:])
	if typ != secretsTypeTLSKeyLog {
		return k, fmt.Errorf("decryption secrets block: secrets type 0x%08x: %w", typ, ErrNotTLSKeyLog)
	}
	if uint64(n) > uint64(len(body)-8) {
		return k, fmt.Errorf("decryption secrets block: secrets length %d exceeds the %d bytes left in the block", n, len(body)-8)
	}
	if err := k.read(bytes.NewReader(body[8 : 8+n])); err != nil {
		return k, fmt.Errorf("decryption secrets block: %w", err)
	}
	return k, nil
}

// Merge adds o's secrets to k; o's win where both know a secret. Merging
// beyond MaxKeyLogEntries connections stops with an error, k then holding
// as many as fit.
func (k *KeyLog) Merge(o *KeyLog) error {
	if o == nil {
		return nil
	}
	for cr, s := range o.m {
		if err := k.add(cr, s); err != nil {
			return err
		}
	}
	k.skipped += o.skipped
	return nil
}

// Len is the number of connections (client randoms) k has secrets for.
func (k *KeyLog) Len() int {
	if k == nil {
		return 0
	}
	return len(k.m)
}

// Skipped is the number of lines with a label this package does not use.
func (k *KeyLog) Skipped() int {
	if k == nil {
		return 0
	}
	return k.skipped
}

// String describes k by its size, never its secrets.
func (k *KeyLog) String() string {
	plural := func(n int, what string) string {
		if n == 1 {
			return "1 " + what
		}
		return strconv.Itoa(n) + " " + what + "s"
	}
	return "key log: " + plural(k.Len(), "connection") + ", " + plural(k.Skipped(), "line") + " skipped"
}

// lookup returns the secrets for a client random, or nil.
func (k *KeyLog) lookup(clientRandom [32]byte) *secrets {
	if k == nil {
		return nil
	}
	return k.m[clientRandom]
}

// add merges s into the entry of cr.
func (k *KeyLog) add(cr [32]byte, s *secrets) error {
	if k.m == nil {
		k.m = make(map[[32]byte]*secrets)
	}
	e := k.m[cr]
	if e == nil {
		limit := MaxKeyLogEntries
		if k.limit > 0 {
			limit = k.limit
		}
		if len(k.m) >= limit {
			return fmt.Errorf("more than %d connections (MaxKeyLogEntries)", limit)
		}
		e = &secrets{}
		k.m[cr] = e
	}
	for _, p := range [...]struct {
		dst *[]byte
		src []byte
	}{
		{&e.master, s.master}, {&e.clientHS, s.clientHS}, {&e.serverHS, s.serverHS},
		{&e.clientAP, s.clientAP}, {&e.serverAP, s.serverAP},
	} {
		if p.src != nil {
			*p.dst = p.src
		}
	}
	return nil
}

// read adds the lines of r to k.
func (k *KeyLog) read(r io.Reader) error {
	br := bufio.NewReaderSize(r, MaxKeyLogLineLen+2)
	for line := 1; ; line++ {
		b, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			return &KeyLogError{line, fmt.Sprintf("longer than %d bytes (MaxKeyLogLineLen)", MaxKeyLogLineLen)}
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("key log line %d: %w", line, err)
		}
		b = bytes.TrimSuffix(b, []byte("\n"))
		b = bytes.TrimSuffix(b, []byte("\r"))
		if line == 1 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) // a byte order mark
		}
		if len(b) > MaxKeyLogLineLen {
			return &KeyLogError{line, fmt.Sprintf("longer than %d bytes (MaxKeyLogLineLen)", MaxKeyLogLineLen)}
		}
		if perr := k.parseLine(b); perr != "" {
			return &KeyLogError{line, perr}
		}
		if err == io.EOF {
			return nil
		}
	}
}

// parseLine adds one line to k, or says what is wrong with it.
func (k *KeyLog) parseLine(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] == '#' {
		return ""
	}
	f := bytes.Fields(b)
	var s secrets
	var dst *[]byte
	label := string(f[0])
	switch label {
	case labelClientRandom:
		dst = &s.master
	case labelClientHS:
		dst = &s.clientHS
	case labelServerHS:
		dst = &s.serverHS
	case labelClientAP:
		dst = &s.clientAP
	case labelServerAP:
		dst = &s.serverAP
	default:
		k.skipped++
		return ""
	}
	if len(f) != 3 {
		return fmt.Sprintf("%s: %d fields, want 3 (label, client random, secret)", label, len(f))
	}
	var cr [32]byte
	if msg := decodeHex(cr[:], f[1], "client random"); msg != "" {
		return label + ": " + msg
	}
	digits := len(f[2])
	what := "secret"
	switch {
	case label == labelClientRandom && digits != 96:
		return fmt.Sprintf("%s: master secret is %d hex digits, want 96 (48 bytes)", label, digits)
	case label != labelClientRandom && digits != 64 && digits != 96:
		return fmt.Sprintf("%s: secret is %d hex digits, want 64 or 96 (a SHA-256 or SHA-384 hash)", label, digits)
	case label == labelClientRandom:
		what = "master secret"
	}
	*dst = make([]byte, digits/2)
	if msg := decodeHex(*dst, f[2], what); msg != "" {
		return label + ": " + msg
	}
	if err := k.add(cr, &s); err != nil {
		return err.Error()
	}
	return ""
}

// decodeHex decodes src into dst, which must be exactly len(src)/2 bytes,
// and says what is wrong otherwise, naming the field and the position of a
// bad digit but never the digits themselves (encoding/hex's errors quote
// the offending character, which here may be part of a secret).
func decodeHex(dst, src []byte, what string) string {
	if len(src) != 2*len(dst) {
		return fmt.Sprintf("%s is %d hex digits, want %d", what, len(src), 2*len(dst))
	}
	for i := range dst {
		hi, ok1 := fromHexChar(src[2*i])
		lo, ok2 := fromHexChar(src[2*i+1])
		if !ok1 || !ok2 {
			pos := 2*i + 1
			if ok1 {
				pos++
			}
			return fmt.Sprintf("%s has a non-hex character at position %d", what, pos)
		}
		dst[i] = hi<<4 | lo
	}
	return ""
}

func fromHexChar(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
