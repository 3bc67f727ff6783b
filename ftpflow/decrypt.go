package ftpflow

import (
	"ftpdiag/tlsdecrypt"
)

// decrypter reads an FTPS control channel through a tlsdecrypt.Conn, with
// the secrets of Config.KeyLog. Each direction's TLS records go to the Conn
// as the stream's tlsSkipper cuts them, one record (or the part of one a
// segment carries) at a time, so that the plaintext a Feed gives back was
// completed by the record fed: its lines take that record's last segment
// as their event. A direction the Conn stopped (no secrets, a failed
// record) or that lost bytes in a hole of the capture is no longer fed:
// its records are skipped, as without keys.
type decrypter struct {
	conn *tlsdecrypt.Conn
	// last is, by Side, the event of the bytes fed last in that
	// direction: what the direction's records that waited for the other
	// one's hello are credited to.
	last [2]Event
	// hole is, by Side, set once a hole in the capture cut the direction's
	// records.
	hole [2]bool
}

// direction maps a side of the control connection to the TLS direction:
// the FTP client is the TLS client.
func direction(side Side) tlsdecrypt.Direction {
	if side == Server {
		return tlsdecrypt.ServerToClient
	}
	return tlsdecrypt.ClientToServer
}

// startDecrypting gives the session a decrypter when its control channel
// turns to TLS, the first time. Without a key log the Conn still reads the
// hellos, and says which version and cipher suite were chosen.
func (st *sessionState) startDecrypting() {
	if st.dec != nil || st.s.TLS == nil {
		return
	}
	st.dec = &decrypter{conn: tlsdecrypt.NewConn(st.tracker.cfg.KeyLog)}
	st.s.TLS.Decryption = &TLSDecryption{}
	st.noteDecryption()
}

// decrypt feeds rec, the bytes of one TLS record (or of the part of it
// that ev's segment carried) sent by side, to the decrypter, and hands
// the plaintext it completes to the line parsers.
func (st *sessionState) decrypt(side Side, rec []byte, ev Event) {
	d := st.dec
	if d == nil || d.conn == nil || d.hole[side] {
		return
	}
	d.last[side] = ev
	dir := direction(side)
	_ = d.conn.Feed(dir, rec) // a failure is read from Status below
	other := Client
	if side == Client {
		other = Server
	}
	// The other direction's records that waited for this one's hello
	// were sent earlier: their lines come first.
	if p := d.conn.Take(direction(other)); len(p) > 0 {
		st.plain(other, p, d.last[other])
	}
	if p := d.conn.Take(dir); len(p) > 0 {
		st.plain(side, p, ev)
	}
	st.noteDecryption()
}

// plain cuts decrypted bytes of one side into lines for the parser; every
// line they end takes ev, the record that completed it.
func (st *sessionState) plain(side Side, data []byte, ev Event) {
	ls := &st.lines[side]
	for i := 0; i < len(data) && !st.dropped; {
		n, line, ended, cut := ls.plain.split(data[i:])
		i += n
		if cut {
			st.s.LongLines++
		}
		if ended {
			st.line(side, string(line), ev)
		}
	}
}

// decryptHole notes a hole in side's stream while its records were being
// decrypted: the records after it cannot be (their sequence numbers are
// lost with the hole), so the direction is skipped from there on.
func (st *sessionState) decryptHole(side Side) {
	d := st.dec
	if d == nil || d.hole[side] {
		return
	}
	d.hole[side] = true
	st.lines[side].plain.reset()
	st.noteDecryption()
}

// noteDecryption copies what the decrypter knows into the session's
// TLSInfo.Decryption.
func (st *sessionState) noteDecryption() {
	d, info := st.dec, st.s.TLS
	if d == nil || d.conn == nil || info == nil || info.Decryption == nil {
		return
	}
	s := d.conn.Status()
	out := info.Decryption
	out.Version, out.CipherSuite, out.State = s.Version, s.CipherSuite, s.State
	out.Plaintext = [2]int64{s.Plaintext[tlsdecrypt.ClientToServer], s.Plaintext[tlsdecrypt.ServerToClient]}
	out.KeyLog = st.tracker.cfg.KeyLog.Len() > 0
	out.Problem = ""
	if s.Err != nil {
		out.Problem = s.Err.Error()
		return
	}
	for _, side := range [...]Side{Client, Server} {
		if d.hole[side] {
			out.State = tlsdecrypt.StateDecryptError
			out.Problem = "bytes of the " + side.String() + "'s TLS records are missing from the capture"
			return
		}
	}
}

// stopDecrypting lets the decrypter go once the control connection was
// read to its end; the session keeps what TLSInfo.Decryption says.
func (st *sessionState) stopDecrypting() {
	if st.dec != nil {
		st.noteDecryption()
		st.dec.conn = nil
	}
}
