package ftpflow

import "strings"

// Bounds on one reply kept by ReplyFramer. Lines beyond them are counted in
// Reply.Lines but their text is not stored, and Reply.Truncated is set.
const (
	maxReplyLines = 1000     // lines of text kept per reply
	maxReplyBytes = 64 << 10 // bytes of text kept per reply, separators included
)

// ReplyLine is one line of a server reply.
type ReplyLine struct {
	Code    int  // 100..699 when HasCode (6yz: RFC 2228 protected replies)
	HasCode bool // the line starts with a three-digit code and a separator
	More    bool // "227-...": the first line of a multi-line reply (or a line inside one)
	Text    string
}

// ParseReplyLine parses one line of a server reply, without its line ending; a
// stray trailing '\r' is dropped. A line that starts with a code 100..699
// (RFC 2228 adds the 6yz protected replies 631, 632 and 633)
// followed by a space, a hyphen or the end of the line has a code:
// "227 Entering..." gives {227, true, false, "Entering..."}, "227-..." sets
// More, and a bare "227" has Text "". Any other line (a continuation line, "99
// PASV invalid", "SYST not supported", "230_no_space") has HasCode false and
// Text the whole line.
func ParseReplyLine(line string) ReplyLine {
	line = strings.TrimSuffix(line, "\r")
	if len(line) < 3 || line[0] < '1' || line[0] > '6' || !isDigit(line[1]) || !isDigit(line[2]) {
		return ReplyLine{Text: line}
	}
	code := int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	if len(line) == 3 {
		return ReplyLine{Code: code, HasCode: true}
	}
	switch line[3] {
	case ' ':
		return ReplyLine{Code: code, HasCode: true, Text: line[4:]}
	case '-':
		return ReplyLine{Code: code, HasCode: true, More: true, Text: line[4:]}
	}
	return ReplyLine{Text: line}
}

// Reply is a complete reply, one or more lines (RFC 959 section 4.2).
type Reply struct {
	Code int
	// Text is the text of all lines joined with "\n": the code and its
	// separator are removed from the first and the last line, inner lines are
	// kept as sent (they may or may not repeat the code).
	Text      string
	Lines     int  // lines in the reply, stored or not
	Truncated bool // Text holds only the first 1000 lines or 64 KiB of the reply
	// Unterminated: the multi-line reply's closing line never came; Flush
	// returned it as far as it went.
	Unterminated bool
}

// ReplyFramer groups reply lines into replies, as RFC 959 section 4.2
// describes. A line "ddd-" opens a multi-line reply that ends at the first
// line starting with the same code followed by a space, or at a bare "ddd"
// line; lines in between, whatever they start with, are inner lines. A single
// line "ddd text" is a reply by itself. A line with no code outside a
// multi-line reply is returned as a Reply with Code 0 and the whole line as
// Text, so the caller can count and report it.
//
// The text kept per reply is bounded (1000 lines, 64 KiB); the rest is
// counted in Reply.Lines and flagged by Reply.Truncated. The zero value is
// ready to use.
type ReplyFramer struct {
	pending   bool   // inside a multi-line reply
	code      int    // code of the pending reply
	lines     int    // lines of the pending reply so far
	stored    int    // lines whose text is in buf
	truncated bool   // some text of the pending reply was not stored
	buf       []byte // text of the pending reply, at most maxReplyBytes
}

// Push adds one line (without its line ending) and returns the reply it
// completes, with done true; done is false while a multi-line reply is still
// open.
func (f *ReplyFramer) Push(line string) (r Reply, done bool) {
	rl := ParseReplyLine(line)
	if !f.pending {
		switch {
		case rl.HasCode && rl.More:
			f.pending, f.code = true, rl.Code
			f.add(rl.Text)
			return Reply{}, false
		case rl.HasCode:
			f.code = rl.Code
		default:
			f.code = 0
		}
		f.add(rl.Text)
		return f.finish(), true
	}
	if rl.HasCode && !rl.More && rl.Code == f.code {
		f.add(rl.Text)
		return f.finish(), true
	}
	f.add(strings.TrimSuffix(line, "\r"))
	return Reply{}, false
}

// Flush ends a multi-line reply whose closing line has not come (the
// client moved on, or the capture ended) and returns it marked
// Unterminated, with ok true; ok is false when no reply is open.
func (f *ReplyFramer) Flush() (r Reply, ok bool) {
	if !f.pending {
		return Reply{}, false
	}
	r = f.finish()
	r.Unterminated = true
	return r, true
}

// Pending reports whether the framer is inside an unfinished multi-line reply.
func (f *ReplyFramer) Pending() bool {
	return f.pending
}

// add appends one line of text to the pending reply, within the bounds.
func (f *ReplyFramer) add(text string) {
	f.lines++
	if f.truncated {
		return
	}
	if f.stored >= maxReplyLines {
		f.truncated = true
		return
	}
	if f.stored > 0 {
		if len(f.buf) >= maxReplyBytes {
			f.truncated = true
			return
		}
		f.buf = append(f.buf, '\n')
	}
	if room := maxReplyBytes - len(f.buf); len(text) > room {
		text = text[:room]
		f.truncated = true
	}
	f.buf = append(f.buf, text...)
	f.stored++
}

// keepBufCap is the largest buffer ReplyFramer keeps between replies; a bigger
// one, grown by a long reply, is dropped so an idle session holds little.
const keepBufCap = 4 << 10

// finish returns the pending reply and resets the framer.
func (f *ReplyFramer) finish() Reply {
	r := Reply{Code: f.code, Text: string(f.buf), Lines: f.lines, Truncated: f.truncated}
	buf := f.buf[:0]
	if cap(buf) > keepBufCap {
		buf = nil
	}
	*f = ReplyFramer{buf: buf}
	return r
}
