package ftpflow

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// The seed corpora live in testdata/fuzz/<Target>/, one real text per file
// (the sources are listed in the table tests), and run as regression tests in
// every "go test". Run one target with
//
//	go test ./ftpflow -run='^$' -fuzz='^FuzzParsePASV$' -fuzztime=20s

func FuzzParseCommand(f *testing.F) {
	f.Fuzz(func(t *testing.T, line string) {
		c, err := ParseCommand(line)
		if err != nil {
			checkErrorText(t, err)
			return
		}
		if n := len(c.Verb); n == 0 || n > maxVerbLen {
			t.Fatalf("ParseCommand(%q): verb %q has %d letters", line, c.Verb, n)
		}
		for i := 0; i < len(c.Verb); i++ {
			if b := c.Verb[i]; b < 'A' || b > 'Z' {
				t.Fatalf("ParseCommand(%q): verb %q is not upper-case ASCII letters", line, c.Verb)
			}
		}
		if len(c.Verb)+len(c.Arg) > len(line) || !strings.HasSuffix(strings.TrimSuffix(line, "\r"), c.Arg) {
			t.Fatalf("ParseCommand(%q) = %+v: arg is not the end of the line", line, c)
		}
		if strings.HasPrefix(c.Arg, " ") {
			t.Fatalf("ParseCommand(%q) = %+v: arg starts with a space", line, c)
		}
	})
}

func FuzzParseReplyLine(f *testing.F) {
	f.Fuzz(func(t *testing.T, line string) {
		r := ParseReplyLine(line)
		s := strings.TrimSuffix(line, "\r")
		if !r.HasCode {
			if r.Code != 0 || r.More || r.Text != s {
				t.Fatalf("ParseReplyLine(%q) = %+v: a line without code must keep its text whole", line, r)
			}
			return
		}
		if r.Code < 100 || r.Code > 699 || !strings.HasPrefix(s, strconv.Itoa(r.Code)) {
			t.Fatalf("ParseReplyLine(%q) = %+v: bad code", line, r)
		}
		if !strings.HasSuffix(s, r.Text) || len(r.Text) > len(s)-3 {
			t.Fatalf("ParseReplyLine(%q) = %+v: text is not the end of the line", line, r)
		}
	})
}

func FuzzReplyFramer(f *testing.F) {
	f.Fuzz(func(t *testing.T, data string) {
		var fr ReplyFramer
		lines := strings.Split(data, "\n")
		total := 0
		for _, l := range lines {
			r, done := fr.Push(l)
			if !done {
				if !fr.Pending() {
					t.Fatalf("Push(%q) not done but not pending", l)
				}
				continue
			}
			if fr.Pending() {
				t.Fatalf("Push(%q) done but still pending", l)
			}
			if r.Code != 0 && (r.Code < 100 || r.Code > 699) {
				t.Fatalf("reply code %d", r.Code)
			}
			if len(r.Text) > maxReplyBytes {
				t.Fatalf("reply text of %d bytes, bound %d", len(r.Text), maxReplyBytes)
			}
			if n := strings.Count(r.Text, "\n") + 1; n > maxReplyLines || n > r.Lines {
				t.Fatalf("reply stores %d lines of %d, bound %d", n, r.Lines, maxReplyLines)
			}
			if r.Lines < 1 {
				t.Fatalf("reply of %d lines", r.Lines)
			}
			if len(r.Text) > len(data) {
				t.Fatalf("reply text of %d bytes from %d bytes of input", len(r.Text), len(data))
			}
			total += r.Lines
		}
		if total+fr.lines != len(lines) {
			t.Fatalf("%d lines in replies + %d pending; pushed %d", total, fr.lines, len(lines))
		}
		if len(fr.buf) > maxReplyBytes {
			t.Fatalf("pending text of %d bytes, bound %d", len(fr.buf), maxReplyBytes)
		}
	})
}

// checkEndpoint checks what every parsed endpoint must satisfy: a valid
// address that is never IPv4-mapped IPv6, no zone, and a port other than 0.
func checkEndpoint(t *testing.T, in string, ap netip.AddrPort) {
	t.Helper()
	a := ap.Addr()
	if !a.IsValid() || a.Is4In6() || a.Zone() != "" || ap.Port() == 0 {
		t.Fatalf("%q gave endpoint %v (Is4In6 %v, zone %q)", in, ap, a.Is4In6(), a.Zone())
	}
}

func FuzzParsePASV(f *testing.F) {
	f.Fuzz(func(t *testing.T, text string) {
		ap, err := ParsePASV(text)
		if err != nil {
			checkErrorText(t, err)
			return
		}
		checkEndpoint(t, text, ap)
		if !ap.Addr().Is4() {
			t.Fatalf("ParsePASV(%q) = %v, not IPv4", text, ap)
		}
		if back, err := ParsePASV(FormatPASV(ap)); err != nil || back != ap {
			t.Fatalf("ParsePASV(FormatPASV(%v)) = %v, %v", ap, back, err)
		}
	})
}

func FuzzParseLPSV(f *testing.F) {
	f.Fuzz(func(t *testing.T, text string) {
		ap, err := ParseLPSV(text)
		if err != nil {
			checkErrorText(t, err)
			return
		}
		checkEndpoint(t, text, ap)
		if back, err := ParseLPSV(formatLPSV(ap)); err != nil || back != ap {
			t.Fatalf("ParseLPSV(%q) = %v, %v; want %v", formatLPSV(ap), back, err, ap)
		}
	})
}

func FuzzParseEPSV(f *testing.F) {
	f.Fuzz(func(t *testing.T, text string) {
		port, err := ParseEPSV(text)
		if err != nil {
			checkErrorText(t, err)
			return
		}
		if port == 0 || !strings.Contains(text, strconv.Itoa(int(port))) {
			t.Fatalf("ParseEPSV(%q) = %d", text, port)
		}
		if back, err := ParseEPSV(formatEPSV(port)); err != nil || back != port {
			t.Fatalf("ParseEPSV(%q) = %v, %v; want %d", formatEPSV(port), back, err, port)
		}
	})
}

func FuzzParsePORT(f *testing.F) {
	f.Fuzz(func(t *testing.T, arg string) {
		ap, err := ParsePORT(arg)
		if err != nil {
			checkErrorText(t, err)
			return
		}
		checkEndpoint(t, arg, ap)
		if !ap.Addr().Is4() {
			t.Fatalf("ParsePORT(%q) = %v, not IPv4", arg, ap)
		}
		if back, err := ParsePORT(FormatPORT(ap)); err != nil || back != ap {
			t.Fatalf("ParsePORT(FormatPORT(%v)) = %v, %v", ap, back, err)
		}
	})
}

func FuzzParseEPRT(f *testing.F) {
	f.Fuzz(func(t *testing.T, arg string) {
		ap, err := ParseEPRT(arg)
		if err != nil {
			checkErrorText(t, err)
			return
		}
		checkEndpoint(t, arg, ap)
		if back, err := ParseEPRT(FormatEPRT(ap)); err != nil || back != ap {
			t.Fatalf("ParseEPRT(FormatEPRT(%v) = %q) = %v, %v", ap, FormatEPRT(ap), back, err)
		}
	})
}

func FuzzParseLPRT(f *testing.F) {
	f.Fuzz(func(t *testing.T, arg string) {
		ap, err := ParseLPRT(arg)
		if err != nil {
			checkErrorText(t, err)
			return
		}
		checkEndpoint(t, arg, ap)
		if back, err := ParseLPRT(formatLPRT(ap)); err != nil || back != ap {
			t.Fatalf("ParseLPRT(%q) = %v, %v; want %v", formatLPRT(ap), back, err, ap)
		}
	})
}

func FuzzParseTransferSize(f *testing.F) {
	f.Fuzz(func(t *testing.T, text string) {
		n, ok := ParseTransferSize(text)
		if !ok {
			if n != 0 {
				t.Fatalf("ParseTransferSize(%q) = %d, false", text, n)
			}
			return
		}
		if n < 0 || !strings.Contains(text, strconv.FormatInt(n, 10)) {
			t.Fatalf("ParseTransferSize(%q) = %d, true", text, n)
		}
		if m, ok := ParseSizeReply(strconv.FormatInt(n, 10)); !ok || m != n {
			t.Fatalf("ParseSizeReply(%d) = %d, %v", n, m, ok)
		}
	})
}

// FuzzEndpointRoundTrip formats arbitrary endpoints and parses them back.
func FuzzEndpointRoundTrip(f *testing.F) {
	f.Add([]byte{192, 168, 1, 2}, uint16(30000))
	f.Add([]byte{0x10, 0x80, 0, 0, 0, 0, 0, 0, 0, 8, 8, 0, 0x20, 0x0c, 0x41, 0x7a}, uint16(5282))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7}, uint16(6275))
	f.Fuzz(func(t *testing.T, b []byte, port uint16) {
		addr, ok := netip.AddrFromSlice(b)
		if !ok || port == 0 {
			return
		}
		e := netip.AddrPortFrom(addr.Unmap(), port)
		if e.Addr().Is4() {
			if got, err := ParsePORT(FormatPORT(e)); err != nil || got != e {
				t.Fatalf("ParsePORT(%q) = %v, %v; want %v", FormatPORT(e), got, err, e)
			}
			if got, err := ParsePASV(FormatPASV(e)); err != nil || got != e {
				t.Fatalf("ParsePASV(%q) = %v, %v; want %v", FormatPASV(e), got, err, e)
			}
		}
		if got, err := ParseEPRT(FormatEPRT(e)); err != nil || got != e {
			t.Fatalf("ParseEPRT(%q) = %v, %v; want %v", FormatEPRT(e), got, err, e)
		}
		if got, err := ParseLPRT(formatLPRT(e)); err != nil || got != e {
			t.Fatalf("ParseLPRT(%q) = %v, %v; want %v", formatLPRT(e), got, err, e)
		}
		if got, err := ParseEPSV(formatEPSV(port)); err != nil || got != port {
			t.Fatalf("ParseEPSV(%q) = %v, %v; want %d", formatEPSV(port), got, err, port)
		}
		// The mapped form of an IPv4 address comes back unmapped.
		if e.Addr().Is4() {
			mapped := netip.AddrPortFrom(netip.AddrFrom16(e.Addr().As16()), port)
			if got, err := ParseEPRT("|2|" + mapped.Addr().String() + "|" + strconv.Itoa(int(port)) + "|"); err != nil || got != e {
				t.Fatalf("ParseEPRT(mapped %v) = %v, %v; want %v", mapped, got, err, e)
			}
		}
	})
}
