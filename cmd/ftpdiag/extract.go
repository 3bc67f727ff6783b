package main

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"ftpdiag/analyze"
	"ftpdiag/ftpflow"
	"ftpdiag/pcap"
)

// connPair names a TCP connection whichever way a packet travels.
type connPair struct{ a, b netip.AddrPort }

func pairOf(x, y netip.AddrPort) connPair {
	if y.Addr().Less(x.Addr()) || (y.Addr() == x.Addr() && y.Port() < x.Port()) {
		x, y = y, x
	}
	return connPair{x, y}
}

// extractSessions writes, for every session with an error finding, a
// capture holding only that session's control and data packets, named
// after the session. It reads the input files a second time.
func extractSessions(dir, prefix string, files []string, a *analyze.Analysis, stderr io.Writer) error {
	bad := map[int]bool{}
	for _, f := range a.Findings {
		if f.Severity == analyze.Error && f.Session != 0 {
			bad[f.Session] = true
		}
	}
	if len(bad) == 0 {
		return nil
	}
	for _, f := range files {
		if f == "-" {
			return errors.New("--extract reads the captures a second time, so it needs files, not standard input")
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--extract: %w", err)
	}
	owner := map[connPair]int{}
	names := map[int]string{}
	for _, s := range a.Sessions {
		if !bad[s.ID] {
			continue
		}
		names[s.ID] = fmt.Sprintf("%ssession-%d_%s_%s.pcapng", prefix, s.ID, fileSafe(s.Client.String()), fileSafe(s.Server.String()))
		owner[pairOf(s.Client, s.Server)] = s.ID
		for _, c := range sessionConns(s) {
			owner[pairOf(c.Client, c.Server)] = s.ID
		}
	}
	var readers []*pcap.Reader
	for _, name := range files {
		r, err := pcap.Open(name)
		if err != nil {
			continue // already reported by the analysis
		}
		defer r.Close()
		readers = append(readers, r)
	}
	writers := map[int]*sessionWriter{}
	defer func() {
		for _, w := range writers {
			w.close()
		}
	}()
	m := pcap.NewMerger(readers...)
	dec := pcap.NewDecoder()
	for {
		p, err := m.Next()
		if err != nil {
			break
		}
		d := dec.Decode(p)
		var id int
		switch d.Kind {
		case pcap.KindTCP:
			id = owner[pairOf(netip.AddrPortFrom(d.Src, uint16(d.TCP.SrcPort)), netip.AddrPortFrom(d.Dst, uint16(d.TCP.DstPort)))]
		case pcap.KindTooBig:
			id = owner[pairOf(d.QuotedSrc, d.QuotedDst)]
		}
		if id == 0 {
			continue
		}
		w := writers[id]
		if w == nil {
			w, err = newSessionWriter(filepath.Join(dir, names[id]))
			if err != nil {
				return fmt.Errorf("--extract: %w", err)
			}
			writers[id] = w
		}
		if err := w.write(p); err != nil {
			return fmt.Errorf("--extract: %s: %w", w.path, err)
		}
	}
	for id, w := range writers {
		fmt.Fprintf(stderr, "ftpdiag: session %d: wrote %s (%d packets)\n", id, w.path, w.n)
	}
	return nil
}

// sessionConns lists every data connection linked to a session.
func sessionConns(s *ftpflow.Session) []*ftpflow.Conn {
	var cs []*ftpflow.Conn
	for _, o := range s.Offers {
		cs = append(cs, o.Conns...)
	}
	for _, t := range s.Transfers {
		cs = append(cs, t.Attempts...)
	}
	return append(cs, s.EncryptedData...)
}

// fileSafe turns an endpoint into a file-name fragment.
func fileSafe(s string) string {
	return strings.NewReplacer(":", "-", "[", "", "]", "", "/", "-").Replace(s)
}

// sessionWriter writes one extracted session as pcapng, which keeps each
// packet's own link type (merged inputs may differ).
type sessionWriter struct {
	path  string
	f     *os.File
	w     *pcapgo.NgWriter
	iface map[layers.LinkType]int
	n     int
}

func newSessionWriter(path string) (*sessionWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &sessionWriter{path: path, f: f, iface: map[layers.LinkType]int{}}, nil
}

func (sw *sessionWriter) write(p *pcap.Packet) error {
	if sw.w == nil {
		w, err := pcapgo.NewNgWriterInterface(sw.f, pcapgo.NgInterface{LinkType: p.LinkType, SnapLength: 262144}, pcapgo.NgWriterOptions{})
		if err != nil {
			return err
		}
		sw.w = w
		sw.iface[p.LinkType] = 0
	}
	id, ok := sw.iface[p.LinkType]
	if !ok {
		var err error
		id, err = sw.w.AddInterface(pcapgo.NgInterface{LinkType: p.LinkType, SnapLength: 262144})
		if err != nil {
			return err
		}
		sw.iface[p.LinkType] = id
	}
	sw.n++
	return sw.w.WritePacket(gopacket.CaptureInfo{
		Timestamp: p.Timestamp, CaptureLength: len(p.Data), Length: max(p.OriginalLength, len(p.Data)), InterfaceIndex: id,
	}, p.Data)
}

func (sw *sessionWriter) close() {
	if sw.w != nil {
		sw.w.Flush()
	}
	sw.f.Close()
}
