package pcap

import (
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// FormatError reports a capture file that is not a capture, or one that is
// damaged or cut short. The CLI tells it from other errors with errors.As.
//
// Its text is one line: "FILE: record N at offset O: what went wrong", with
// the parts that do not apply left out. Errors about a header rather than a
// record name the header instead ("FILE: pcapng section header at offset 0:
// ..."). Capture text in the message is always quoted.
type FormatError struct {
	// File is the file name as given to NewReader or Open.
	File string
	// Offset is where the damaged structure starts, counted in bytes of the
	// decompressed file; it is -1 when no place applies (for example when the
	// file is not a capture at all).
	Offset int64
	// Record is the 1-based number of the damaged record, counted as
	// Packet.Frame is, or 0 when the damage is not in a packet record.
	Record int
	// Err says what is wrong; for a file cut short it wraps
	// io.ErrUnexpectedEOF or the gzip error met.
	Err error

	// where names the structure when it is not a record ("pcap file
	// header", "interface description block").
	where string
}

// Error returns the one-line description documented on FormatError.
func (e *FormatError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	place := true
	switch {
	case e.Record > 0:
		b.WriteString("record ")
		b.WriteString(strconv.Itoa(e.Record))
		if e.Offset >= 0 {
			b.WriteString(" at offset ")
			b.WriteString(strconv.FormatInt(e.Offset, 10))
		}
	case e.where != "":
		b.WriteString(e.where)
		if e.Offset >= 0 {
			b.WriteString(" at offset ")
			b.WriteString(strconv.FormatInt(e.Offset, 10))
		}
	case e.Offset >= 0:
		b.WriteString("offset ")
		b.WriteString(strconv.FormatInt(e.Offset, 10))
	default:
		place = false
	}
	if place {
		b.WriteString(": ")
	}
	if e.Err == nil {
		b.WriteString("invalid capture")
	} else {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *FormatError) Unwrap() error { return e.Err }

// textWithoutFile returns the error text without the leading file name, as
// Info.Warnings records it (Info.Name already names the file).
func (e *FormatError) textWithoutFile() string {
	c := *e
	c.File = ""
	return c.Error()
}

// truncatedError describes a structure cut short by the end of the file or
// of the gzip stream.
type truncatedError struct {
	part      string // "record header", "packet data", "block"; "" for a file header
	got, want int
	gzip      error // the gzip error that ended the data, or nil at a plain end of file
}

func (e *truncatedError) Error() string {
	if e.gzip != nil {
		msg := gzipMessage(e.gzip)
		switch {
		case e.got == 0 && e.part != "":
			return msg
		case e.part == "":
			return fmt.Sprintf("%s (%d of %d bytes)", msg, e.got, e.want)
		}
		return fmt.Sprintf("%s in %s (%d of %d bytes)", msg, e.part, e.got, e.want)
	}
	if e.part == "" {
		return fmt.Sprintf("truncated (%d of %d bytes)", e.got, e.want)
	}
	return fmt.Sprintf("truncated %s (%d of %d bytes)", e.part, e.got, e.want)
}

func (e *truncatedError) Unwrap() error {
	if e.gzip != nil {
		return e.gzip
	}
	return io.ErrUnexpectedEOF
}

// readError marks an I/O error of the underlying reader: not damage in the
// capture, so it is not reported as a FormatError.
type readError struct{ err error }

func (e readError) Error() string { return e.err.Error() }

// isGzipError tells whether err comes from a damaged or truncated gzip
// stream (as opposed to the file beneath it failing).
func isGzipError(err error) bool {
	var corrupt flate.CorruptInputError
	var internal flate.InternalError
	return errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, gzip.ErrChecksum) ||
		errors.Is(err, gzip.ErrHeader) ||
		errors.As(err, &corrupt) ||
		errors.As(err, &internal)
}

// gzipMessage words a gzip error so that it always names gzip.
func gzipMessage(err error) string {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "gzip stream truncated"
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "gzip: ") {
		return msg
	}
	return "gzip: " + msg
}

// gzipError wraps a gzip error met outside any structure, so that its text
// names gzip while errors.Is still finds the cause.
type gzipError struct{ err error }

func (e gzipError) Error() string { return gzipMessage(e.err) }
func (e gzipError) Unwrap() error { return e.err }

// errNotCapture is wrapped by the FormatError for input that is no capture.
var errNotCapture = errors.New("not a capture file")

// notCaptureError describes input that is neither pcap, pcapng nor gzip,
// quoting how it starts.
type notCaptureError struct {
	head       []byte
	compressed bool
}

func (e *notCaptureError) Error() string {
	switch {
	case len(e.head) == 0 && e.compressed:
		return "not a capture file (empty gzip stream)"
	case len(e.head) == 0:
		return "not a capture file (empty)"
	case e.compressed:
		return fmt.Sprintf("not a capture file (decompressed data starts with %q)", e.head)
	}
	return fmt.Sprintf("not a capture file (starts with %q)", e.head)
}

func (e *notCaptureError) Unwrap() error { return errNotCapture }
