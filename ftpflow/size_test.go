package ftpflow

import (
	"strings"
	"testing"
)

// Sources as in reply_test.go and endpoint_test.go, plus:
//   proftpd src   ProFTPD src/data.c: "Opening %s mode data connection for %s (%" PR_LU " bytes)"
//   curl src      curl lib/ftp.c, comment in ftp_state_get_resp listing the 150 forms seen in the wild

func TestParseTransferSize(t *testing.T) {
	tests := []struct {
		name string
		text string
		n    int64
		ok   bool
	}{
		{"vsftpd 3.0.2/50 GB", "Opening BINARY mode data connection for /opt/test/big/50g_file (53687091200 bytes).", 53687091200, true},
		{"vsftpd 2.0.4", "Opening BINARY mode data connection for /home/1mb.txt (1038398 bytes).", 1038398, true},
		{"vsftpd src/ASCII", "Opening ASCII mode data connection for notes.txt (1234 bytes).", 1234, true},
		{"proftpd htb", "Opening BINARY mode data connection for mynotes.txt (153 bytes)", 153, true},
		{"curl src/A", "Opening BINARY mode data connection for /etc/passwd (2241 bytes).", 2241, true},
		{"curl src/C", "ASCII data connection for /bin/ls (137.167.104.91,37445) (0 bytes).", 0, true},
		{"curl src/D", "Opening ASCII mode data connection for [file] (0.0.0.0,0) (545 bytes)", 545, true},
		{"capitalised Bytes", "Opening BINARY mode data connection for f.bin (1234 Bytes).", 1234, true},
		{"singular", "Opening BINARY mode data connection for one.bin (1 byte).", 1, true},
		{"several spaces", "Opening BINARY mode data connection for f (42  bytes).", 42, true},
		{"name with a size in it", "Opening BINARY mode data connection for a (9 bytes).txt (1234 bytes).", 1234, true},
		{"framed multi-line text", "Accepted data connection\nOpening BINARY mode data connection for f (77 bytes).", 77, true},
		{"largest int64", "for f (9223372036854775807 bytes)", 9223372036854775807, true},

		// No exact size announced.
		{"pure-ftpd ctf/kbytes", "Accepted data connection\n91566.2 kbytes to download", 0, false},
		{"pure-ftpd htb/150", "Accepted data connection", 0, false},
		{"iis ctf/125", "Data connection already open; Transfer starting.", 0, false},
		{"iis htb/150", "Opening BINARY mode data connection.", 0, false},
		{"iis ms.com/LIST", "Opening ASCII mode data connection for /bin/ls.", 0, false},
		{"filezilla blog/RETR", `Opening data channel for file download from server of "/Pluralsight Logo.PNG"`, 0, false},
		{"filezilla log/LIST", `Opening data channel for directory listing of "/"`, 0, false},
		{"proftpd src/no size", "Opening BINARY mode data connection for edge_app_1219.tar", 0, false},
		{"proftpd htb/LIST", "Opening ASCII mode data connection for file list", 0, false},
		{"vsftpd src/LIST", "Here comes the directory listing.", 0, false},
		{"vsftpd src/STOR", "Ok to send data.", 0, false},
		{"negative", "for f (-5 bytes)", 0, false},
		{"no space", "for f (12bytes)", 0, false},
		{"no closing parenthesis", "for f (1234 bytes", 0, false},
		{"no opening parenthesis", "for f 1234 bytes)", 0, false},
		{"kbytes in parentheses", "for f (1234 kbytes)", 0, false},
		{"over int64", "for f (9223372036854775808 bytes)", 0, false},
		{"20 digits", "for f (99999999999999999999 bytes)", 0, false},
		{"hundreds of digits", "for f (" + strings.Repeat("9", 300) + " bytes)", 0, false},
		{"empty", "", 0, false},
		{"100 KB of A", strings.Repeat("A", 100<<10), 0, false},
		{"100 KB of parentheses", strings.Repeat("(", 100<<10), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, ok := ParseTransferSize(tt.text)
			if n != tt.n || ok != tt.ok {
				t.Errorf("ParseTransferSize(%q) = %d, %v; want %d, %v", clipForLog(tt.text), n, ok, tt.n, tt.ok)
			}
		})
	}
}

func TestParseSizeReply(t *testing.T) {
	tests := []struct {
		name string
		text string
		n    int64
		ok   bool
	}{
		{"filezilla blog", "5817", 5817, true},
		{"rfc3659", "1234", 1234, true},
		{"zero", "0", 0, true},
		{"vsftpd 3.0.2/50 GB", "53687091200", 53687091200, true},
		{"spaces", " 1234 ", 1234, true},
		{"stray CR", "1234\r", 1234, true},
		{"leading zeros", "0001234", 1234, true},
		{"largest int64", "9223372036854775807", 9223372036854775807, true},

		{"empty", "", 0, false},
		{"STAT text", "Status of /etc/passwd:", 0, false},
		{"words", "File size: 1234", 0, false},
		{"negative", "-5", 0, false},
		{"plus", "+5", 0, false},
		{"decimal", "1.5", 0, false},
		{"two numbers", "12 34", 0, false},
		{"over int64", "9223372036854775808", 0, false},
		{"20 digits", "12345678901234567890", 0, false},
		{"hundreds of digits", strings.Repeat("9", 300), 0, false},
		{"100 KB of A", strings.Repeat("A", 100<<10), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, ok := ParseSizeReply(tt.text)
			if n != tt.n || ok != tt.ok {
				t.Errorf("ParseSizeReply(%q) = %d, %v; want %d, %v", clipForLog(tt.text), n, ok, tt.n, tt.ok)
			}
		})
	}
}
