package ftpflow

import (
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		name string
		line string
		want Command
	}{
		// RFC 959 section 5.3.1 syntax, as every client sends it.
		{"rfc959/USER", "USER anonymous", Command{"USER", "anonymous"}},
		{"rfc959/PASV", "PASV", Command{"PASV", ""}},
		{"rfc959/PORT", "PORT 192,168,0,100,217,150", Command{"PORT", "192,168,0,100,217,150"}},
		{"rfc959/RETR", "RETR libssh-0.5.2.tar.gz", Command{"RETR", "libssh-0.5.2.tar.gz"}},
		// Zeek trace ftp/ipv6-multiline-reply: the client's EPSV.
		{"zeek/EPSV", "EPSV", Command{"EPSV", ""}},
		// RFC 2428 section 2 example.
		{"rfc2428/EPRT", "EPRT |2|1080::8:800:200C:417A|5282|", Command{"EPRT", "|2|1080::8:800:200C:417A|5282|"}},
		// RFC 2428 section 4: EPSV with a protocol number, and EPSV ALL.
		{"rfc2428/EPSV-ALL", "EPSV ALL", Command{"EPSV", "ALL"}},
		// RFC 1639 example.
		{"rfc1639/LPRT", "LPRT 4,4,132,235,1,2,2,24,131", Command{"LPRT", "4,4,132,235,1,2,2,24,131"}},
		// RFC 4217 sections 4, 8, 9: FTP over TLS.
		{"rfc4217/AUTH", "AUTH TLS", Command{"AUTH", "TLS"}},
		{"rfc4217/PBSZ", "PBSZ 0", Command{"PBSZ", "0"}},
		{"rfc4217/PROT", "PROT P", Command{"PROT", "P"}},
		// RFC 3659 section 4: SIZE, and MLSD without argument.
		{"rfc3659/SIZE", "SIZE /Pluralsight Logo.PNG", Command{"SIZE", "/Pluralsight Logo.PNG"}},
		// Windows ftp.exe sends OPTS UTF8 before logging in to IIS.
		{"windows/OPTS", "OPTS UTF8 ON", Command{"OPTS", "UTF8 ON"}},
		// Lower case verbs are legal (RFC 959 section 5.3: case-insensitive).
		{"lowercase", "retr file.txt", Command{"RETR", "file.txt"}},
		{"mixed-case", "Stor up.bin", Command{"STOR", "up.bin"}},
		{"X-verb", "XMKD newdir", Command{"XMKD", "newdir"}},
		{"stray CR", "NOOP\r", Command{"NOOP", ""}},
		{"stray CR with arg", "CWD /pub\r", Command{"CWD", "/pub"}},
		{"several spaces", "RETR   spaced", Command{"RETR", "spaced"}},
		{"trailing space kept", "RETR name ", Command{"RETR", "name "}},
		{"inner spaces kept", "SITE CHMOD 644 a b", Command{"SITE", "CHMOD 644 a b"}},
		{"verb and spaces only", "LIST ", Command{"LIST", ""}},
		{"long junk verb", "TYPEEEEEEE I", Command{"TYPEEEEEEE", "I"}},
		{"16 letters", strings.Repeat("A", 16), Command{strings.Repeat("A", 16), ""}},
		// BSD-derived ftp clients send Telnet IP and Synch (IAC IP IAC DM)
		// before ABOR, as RFC 959 section 4.1.3 asks; vsftpd's handle_sigurg
		// strips the same four bytes.
		{"telnet synch ABOR", "\xff\xf4\xff\xf2ABOR", Command{"ABOR", ""}},
		{"telnet DO option", "\xff\xfd\x01NOOP", Command{"NOOP", ""}},
		{"non-ASCII arg", "RETR f\xc3\xa9.txt", Command{"RETR", "f\xc3\xa9.txt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCommand(tt.line)
			if err != nil || got != tt.want {
				t.Errorf("ParseCommand(%q) = %+v, %v; want %+v", tt.line, got, err, tt.want)
			}
		})
	}
}

func TestParseCommandRejects(t *testing.T) {
	tests := []struct {
		name string
		line string
	}{
		{"empty", ""},
		{"CR only", "\r"},
		{"leading space", " RETR x"},
		{"digits", "1234"},
		{"reply line on the wrong side", "227 Entering Passive Mode (1,2,3,4,5,6)"},
		{"verb with digit", "RETR2 x"},
		{"tab separator", "RETR\tfile"},
		{"17 letters", strings.Repeat("A", 17)},
		{"binary", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"}, // a TLS ClientHello
		{"NUL", "\x00\x00"},
		{"lone IAC", "\xff"},
		{"UTF-8 verb", "RÉTR x"},
		{"100 KB of A", strings.Repeat("A", 100<<10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCommand(tt.line)
			if err == nil {
				t.Fatalf("ParseCommand(%q) = %+v, nil; want error", clipForLog(tt.line), got)
			}
			checkErrorText(t, err)
		})
	}
}

// maxErrorLen bounds a parser error message: the quoted input is cut at
// maxQuoteLen bytes, each escaped to at most 4 characters, and an error quotes
// at most two pieces of input.
const maxErrorLen = 1024

// checkErrorText checks the shape every parser error must have: one line,
// bounded length, starting with the function name.
func checkErrorText(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	if strings.ContainsAny(msg, "\n\r") {
		t.Errorf("error %q spans lines", msg)
	}
	if len(msg) > maxErrorLen {
		t.Errorf("error is %d bytes long, want it bounded: %.100q", len(msg), msg)
	}
	if !strings.HasPrefix(msg, "Parse") {
		t.Errorf("error %q does not name the parser", msg)
	}
}

func clipForLog(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

func TestQuoteBounds(t *testing.T) {
	if got, want := quote("abc"), `"abc"`; got != want {
		t.Errorf("quote(%q) = %s; want %s", "abc", got, want)
	}
	long := strings.Repeat("A", 100<<10)
	got := quote(long)
	if want := `"` + strings.Repeat("A", maxQuoteLen) + `"...`; got != want {
		t.Errorf("quote(100 KB) = %.100s; want %s", got, want)
	}
	if got := quote("a\nb\x00"); got != `"a\nb\x00"` {
		t.Errorf("quote escapes = %s", got)
	}
}
