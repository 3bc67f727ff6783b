package analyze

import (
	"bytes"
	"fmt"

	"ftpdiag/pcap"
	"ftpdiag/tlsdecrypt"
)

// embeddedKeys gathers the TLS key logs that the inputs carry in pcapng
// Decryption Secrets Blocks into the key log the tracker decrypts with,
// beside Options.Tracker.KeyLog, as the blocks are read: a block comes
// before the packets whose secrets it holds ("editcap --inject-secrets"
// writes it at the file's start).
type embeddedKeys struct {
	// keys is the tracker's key log: a copy of the caller's (which is
	// never modified, so that analyses may share it), with the secrets
	// found in the inputs added.
	keys *tlsdecrypt.KeyLog
	// warnings are, by reader, what went wrong with its secrets, in
	// words that hold none of them.
	warnings [][]string
}

// watchSecrets returns the key log for an analysis of readers, and makes
// each reader add its embedded TLS key logs to it.
func watchSecrets(given *tlsdecrypt.KeyLog, readers []*pcap.Reader) (*embeddedKeys, error) {
	e := &embeddedKeys{keys: &tlsdecrypt.KeyLog{}, warnings: make([][]string, len(readers))}
	if err := e.keys.Merge(given); err != nil {
		return e, fmt.Errorf("key log: %w", err)
	}
	for i, r := range readers {
		r.OnSecrets(func(s pcap.Secrets) { e.add(i, s) })
	}
	return e, nil
}

// add merges the TLS key log of a Decryption Secrets Block of reader i;
// secrets of other kinds (WireGuard, SSH) are not ours to read.
func (e *embeddedKeys) add(i int, s pcap.Secrets) {
	if s.Type != pcap.SecretsTLSKeyLog {
		return
	}
	k, err := tlsdecrypt.ParseKeyLog(bytes.NewReader(s.Data))
	if err == nil {
		err = e.keys.Merge(k)
	} else if merr := e.keys.Merge(k); merr != nil {
		err = merr
	}
	if err != nil && len(e.warnings[i]) < maxSecretsWarnings {
		e.warnings[i] = append(e.warnings[i], fmt.Sprintf("TLS key log in the decryption secrets block at offset %d: %v (the secrets before it are used)", s.Offset, err))
	}
}

// maxSecretsWarnings bounds the warnings kept per input about its
// embedded key logs.
const maxSecretsWarnings = 4
