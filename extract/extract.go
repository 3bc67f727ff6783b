// Package extract writes evidence captures: for each chosen FTP session,
// a small pcapng holding only the packets of its control connection, its
// data connections and the ICMP errors about them, ready to attach to a
// ticket. It reads the inputs a second time, after the analysis.
//
// In the pipeline it stands beside report: it takes what analyze found
// and the captures that pcap reads.
package extract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"ftpdiag/analyze"
	"ftpdiag/ftpflow"
	"ftpdiag/pcap"
)

// File is one evidence capture written.
type File struct {
	// Session is the ID of the session it holds.
	Session int
	// Name is the file written (for ToDir), or the session's file name.
	Name string
	// Packets counts the packets written.
	Packets int
}

// Options changes the evidence captures.
type Options struct {
	// Prefix begins every file name ToDir writes.
	Prefix string
	// ShowPasswords keeps PASS arguments; by default each of their bytes
	// becomes '*' (lengths and TCP checksums stay consistent).
	ShowPasswords bool
	// Read is what the analysis read of the inputs (Analysis.Inputs): an
	// input it found damaged is read again up to the damage, and the
	// damage, reported then, is not an error of the evidence captures
	// (see analyze.DamagedBefore). Without it, every damage is one.
	Read []pcap.Info
}

// Target is what an evidence capture needs of a session: its ID and the
// endpoints of its control and data connections. It is small, so that an
// analysis that lets sessions go as it reads can keep one per session.
type Target struct {
	Session        int
	Client, Server netip.AddrPort
	// Conns are the data connections, client end first.
	Conns [][2]netip.AddrPort
}

// TargetOf returns a session's target.
func TargetOf(s *ftpflow.Session) Target {
	t := Target{Session: s.ID, Client: s.Client, Server: s.Server}
	for _, c := range sessionConns(s) {
		t.Conns = append(t.Conns, [2]netip.AddrPort{c.Client, c.Server})
	}
	return t
}

// FileName names the target's evidence capture after its session's ID and
// endpoints, with prefix before it:
// "session-3_198.51.100.10-40312_203.0.113.10-21.pcapng".
func (t Target) FileName(prefix string) string {
	return fmt.Sprintf("%ssession-%d_%s_%s.pcapng", prefix, t.Session, fileSafe(t.Client.String()), fileSafe(t.Server.String()))
}

// FileName names a session's evidence capture (see Target.FileName).
func FileName(prefix string, s *ftpflow.Session) string {
	return Target{Session: s.ID, Client: s.Client, Server: s.Server}.FileName(prefix)
}

// Failing picks, from the targets of an analysis's sessions, those with an
// error finding, and the sessions those findings cite (the ones holding
// the passive ports a refused session needed), by session ID.
func Failing(findings []analyze.Finding, targets []Target) []Target {
	want := map[int]bool{}
	for _, f := range findings {
		if f.Severity != analyze.Error || f.Session == 0 {
			continue
		}
		want[f.Session] = true
		for _, id := range f.Refs.Sessions {
			want[id] = true
		}
	}
	var out []Target
	for _, t := range targets {
		if want[t.Session] {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b Target) int { return a.Session - b.Session })
	return out
}

// Targets returns the targets of sessions.
func Targets(sessions []*ftpflow.Session) []Target {
	out := make([]Target, len(sessions))
	for i, s := range sessions {
		out[i] = TargetOf(s)
	}
	return out
}

// fileSafe turns an endpoint into a file-name fragment.
func fileSafe(s string) string {
	return strings.NewReplacer(":", "-", "[", "", "]", "", "/", "-", "\\", "-").Replace(s)
}

// ToDir writes each target's evidence capture into dir (made if missing)
// as t.FileName(opt.Prefix), one file at a time. Files are created
// exclusively: an existing file or symbolic link of that name is an
// error, never overwritten or followed. It returns the files written, in
// session order.
func ToDir(ctx context.Context, inputs []analyze.Input, targets []Target, dir string, opt Options) ([]File, error) {
	if len(targets) == 0 {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	create := func(t Target) (io.Writer, error) {
		return os.OpenFile(filepath.Join(dir, t.FileName(opt.Prefix)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	}
	written, err := WriteTargets(ctx, inputs, targets, create, opt)
	for i := range written {
		written[i].Name = filepath.Join(dir, written[i].Name)
	}
	return written, err
}

// Write reads the inputs again and writes each session's packets as
// pcapng to the writer that create returns for it (see WriteTargets).
func Write(ctx context.Context, inputs []analyze.Input, sessions []*ftpflow.Session, create func(*ftpflow.Session) (io.Writer, error), opt Options) ([]File, error) {
	byID := map[int]*ftpflow.Session{}
	for _, s := range sessions {
		byID[s.ID] = s
	}
	return WriteTargets(ctx, inputs, Targets(sessions), func(t Target) (io.Writer, error) { return create(byID[t.Session]) }, opt)
}

// WriteTargets reads the inputs again and writes each target's packets
// as pcapng to the writer that create returns for it. The packets wait in
// an unlinked temporary file (in memory if none can be made); then the
// captures are written one after the other, in session order, each
// writer closed (when it is an io.Closer) before the next is created.
// Each packet carries a comment naming the file and frame it was read from
// ("ftpdiag: frame 71 of capture.pcap"), so the filters of the reports
// still find it: frame.comment contains "frame 71 of". An input given as
// a Reader must be an io.Seeker: it is read again from its start. The
// error joins every problem: an input that cannot be read again or is
// damaged, a writer that cannot be created or written; the captures
// written before it are complete. Damage the analysis already found
// (Options.Read) is not reported again.
func WriteTargets(ctx context.Context, inputs []analyze.Input, targets []Target, create func(Target) (io.Writer, error), opt Options) ([]File, error) {
	readers, err := analyze.Reopen(inputs)
	defer func() {
		for _, r := range readers {
			r.Close()
		}
	}()
	if err != nil {
		return nil, err
	}
	x := newExtractor(targets, readers, opt)
	defer x.spool.close()
	readErr := x.collect(ctx)
	if readErr != nil && ctx.Err() != nil {
		return nil, readErr
	}
	files, writeErr := x.emit(create)
	return files, errors.Join(readErr, writeErr)
}

// connPair names a TCP connection whichever way a packet travels.
type connPair struct{ a, b netip.AddrPort }

func pairOf(x, y netip.AddrPort) connPair {
	if y.Addr().Less(x.Addr()) || (y.Addr() == x.Addr() && y.Port() < x.Port()) {
		x, y = y, x
	}
	return connPair{x, y}
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
