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

// Failing returns the sessions of a that have an error finding, by ID.
func Failing(a *analyze.Analysis) []*ftpflow.Session {
	bad := map[int]bool{}
	for _, f := range a.Findings {
		if f.Severity == analyze.Error && f.Session != 0 {
			bad[f.Session] = true
		}
	}
	var out []*ftpflow.Session
	for _, s := range a.Sessions {
		if bad[s.ID] {
			out = append(out, s)
		}
	}
	return out
}

// Options changes the evidence captures.
type Options struct {
	// Prefix begins every file name ToDir writes.
	Prefix string
	// ShowPasswords keeps PASS arguments; by default each of their bytes
	// becomes '*' (lengths and TCP checksums stay consistent).
	ShowPasswords bool
}

// FileName names a session's evidence capture after its ID and endpoints,
// with prefix before it: "session-3_198.51.100.10-40312_203.0.113.10-21.pcapng".
func FileName(prefix string, s *ftpflow.Session) string {
	return fmt.Sprintf("%ssession-%d_%s_%s.pcapng", prefix, s.ID, fileSafe(s.Client.String()), fileSafe(s.Server.String()))
}

// fileSafe turns an endpoint into a file-name fragment.
func fileSafe(s string) string {
	return strings.NewReplacer(":", "-", "[", "", "]", "", "/", "-", "\\", "-").Replace(s)
}

// ToDir writes each session's evidence capture into dir (made if missing)
// as FileName(opt.Prefix, s). Files are created exclusively: an existing file
// or symbolic link of that name is an error, never overwritten or
// followed. It returns the files written, in session order.
func ToDir(ctx context.Context, inputs []analyze.Input, sessions []*ftpflow.Session, dir string, opt Options) ([]File, error) {
	if len(sessions) == 0 {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	create := func(s *ftpflow.Session) (io.Writer, error) {
		f, err := os.OpenFile(filepath.Join(dir, FileName(opt.Prefix, s)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
		return f, nil
	}
	written, err := Write(ctx, inputs, sessions, create, opt)
	for i := range written {
		written[i].Name = filepath.Join(dir, written[i].Name)
	}
	for _, f := range files {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	files = nil
	return written, err
}

// Write reads the inputs again and writes each session's packets as
// pcapng to the writer that create returns for it, created when its first
// packet comes. Each packet carries a comment naming the file and frame it
// was read from ("ftpdiag: frame 71 of capture.pcap"), so the filters of
// the reports still find it: frame.comment contains "frame 71 of". An input given as a Reader must be an io.Seeker: it is
// read again from its start. The error joins every problem: an input that
// cannot be read again or is damaged, a writer that cannot be created or
// written; the captures written before it are complete as far as they go.
func Write(ctx context.Context, inputs []analyze.Input, sessions []*ftpflow.Session, create func(*ftpflow.Session) (io.Writer, error), opt Options) ([]File, error) {
	readers, err := reopen(inputs)
	defer func() {
		for _, r := range readers {
			r.Close()
		}
	}()
	if err != nil {
		return nil, err
	}
	x := newExtractor(sessions, readers, opt)
	errs := []error{x.copy(ctx, create)}
	errs = append(errs, x.close()...)
	return x.files(), errors.Join(errs...)
}

// reopen opens every input again from its start.
func reopen(inputs []analyze.Input) ([]*pcap.Reader, error) {
	var readers []*pcap.Reader
	for _, in := range inputs {
		if in.Reader == nil {
			r, err := pcap.OpenSequential(in.Name)
			if err != nil {
				return readers, err
			}
			readers = append(readers, r)
			continue
		}
		s, ok := in.Reader.(io.Seeker)
		if !ok {
			return readers, fmt.Errorf("%s: evidence captures read the input a second time, so it must be a file, not a stream", in.Name)
		}
		if _, err := s.Seek(0, io.SeekStart); err != nil {
			return readers, fmt.Errorf("%s: %w", in.Name, err)
		}
		r, err := pcap.NewReader(in.Reader, in.Name)
		if err != nil {
			return readers, err
		}
		readers = append(readers, r)
	}
	return readers, nil
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
