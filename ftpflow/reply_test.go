package ftpflow

import (
	"fmt"
	"strings"
	"testing"
)

// Sources of the real texts below, cited per row:
//   vsftpd src      vsftpd postlogin.c and features.c (github.com/dagwieers/vsftpd)
//   vsftpd 3.0.2    client transcript, "220 (vsFTPd 3.0.2)", 50 GB download test
//   proftpd htb     ProFTPD transcripts, HackTheBox write-ups ("220 ProFTPD Server (Internal FTP) [...]")
//   pure-ftpd htb   Pure-FTPd transcript, HTB "Ten" write-up ("Welcome to Pure-FTPd [privsep] [TLS]")
//   pure-ftpd ctf   Pure-FTPd transcript in a CTF write-up (150-Accepted data connection / kbytes to download)
//   iis ctf         IIS transcript, CTF write-up "The first strike" (220 Microsoft FTP Service)
//   iis ms.com      ftp.microsoft.com transcript in a FlashFXP forum post (2007)
//   filezilla log   FileZilla client log against FileZilla Server 0.9.60 beta
//   zeek            zeek/zeek testing/btest Baseline scripts.base.protocols.ftp.*
//   msf #5542       Mac OS X Server banner quoted in rapid7/metasploit-framework PR 5542
//   rfc959          RFC 959 section 4.2 example

func TestParseReplyLine(t *testing.T) {
	tests := []struct {
		name string
		line string
		want ReplyLine
	}{
		{"vsftpd 3.0.2/227", "227 Entering Passive Mode (192,168,88,72,38,232).",
			ReplyLine{227, true, false, "Entering Passive Mode (192,168,88,72,38,232)."}},
		{"vsftpd src/211-", "211-Features:", ReplyLine{211, true, true, "Features:"}},
		{"vsftpd src/feature line", " EPRT", ReplyLine{Text: " EPRT"}},
		{"vsftpd src/211 End", "211 End", ReplyLine{211, true, false, "End"}},
		{"vsftpd 3.0.2/220", "220 (vsFTPd 3.0.2)", ReplyLine{220, true, false, "(vsFTPd 3.0.2)"}},
		{"proftpd htb/220", "220 ProFTPD Server (Internal FTP) [10.129.201.127]",
			ReplyLine{220, true, false, "ProFTPD Server (Internal FTP) [10.129.201.127]"}},
		{"proftpd htb/150", "150 Opening BINARY mode data connection for mynotes.txt (153 bytes)",
			ReplyLine{150, true, false, "Opening BINARY mode data connection for mynotes.txt (153 bytes)"}},
		{"pure-ftpd htb/220 dashes", "220---------- Welcome to Pure-FTPd [privsep] [TLS] ----------",
			ReplyLine{220, true, true, "--------- Welcome to Pure-FTPd [privsep] [TLS] ----------"}},
		{"pure-ftpd htb/229", "229 Extended Passive mode OK (|||3738|)",
			ReplyLine{229, true, false, "Extended Passive mode OK (|||3738|)"}},
		{"pure-ftpd htb/226-", "226-Options: -l", ReplyLine{226, true, true, "Options: -l"}},
		{"iis ctf/125", "125 Data connection already open; Transfer starting.",
			ReplyLine{125, true, false, "Data connection already open; Transfer starting."}},
		{"filezilla log/215", "215 UNIX emulated by FileZilla", ReplyLine{215, true, false, "UNIX emulated by FileZilla"}},
		{"zeek/99 PASV invalid", "99 PASV invalid", ReplyLine{Text: "99 PASV invalid"}},
		{"zeek/SYST not supported", "SYST not supported", ReplyLine{Text: "SYST not supported"}},
		{"zeek/230_no_space", "230_no_space", ReplyLine{Text: "230_no_space"}},
		{"rfc959/inner digits", "  234 A line beginning with numbers", ReplyLine{Text: "  234 A line beginning with numbers"}},
		{"bare code", "227", ReplyLine{227, true, false, ""}},
		{"code and space", "220 ", ReplyLine{220, true, false, ""}},
		{"code and hyphen", "220-", ReplyLine{220, true, true, ""}},
		{"stray CR", "226 Transfer complete.\r", ReplyLine{226, true, false, "Transfer complete."}},
		{"bare code CR", "221\r", ReplyLine{221, true, false, ""}},
		{"text keeps extra space", "200  two spaces", ReplyLine{200, true, false, " two spaces"}},
		{"lowest", "100 x", ReplyLine{100, true, false, "x"}},
		{"highest", "599 x", ReplyLine{599, true, false, "x"}},
		{"first digit 0", "099 x", ReplyLine{Text: "099 x"}},
		{"rfc2228/protected", "631 FwMDAEe0Wk8Qj0Zx", ReplyLine{631, true, false, "FwMDAEe0Wk8Qj0Zx"}},
		{"highest with 6yz", "699 x", ReplyLine{699, true, false, "x"}},
		{"first digit 7", "700 x", ReplyLine{Text: "700 x"}},
		{"four digits", "2270 x", ReplyLine{Text: "2270 x"}},
		{"two digits", "22", ReplyLine{Text: "22"}},
		{"tab separator", "227\tx", ReplyLine{Text: "227\tx"}},
		{"empty", "", ReplyLine{}},
		{"binary", "\x16\x03\x03\x00", ReplyLine{Text: "\x16\x03\x03\x00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseReplyLine(tt.line); got != tt.want {
				t.Errorf("ParseReplyLine(%q) = %+v; want %+v", tt.line, got, tt.want)
			}
		})
	}
}

// pushAll feeds lines to a new framer and returns the replies it completes and
// whether a reply is left pending.
func pushAll(lines []string) (replies []Reply, pending bool) {
	var f ReplyFramer
	for _, l := range lines {
		if r, done := f.Push(l); done {
			replies = append(replies, r)
		}
	}
	return replies, f.Pending()
}

func TestReplyFramer(t *testing.T) {
	tests := []struct {
		name    string
		lines   []string
		want    []Reply
		pending bool
	}{
		{
			name:  "vsftpd src/FEAT",
			lines: []string{"211-Features:", " EPRT", " EPSV", " MDTM", " PASV", " REST STREAM", " SIZE", " TVFS", "211 End"},
			want:  []Reply{{Code: 211, Text: "Features:\n EPRT\n EPSV\n MDTM\n PASV\n REST STREAM\n SIZE\n TVFS\nEnd", Lines: 9}},
		},
		{
			name: "pure-ftpd htb/220 banner",
			lines: []string{
				"220---------- Welcome to Pure-FTPd [privsep] [TLS] ----------",
				"220-You are user number 1 of 50 allowed.",
				"220-Local time is now 20:47. Server port: 21.",
				"220-This is a private system - No anonymous login",
				"220-IPv6 connections are also welcome on this server.",
				"220 You will be disconnected after 15 minutes of inactivity.",
				"331 User ten-299467c0 OK. Password required",
			},
			want: []Reply{
				{Code: 220, Lines: 6, Text: "--------- Welcome to Pure-FTPd [privsep] [TLS] ----------\n" +
					"220-You are user number 1 of 50 allowed.\n" +
					"220-Local time is now 20:47. Server port: 21.\n" +
					"220-This is a private system - No anonymous login\n" +
					"220-IPv6 connections are also welcome on this server.\n" +
					"You will be disconnected after 15 minutes of inactivity."},
				{Code: 331, Lines: 1, Text: "User ten-299467c0 OK. Password required"},
			},
		},
		{
			name:  "pure-ftpd ctf/150 and 226 pairs",
			lines: []string{"150-Accepted data connection", "150 91566.2 kbytes to download", "226-File successfully transferred", "226 0.603 seconds (measured here), 148.29 Mbytes per second"},
			want: []Reply{
				{Code: 150, Lines: 2, Text: "Accepted data connection\n91566.2 kbytes to download"},
				{Code: 226, Lines: 2, Text: "File successfully transferred\n0.603 seconds (measured here), 148.29 Mbytes per second"},
			},
		},
		{
			name:  "filezilla log/220 banner",
			lines: []string{"220-FileZilla Server 0.9.60 beta", "220-written by Tim Kosse (tim.kosse@filezilla-project.org)", "220 Please visit https://filezilla-project.org/"},
			want: []Reply{{Code: 220, Lines: 3, Text: "FileZilla Server 0.9.60 beta\n" +
				"220-written by Tim Kosse (tim.kosse@filezilla-project.org)\n" +
				"Please visit https://filezilla-project.org/"}},
		},
		{
			name:  "filezilla log/FEAT",
			lines: []string{"211-Features:", " MDTM", " REST STREAM", " SIZE", " MLST type*;size*;modify*;", " MLSD", " UTF8", " CLNT", " MFMT", " EPSV", " EPRT", "211 End"},
			want:  []Reply{{Code: 211, Lines: 12, Text: "Features:\n MDTM\n REST STREAM\n SIZE\n MLST type*;size*;modify*;\n MLSD\n UTF8\n CLNT\n MFMT\n EPSV\n EPRT\nEnd"}},
		},
		{
			name:  "iis ms.com/230",
			lines: []string{"230-Welcome to FTP.MICROSOFT.COM. Also visit http://www.microsoft.com/downloads.", "230 Anonymous user logged in."},
			want:  []Reply{{Code: 230, Lines: 2, Text: "Welcome to FTP.MICROSOFT.COM. Also visit http://www.microsoft.com/downloads.\nAnonymous user logged in."}},
		},
		{
			name: "msf #5542/Mac OS X Server banner",
			lines: []string{
				"220--------------------------------------------------------------------------------",
				`220-This is the "Banner" message for the Mac OS X Server's FTP server process.`,
				"220-",
				"220-              FTP clients will receive this message immediately",
				"220-              before being prompted for a name and password.",
				"220-",
				"220-PLEASE NOTE:",
				"220-",
				"220-       Some FTP clients will exhibit problems if you make this file too long.",
				"220-",
				"220-",
				"220-To customize this message for your system:",
				"220-",
				"220-  -  Launch the TextEdit application.",
				`220-  -  Select "Open" from the "File" menu.`,
				`220-  -  Type "/Library/FTPServer/Messages/banner.txt" into the "Go to" textbox.`,
				`220-  -  Click the "Open" button.`,
				"220--------------------------------------------------------------------------------",
				"220-",
				"220 test-apps FTP server (Version:  Mac OS X Server) ready.",
			},
			want: []Reply{{Code: 220, Lines: 20, Text: strings.Repeat("-", 79) + "\n" +
				`220-This is the "Banner" message for the Mac OS X Server's FTP server process.` + "\n" +
				"220-\n" +
				"220-              FTP clients will receive this message immediately\n" +
				"220-              before being prompted for a name and password.\n" +
				"220-\n" +
				"220-PLEASE NOTE:\n" +
				"220-\n" +
				"220-       Some FTP clients will exhibit problems if you make this file too long.\n" +
				"220-\n" +
				"220-\n" +
				"220-To customize this message for your system:\n" +
				"220-\n" +
				"220-  -  Launch the TextEdit application.\n" +
				`220-  -  Select "Open" from the "File" menu.` + "\n" +
				`220-  -  Type "/Library/FTPServer/Messages/banner.txt" into the "Go to" textbox.` + "\n" +
				`220-  -  Click the "Open" button.` + "\n" +
				"220-" + strings.Repeat("-", 79) + "\n" +
				"220-\n" +
				"test-apps FTP server (Version:  Mac OS X Server) ready."}},
		},
		{
			// zeek ftp-multiline-reply (trace ipv6-multiline-reply): a 220-
			// line, ten continuation lines without a code (zeek reports them
			// with code 0), then "220 FTP server ready." The baseline keeps
			// only the first line's text; the ten inner texts here stand in.
			name:  "zeek/JPIX twelve-line 220",
			lines: jpixLines(),
			want: []Reply{
				{Code: 220, Lines: 12, Text: "Welcome to FTP.JPIX.ad.jp\n" + strings.Repeat("  inner banner line\n", 10) + "FTP server ready."},
				{Code: 331, Lines: 1, Text: "Guest login ok, send your email address as password."},
			},
		},
		{
			// The same twelve lines sent each as a complete "220 " reply:
			// twelve replies, never one merged banner.
			name:  "twelve single-line 220 replies",
			lines: twelve220s(),
			want:  twelve220Replies(),
		},
		{
			// A 227 inside a multi-line reply: the endpoint is on the last
			// line (constructed; RFC 959 allows any 2yz reply to be multi-line).
			name:  "227 multi-line",
			lines: []string{"227-Passive address rewritten by the firewall", "227 Entering Passive Mode (192,0,2,10,195,80)."},
			want:  []Reply{{Code: 227, Lines: 2, Text: "Passive address rewritten by the firewall\nEntering Passive Mode (192,0,2,10,195,80)."}},
		},
		{
			name:  "rfc959/section 4.2 example",
			lines: []string{"123-First line", "Second line", "  234 A line beginning with numbers", "123 The last line"},
			want:  []Reply{{Code: 123, Lines: 4, Text: "First line\nSecond line\n  234 A line beginning with numbers\nThe last line"}},
		},
		{
			name:  "other code with space is an inner line",
			lines: []string{"211-Status of ftp.example", "213 not the end", "230-nor this", "211 End of status"},
			want:  []Reply{{Code: 211, Lines: 4, Text: "Status of ftp.example\n213 not the end\n230-nor this\nEnd of status"}},
		},
		{
			name:  "same code with hyphen is an inner line",
			lines: []string{"220-a", "220-b", "220 c"},
			want:  []Reply{{Code: 220, Lines: 3, Text: "a\n220-b\nc"}},
		},
		{
			name:  "bare code ends the reply",
			lines: []string{"220-Hello", "220"},
			want:  []Reply{{Code: 220, Lines: 2, Text: "Hello\n"}},
		},
		{
			name:  "stray CR on every line",
			lines: []string{"211-Features:\r", " SIZE\r", "211 End\r"},
			want:  []Reply{{Code: 211, Lines: 3, Text: "Features:\n SIZE\nEnd"}},
		},
		{
			name:  "zeek/code-less lines outside a reply",
			lines: []string{"230 USER OK", "SYST not supported", "99 PASV invalid", "230_no_space"},
			want: []Reply{
				{Code: 230, Lines: 1, Text: "USER OK"},
				{Code: 0, Lines: 1, Text: "SYST not supported"},
				{Code: 0, Lines: 1, Text: "99 PASV invalid"},
				{Code: 0, Lines: 1, Text: "230_no_space"},
			},
		},
		{
			name:  "empty line outside a reply",
			lines: []string{""},
			want:  []Reply{{Code: 0, Lines: 1, Text: ""}},
		},
		{
			name:    "unfinished multi-line reply",
			lines:   []string{"220-Welcome", "still talking"},
			want:    nil,
			pending: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, pending := pushAll(tt.lines)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d replies %+v; want %d %+v", len(got), got, len(tt.want), tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("reply %d = %+v; want %+v", i, got[i], tt.want[i])
				}
			}
			if pending != tt.pending {
				t.Errorf("Pending() = %v; want %v", pending, tt.pending)
			}
		})
	}
}

func jpixLines() []string {
	lines := []string{"220-Welcome to FTP.JPIX.ad.jp"}
	for i := 0; i < 10; i++ {
		lines = append(lines, "  inner banner line")
	}
	return append(lines, "220 FTP server ready.", "331 Guest login ok, send your email address as password.")
}

func twelve220s() []string {
	lines := make([]string, 12)
	for i := range lines {
		lines[i] = fmt.Sprintf("220 banner line %d", i+1)
	}
	return lines
}

func twelve220Replies() []Reply {
	rs := make([]Reply, 12)
	for i := range rs {
		rs[i] = Reply{Code: 220, Lines: 1, Text: fmt.Sprintf("banner line %d", i+1)}
	}
	return rs
}

func TestReplyFramerPending(t *testing.T) {
	var f ReplyFramer
	if f.Pending() {
		t.Fatal("zero ReplyFramer is pending")
	}
	steps := []struct {
		line    string
		done    bool
		pending bool
	}{
		{"227 Entering Passive Mode (10,0,0,5,195,80).", true, false},
		{"220-first", false, true},
		{"more", false, true},
		{"221 other code", false, true},
		{"220 last", true, false},
		{"no code", true, false},
	}
	for _, s := range steps {
		_, done := f.Push(s.line)
		if done != s.done || f.Pending() != s.pending {
			t.Errorf("Push(%q): done %v, Pending() %v; want %v, %v", s.line, done, f.Pending(), s.done, s.pending)
		}
	}
}

func TestReplyFramerBounds(t *testing.T) {
	t.Run("many lines", func(t *testing.T) {
		lines := []string{"214-The following commands are recognized:"}
		for i := 0; i < 3*maxReplyLines; i++ {
			lines = append(lines, " CMD"+fmt.Sprint(i))
		}
		lines = append(lines, "214 Help OK.", "200 next")
		got, pending := pushAll(lines)
		if len(got) != 2 || pending {
			t.Fatalf("got %d replies, pending %v; want 2, false", len(got), pending)
		}
		r := got[0]
		if r.Code != 214 || r.Lines != 3*maxReplyLines+2 || !r.Truncated {
			t.Errorf("reply = {Code %d Lines %d Truncated %v}; want {214 %d true}", r.Code, r.Lines, r.Truncated, 3*maxReplyLines+2)
		}
		if n := strings.Count(r.Text, "\n") + 1; n != maxReplyLines {
			t.Errorf("stored %d lines; want %d", n, maxReplyLines)
		}
		if got[1] != (Reply{Code: 200, Lines: 1, Text: "next"}) {
			t.Errorf("reply after a truncated one = %+v", got[1])
		}
	})
	t.Run("many bytes", func(t *testing.T) {
		long := strings.Repeat("x", 10<<10)
		lines := []string{"211-big"}
		for i := 0; i < 20; i++ {
			lines = append(lines, long)
		}
		lines = append(lines, "211 End")
		got, _ := pushAll(lines)
		if len(got) != 1 {
			t.Fatalf("got %d replies; want 1", len(got))
		}
		r := got[0]
		if len(r.Text) != maxReplyBytes || !r.Truncated || r.Lines != 22 {
			t.Errorf("reply = {len(Text) %d Lines %d Truncated %v}; want {%d 22 true}", len(r.Text), r.Lines, r.Truncated, maxReplyBytes)
		}
	})
	t.Run("one 100 KB line", func(t *testing.T) {
		line := "500 " + strings.Repeat("A", 100<<10)
		got, _ := pushAll([]string{line})
		if len(got) != 1 {
			t.Fatalf("got %d replies; want 1", len(got))
		}
		r := got[0]
		if r.Code != 500 || len(r.Text) != maxReplyBytes || !r.Truncated || r.Lines != 1 {
			t.Errorf("reply = {Code %d len(Text) %d Lines %d Truncated %v}; want {500 %d 1 true}", r.Code, len(r.Text), r.Lines, r.Truncated, maxReplyBytes)
		}
	})
	t.Run("100 KB of A without code", func(t *testing.T) {
		got, _ := pushAll([]string{strings.Repeat("A", 100<<10)})
		if len(got) != 1 || got[0].Code != 0 || len(got[0].Text) != maxReplyBytes || !got[0].Truncated {
			t.Errorf("got %d replies, first {Code %d len(Text) %d Truncated %v}", len(got), got[0].Code, len(got[0].Text), got[0].Truncated)
		}
	})
	t.Run("exactly at the limit", func(t *testing.T) {
		line := "200 " + strings.Repeat("B", maxReplyBytes)
		got, _ := pushAll([]string{line})
		if len(got[0].Text) != maxReplyBytes || got[0].Truncated {
			t.Errorf("reply of exactly %d bytes: len(Text) %d Truncated %v; want not truncated", maxReplyBytes, len(got[0].Text), got[0].Truncated)
		}
	})
}

// TestReplyFramerTextIsCopied checks a reply does not alias the framer's
// buffer: the next reply must not change an earlier one.
func TestReplyFramerTextIsCopied(t *testing.T) {
	var f ReplyFramer
	f.Push("211-aaaa")
	r1, _ := f.Push("211 bbbb")
	f.Push("211-cccc")
	f.Push("211 dddd")
	if r1.Text != "aaaa\nbbbb" {
		t.Errorf("first reply changed to %q", r1.Text)
	}
}

// TestReplyFramerFlush: Flush returns an open multi-line reply marked
// Unterminated and leaves the framer ready; with nothing open it returns
// nothing.
func TestReplyFramerFlush(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  Reply
		ok    bool
	}{
		{"open", []string{"211-Features:", " EPSV"}, Reply{Code: 211, Text: "Features:\n EPSV", Lines: 2, Unterminated: true}, true},
		{"closed", []string{"211-Features:", "211 End"}, Reply{}, false},
		{"nothing", nil, Reply{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f ReplyFramer
			for _, l := range tt.lines {
				f.Push(l)
			}
			got, ok := f.Flush()
			if got != tt.want || ok != tt.ok || f.Pending() {
				t.Errorf("Flush() = %+v, %v (pending %v), want %+v, %v", got, ok, f.Pending(), tt.want, tt.ok)
			}
		})
	}
}
