package pcap

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestFormatErrorText(t *testing.T) {
	tests := []struct {
		name string
		err  *FormatError
		want string
	}{
		{"record", &FormatError{File: "capture.pcap", Offset: 8813202, Record: 5123, Err: errors.New("captured length 4294967295 exceeds snapshot length 262144")},
			"capture.pcap: record 5123 at offset 8813202: captured length 4294967295 exceeds snapshot length 262144"},
		{"header", &FormatError{File: "a.pcapng", Offset: 0, where: "pcapng section header", Err: errors.New("bad byte-order magic 0x12345678")},
			"a.pcapng: pcapng section header at offset 0: bad byte-order magic 0x12345678"},
		{"no place", &FormatError{File: "x", Offset: -1, Err: &notCaptureError{head: []byte("<html>")}},
			`x: not a capture file (starts with "<html>")`},
		{"offset only", &FormatError{File: "x", Offset: 7, Err: errors.New("bad")}, "x: offset 7: bad"},
		{"record without offset", &FormatError{File: "x", Offset: -1, Record: 3, Err: errors.New("bad")}, "x: record 3: bad"},
		{"no file", &FormatError{Offset: 24, Record: 1, Err: errors.New("bad")}, "record 1 at offset 24: bad"},
		{"nil Err", &FormatError{File: "x", Offset: -1}, "x: invalid capture"},
		{"truncated", &FormatError{File: "x", Offset: 40, Record: 2, Err: &truncatedError{part: "record header", got: 7, want: 16}},
			"x: record 2 at offset 40: truncated record header (7 of 16 bytes)"},
		{"truncated header", &FormatError{File: "x", Offset: 0, where: "pcap file header", Err: &truncatedError{got: 10, want: 24}},
			"x: pcap file header at offset 0: truncated (10 of 24 bytes)"},
		{"gzip cut inside a record", &FormatError{File: "x.gz", Offset: 40, Record: 2, Err: &truncatedError{part: "packet data", got: 100, want: 1514, gzip: io.ErrUnexpectedEOF}},
			"x.gz: record 2 at offset 40: gzip stream truncated in packet data (100 of 1514 bytes)"},
		{"gzip cut between records", &FormatError{File: "x.gz", Offset: 40, Record: 2, Err: &truncatedError{part: "record header", want: 16, gzip: io.ErrUnexpectedEOF}},
			"x.gz: record 2 at offset 40: gzip stream truncated"},
		{"gzip checksum", &FormatError{File: "x.gz", Offset: 40, Record: 2, Err: &truncatedError{part: "record header", want: 16, gzip: gzip.ErrChecksum}},
			"x.gz: record 2 at offset 40: gzip: invalid checksum"},
		{"flate error", &FormatError{File: "x.gz", Offset: -1, Err: gzipError{fmt.Errorf("wrapped: %w", io.ErrClosedPipe)}},
			"x.gz: gzip: wrapped: io: read/write on closed pipe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFormatErrorUnwrap(t *testing.T) {
	tests := []struct {
		name string
		err  error
		is   error
	}{
		{"plain cut", &FormatError{Err: &truncatedError{part: "block", got: 1, want: 8}}, io.ErrUnexpectedEOF},
		{"gzip cut", &FormatError{Err: &truncatedError{part: "block", got: 1, want: 8, gzip: io.ErrUnexpectedEOF}}, io.ErrUnexpectedEOF},
		{"gzip checksum", &FormatError{Err: &truncatedError{gzip: gzip.ErrChecksum}}, gzip.ErrChecksum},
		{"not a capture", &FormatError{Err: &notCaptureError{}}, errNotCapture},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", tt.err, tt.is)
			}
			var fe *FormatError
			if !errors.As(fmt.Errorf("context: %w", tt.err), &fe) {
				t.Error("errors.As does not find the *FormatError")
			}
		})
	}
}

func TestWarningText(t *testing.T) {
	tests := []struct {
		w    warning
		want string
	}{
		{warning{kind: warnBackwards, count: 5, frame: 17}, "timestamps go backwards 5 times, first at frame 17"},
		{warning{kind: warnBackwards, count: 1, frame: 17}, "timestamps go backwards at frame 17"},
		{warning{kind: warnOrigShort, count: 2, frame: 3}, "original length less than captured length 2 times, first at frame 3"},
		{warning{kind: warnOverSnaplen, detail: 65535, count: 1, frame: 9}, "captured length exceeds snapshot length 65535 at frame 9"},
		{warning{kind: warnFraction, count: 1, frame: 1}, "sub-second timestamp field of a second or more at frame 1"},
		{warning{kind: warnUndescribed, detail: 3, count: 4, frame: 2}, "packet on undescribed interface 3 skipped 4 times, first at frame 2"},
		{warning{kind: warnUnknownBlock, detail: 0xbad0, count: 1, offset: 120}, "unknown block type 0x0000bad0 skipped at offset 120"},
		{warning{kind: warnJournal, count: 2, frame: 5}, "systemd journal export block skipped 2 times, first at frame 5"},
		{warning{kind: warnTsresol, detail: 0x7f, count: 1, offset: 28}, "unsupported timestamp resolution 0x7f, microseconds assumed at offset 28"},
		{warning{kind: warnOptions, count: 1, offset: 28}, "malformed interface options ignored at offset 28"},
		{warning{kind: warnVersion, detail: 1<<16 | 3, count: 1}, "unusual pcap version 1.3 at offset 0"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.w.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWarningsBounded(t *testing.T) {
	var w warnings
	for i := range 1000 {
		w.add(warnUnknownBlock, uint64(i%30), 0, int64(i))
		w.add(warnBackwards, 0, i+1, 0)
	}
	got := w.render()
	if len(got) != maxWarnings+1 {
		t.Fatalf("%d warnings rendered, want %d", len(got), maxWarnings+1)
	}
	if got[1] != "timestamps go backwards 1000 times, first at frame 1" {
		t.Errorf("got[1] = %q", got[1])
	}
	if last := got[maxWarnings]; last != "363 more warnings of other kinds" {
		t.Errorf("last = %q", last)
	}
}
