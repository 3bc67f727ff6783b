package ftpflow

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// Sources of the real texts below (see also reply_test.go):
//   brief           reply texts listed in the ftpflow parser brief, as observed from each server
//   vsftpd 3.0.2    client transcript against "220 (vsFTPd 3.0.2)"
//   vsftpd 2.0.4    Huawei router FTP client manual, transcript against "220 (vsFTPd 2.0.4)"
//   pure-ftpd ctf   CTF write-up transcript (150-Accepted data connection, kbytes to download)
//   pure-ftpd htb   HTB "Ten" write-up; porkbun pixie-ftp blog transcript
//   proftpd htb     HTB academy transcripts, "220 ProFTPD Server (Internal FTP)"
//   proftpd src     ProFTPD modules/mod_core.c: "Entering Passive Mode (%s,%u,%u)."
//   iis ctf         CTF write-up "The first strike", 220 Microsoft FTP Service
//   iis htb         HTB write-ups against IIS (220 Microsoft FTP Service, Windows_NT)
//   filezilla log   FileZilla client log against FileZilla Server 0.9.60 beta
//   filezilla blog  Pluralsight-logo transcript against FileZilla Server ("UNIX emulated by FileZilla")
//   flashfxp forum  FlashFXP session log against ftp.microsoft.com (2007)
//   potplayer forum vsftpd forum post: PotPlayer sending PORT and LPRT
//   zeek            zeek/zeek testing/btest/bifs/parse_ftp.zeek and protocols/ftp baselines
//   factor src      Factor's ftp server source comment: "EPRT |2|::1|62138|", "LPRT 6,16,...,1,2,242,186"
//   apache ftpsrv   Apache FtpServer LPRT command javadoc example
//   rfcNNNN         the example in that RFC

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func TestParsePASV(t *testing.T) {
	tests := []struct {
		name string
		text string
		want netip.AddrPort
	}{
		{"brief/vsftpd", "Entering Passive Mode (192,168,1,2,117,48).", ap("192.168.1.2:30000")},
		{"vsftpd 3.0.2", "Entering Passive Mode (192,168,88,72,38,232).", ap("192.168.88.72:9960")},
		{"brief/iis", "Entering Passive Mode (10,0,0,5,195,80).", ap("10.0.0.5:50000")},
		{"iis ctf", "Entering Passive Mode (192,168,253,245,192,211).", ap("192.168.253.245:49363")},
		{"brief/filezilla", "Entering Passive Mode (172,16,40,222,90,160)", ap("172.16.40.222:23200")},
		{"filezilla blog", "Entering Passive Mode (192,168,10,196,227,188)", ap("192.168.10.196:58300")},
		{"filezilla log", "Entering Passive Mode (127,0,0,1,195,99)", ap("127.0.0.1:50019")},
		{"pure-ftpd ctf", "Entering Passive Mode (127,0,0,1,117,48)", ap("127.0.0.1:30000")},
		{"proftpd src", "Entering Passive Mode (10,129,201,127,117,48).", ap("10.129.201.127:30000")},
		// zeek passes the whole line, code included, to parse_ftp_pasv.
		{"zeek/whole line", "227 Entering Passive Mode (192,168,0,2,1,1)", ap("192.168.0.2:257")},
		// RFC 1123 section 4.1.2.6: do not rely on the parentheses.
		{"no parentheses", "Entering Passive Mode 192,168,1,2,117,48", ap("192.168.1.2:30000")},
		{"equals form", "Entering Passive Mode =192,168,1,2,117,48", ap("192.168.1.2:30000")},
		{"text after", "Entering Passive Mode (192,168,1,2,117,48) - use it quickly", ap("192.168.1.2:30000")},
		{"spaces after commas", "Entering Passive Mode (10, 0, 0, 5, 195, 80)", ap("10.0.0.5:50000")},
		{"spaces around commas", "Entering Passive Mode (10 ,0 , 0,5 ,195, 80)", ap("10.0.0.5:50000")},
		{"leading zeros", "Entering Passive Mode (010,000,000,005,195,080)", ap("10.0.0.5:50000")},
		{"single numbers before", "Passive 1 (10,0,0,5,195,80)", ap("10.0.0.5:50000")},
		{"short run before", "v1,2 Entering Passive Mode (10,0,0,5,195,80)", ap("10.0.0.5:50000")},
		{"multi-line text", "Passive address rewritten\nEntering Passive Mode (192,0,2,10,195,80).", ap("192.0.2.10:50000")},
		// A misconfigured server can announce 0.0.0.0: that is a finding for
		// the analysis, not a parse error.
		{"unspecified address", "Entering Passive Mode (0,0,0,0,195,80).", ap("0.0.0.0:50000")},
		{"highest", "Entering Passive Mode (255,255,255,255,255,255)", ap("255.255.255.255:65535")},
		{"port 1", "Entering Passive Mode (1,2,3,4,0,1)", ap("1.2.3.4:1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePASV(tt.text)
			if err != nil || got != tt.want || !got.Addr().Is4() {
				t.Errorf("ParsePASV(%q) = %v, %v; want %v", tt.text, got, err, tt.want)
			}
		})
	}
}

func TestParsePASVRejects(t *testing.T) {
	tests := []struct {
		name, text, inErr string
	}{
		{"octet 256", "Entering Passive Mode (192,168,1,256,117,48).", "256 out of range"},
		{"port byte 256", "Entering Passive Mode (192,168,1,2,256,48).", "256 out of range"},
		{"five numbers", "Entering Passive Mode (192,168,1,2,117).", "5 comma-separated numbers, want 6"},
		{"seven numbers", "Entering Passive Mode (192,168,1,2,117,48,1).", "7 comma-separated numbers, want 6"},
		{"port 0", "Entering Passive Mode (192,168,1,2,0,0).", "port 0"},
		{"no numbers", "Entering Passive Mode", "no comma-separated numbers"},
		{"single number", "Entering Passive Mode 30000", "no comma-separated numbers"},
		// Pure-FTPd refuses PASV on IPv6 control connections with this text.
		{"pure-ftpd refusal", "You cannot use PASV on IPv6 connections. Use EPSV instead.", "no comma-separated numbers"},
		{"empty", "", "no comma-separated numbers"},
		{"negative first", "Entering Passive Mode (-192,168,1,2,117,48)", "negative"},
		{"negative inner", "Entering Passive Mode (192,168,-1,2,117,48)", "negative"},
		{"huge number", "Entering Passive Mode (99999999999999999999999,168,1,2,117,48)", "longer than"},
		{"hundreds of digits", "Entering Passive Mode (" + strings.Repeat("9", 500) + ",1,1,1,1,1)", "longer than"},
		{"100 KB of A", strings.Repeat("A", 100<<10), "no comma-separated numbers"},
		{"100 KB of commas", strings.Repeat(",", 100<<10), "no comma-separated numbers"},
		{"dotted quad", "Entering Passive Mode 192.168.1.2:30000", "no comma-separated numbers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePASV(tt.text)
			if err == nil {
				t.Fatalf("ParsePASV(%q) = %v, nil; want error", clipForLog(tt.text), got)
			}
			if !strings.Contains(err.Error(), tt.inErr) {
				t.Errorf("ParsePASV(%q) error %q; want it to mention %q", clipForLog(tt.text), err, tt.inErr)
			}
			checkErrorText(t, err)
		})
	}
}

func TestParseEPSV(t *testing.T) {
	tests := []struct {
		name string
		text string
		want uint16
	}{
		{"brief/pure-ftpd", "Extended Passive mode OK (|||30118|)", 30118},
		{"pure-ftpd htb", "Extended Passive mode OK (|||3738|)", 3738},
		{"brief/proftpd", "Entering Extended Passive Mode (|||52319|)", 52319},
		{"proftpd htb", "Entering Extended Passive Mode (|||38341|)", 38341},
		{"iis htb", "Entering Extended Passive Mode (|||49403|)", 49403},
		{"vsftpd 2.0.4", "Entering Extended Passive Mode (|||27705|)", 27705},
		{"filezilla log", "Entering Extended Passive Mode (|||60501|)", 60501},
		{"zeek/multiline trace", "Entering Extended Passive Mode (|||60931|)", 60931},
		{"zeek/whole line", "229 Entering Extended Passive Mode (|||1234|)", 1234},
		{"rfc2428", "Entering Extended Passive Mode (|||6446|)", 6446},
		// RFC 2428 section 3: any delimiter 33..126, the same four times.
		{"bang delimiter", "Entering Extended Passive Mode (!!!2021!)", 2021},
		{"hash delimiter", "EPSV ok (###65535#)", 65535},
		{"letter delimiter", "(xxx2021x)", 2021},
		{"paren delimiter", "((((2021()", 2021},
		{"no parentheses", "Entering Extended Passive Mode |||6446|", 6446},
		{"no closing parenthesis", "Entering Extended Passive Mode (|||6446|", 6446},
		{"text after", "Entering Extended Passive Mode (|||6446|) now", 6446},
		{"leading zeros", "(|||06446|)", 6446},
		{"port 1", "(|||1|)", 1},
		{"parenthesised wins", "code !!!1! then (|||6446|)", 6446},
		{"bare form if no parenthesised one", "code !!!1! then |||6446| (none)", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEPSV(tt.text)
			if err != nil || got != tt.want {
				t.Errorf("ParseEPSV(%q) = %v, %v; want %v", tt.text, got, err, tt.want)
			}
		})
	}
}

func TestParseEPSVRejects(t *testing.T) {
	tests := []struct {
		name, text, inErr string
	}{
		{"port 0", "Entering Extended Passive Mode (|||0|)", "port 0"},
		{"port 65536", "Entering Extended Passive Mode (|||65536|)", "out of range"},
		{"huge port", "(|||" + strings.Repeat("9", 300) + "|)", "longer than"},
		{"not a number", "(|||x|)", "no (|||port|)"},
		{"empty port", "(||||)", "no (|||port|)"},
		{"negative port", "(|||-1|)", "no (|||port|)"},
		{"mixed delimiters in the triple", "(|!|2021|)", "no (|||port|)"},
		{"mixed closing delimiter", "Entering Extended Passive Mode (|||6446#)", "no (|||port|)"},
		{"mixed opening delimiters", "(!!!2021|)", "no (|||port|)"},
		{"two delimiters", "(||6446|)", "no (|||port|)"},
		{"digit delimiter", "(1112021 1)", "no (|||port|)"},
		{"space delimiter", "(   2021 )", "no (|||port|)"},
		{"no port", "Entering Extended Passive Mode", "no (|||port|)"},
		{"empty", "", "no (|||port|)"},
		{"a 227 text", "Entering Passive Mode (192,168,1,2,117,48).", "no (|||port|)"},
		{"100 KB of A", strings.Repeat("A", 100<<10), "no (|||port|)"},
		{"100 KB of pipes", strings.Repeat("|", 100<<10), "no (|||port|)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEPSV(tt.text)
			if err == nil {
				t.Fatalf("ParseEPSV(%q) = %v, nil; want error", clipForLog(tt.text), got)
			}
			if !strings.Contains(err.Error(), tt.inErr) {
				t.Errorf("ParseEPSV(%q) error %q; want it to mention %q", clipForLog(tt.text), err, tt.inErr)
			}
			checkErrorText(t, err)
		})
	}
}

func TestParsePORT(t *testing.T) {
	tests := []struct {
		name string
		arg  string
		want netip.AddrPort
	}{
		{"potplayer forum", "192,168,1,2,223,152", ap("192.168.1.2:57240")},
		{"flashfxp forum", "192,168,0,100,217,150", ap("192.168.0.100:55702")},
		{"zeek", "192,168,0,2,1,1", ap("192.168.0.2:257")},
		{"spaces after commas", "10, 0, 0, 5, 195, 80", ap("10.0.0.5:50000")},
		{"spaces around", "  10,0,0,5,195,80  ", ap("10.0.0.5:50000")},
		{"leading zeros", "010,000,000,005,195,080", ap("10.0.0.5:50000")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePORT(tt.arg)
			if err != nil || got != tt.want || !got.Addr().Is4() {
				t.Errorf("ParsePORT(%q) = %v, %v; want %v", tt.arg, got, err, tt.want)
			}
		})
	}
}

func TestParsePORTRejects(t *testing.T) {
	tests := []struct {
		name, arg, inErr string
	}{
		{"PORT 1234", "1234", "1 comma-separated numbers, want 6"},
		{"PORT 114,115", "114,115", "2 comma-separated numbers, want 6"},
		{"five numbers", "1,2,3,4,5", "5 comma-separated numbers"},
		{"seven numbers", "1,2,3,4,5,6,7", "7 comma-separated numbers"},
		{"octet 256", "256,1,1,1,1,1", "256 out of range"},
		{"port 0", "1,1,1,1,0,0", "port 0"},
		{"negative first", "-1,2,3,4,5,6", "negative"},
		{"negative last", "1,2,3,4,5,-6", "negative"},
		{"trailing text", "1,2,3,4,5,6x", "after the numbers"},
		{"trailing comma", "1,2,3,4,5,6,", "after the numbers"},
		{"leading text", "x1,2,3,4,5,6", "before the numbers"},
		{"double comma", "1,,2,3,4,5,6", "after the numbers"},
		{"dotted quad", "192.168.1.2", "after the numbers"},
		{"EPRT syntax", "|1|132.235.1.2|6275|", "before the numbers"},
		{"huge", "1,2,3,4,5," + strings.Repeat("9", 400), "longer than"},
		{"empty", "", "no numbers"},
		{"spaces", "   ", "no numbers"},
		{"100 KB of A", strings.Repeat("A", 100<<10), "no numbers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePORT(tt.arg)
			if err == nil {
				t.Fatalf("ParsePORT(%q) = %v, nil; want error", clipForLog(tt.arg), got)
			}
			if !strings.Contains(err.Error(), tt.inErr) {
				t.Errorf("ParsePORT(%q) error %q; want it to mention %q", clipForLog(tt.arg), err, tt.inErr)
			}
			checkErrorText(t, err)
		})
	}
}

func TestParseEPRT(t *testing.T) {
	tests := []struct {
		name string
		arg  string
		want netip.AddrPort
	}{
		{"rfc2428/ipv4", "|1|132.235.1.2|6275|", ap("132.235.1.2:6275")},
		{"rfc2428/ipv6", "|2|1080::8:800:200C:417A|5282|", ap("[1080::8:800:200c:417a]:5282")},
		{"zeek/ipv4", "|1|192.168.0.2|257|", ap("192.168.0.2:257")},
		{"zeek/ipv6", "|2|fe80::12|1234|", ap("[fe80::12]:1234")},
		{"factor src/loopback", "|2|::1|62138|", ap("[::1]:62138")},
		{"bang delimiter", "!1!132.235.1.2!6275!", ap("132.235.1.2:6275")},
		{"hash delimiter", "#2#::1#5282#", ap("[::1]:5282")},
		{"spaces around", " |1|132.235.1.2|6275| ", ap("132.235.1.2:6275")},
		{"port leading zeros", "|1|132.235.1.2|06275|", ap("132.235.1.2:6275")},
		// A dual-stack client socket can report its IPv4 address mapped.
		{"v4-mapped", "|2|::ffff:192.0.2.7|6275|", ap("192.0.2.7:6275")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEPRT(tt.arg)
			if err != nil || got != tt.want {
				t.Errorf("ParseEPRT(%q) = %v, %v; want %v", tt.arg, got, err, tt.want)
			}
			if err == nil && got.Addr().Is4In6() {
				t.Errorf("ParseEPRT(%q) = %v: IPv4-mapped address not unmapped", tt.arg, got)
			}
		})
	}
}

func TestParseEPRTRejects(t *testing.T) {
	tests := []struct {
		name, arg, inErr string
	}{
		{"af 1 with IPv6", "|1|::1|6275|", "does not match"},
		{"af 2 with IPv4", "|2|132.235.1.2|6275|", "does not match"},
		{"af 3", "|3|132.235.1.2|6275|", "address family"},
		{"af empty", "||132.235.1.2|6275|", "address family"},
		{"port 0", "|1|132.235.1.2|0|", "port 0"},
		{"port 65536", "|1|132.235.1.2|65536|", "out of range"},
		{"negative port", "|1|132.235.1.2|-5|", "bad port"},
		{"huge port", "|1|132.235.1.2|" + strings.Repeat("9", 300) + "|", "longer than"},
		{"empty port", "|1|132.235.1.2||", "empty port"},
		{"missing last delimiter", "|1|132.235.1.2|6275", "4 delimiters"},
		{"text after", "|1|132.235.1.2|6275|x", "after the last delimiter"},
		{"mixed delimiters", "|1!132.235.1.2|6275|", "4 delimiters"},
		{"bad address", "|1|132.235.1|6275|", "bad address"},
		{"IPv4 leading zeros", "|1|010.0.0.1|6275|", "bad address"},
		{"zone", "|2|fe80::1%eth0|6275|", "bad address"},
		{"digit delimiter", "1114111.2.3.411", "bad delimiter"},
		{"DEL delimiter", "\x7f1\x7f1.2.3.4\x7f5\x7f", "bad delimiter"},
		{"PORT syntax", "132,235,1,2,24,131", "bad delimiter"},
		{"empty", "", "empty"},
		{"100 KB of A", strings.Repeat("A", 100<<10), "after the last delimiter"},
		{"100 KB of pipes", strings.Repeat("|", 100<<10), "after the last delimiter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEPRT(tt.arg)
			if err == nil {
				t.Fatalf("ParseEPRT(%q) = %v, nil; want error", clipForLog(tt.arg), got)
			}
			if !strings.Contains(err.Error(), tt.inErr) {
				t.Errorf("ParseEPRT(%q) error %q; want it to mention %q", clipForLog(tt.arg), err, tt.inErr)
			}
			checkErrorText(t, err)
		})
	}
}

func TestParseLPRT(t *testing.T) {
	tests := []struct {
		name string
		arg  string
		want netip.AddrPort
	}{
		{"rfc1639/ipv4", "4,4,132,235,1,2,2,24,131", ap("132.235.1.2:6275")},
		// The RFC 2428 IPv6 example, 1080::8:800:200C:417A port 5282, in LPRT
		// form, bytes computed from the address (a copy of this example in
		// Snort's FTP preprocessor comments reads ",65,123,", i.e. 0x417B).
		{"rfc2428 in rfc1639 form/ipv6", "6,16,16,128,0,0,0,0,0,0,0,8,8,0,32,12,65,122,2,20,162", ap("[1080::8:800:200c:417a]:5282")},
		{"factor src/loopback", "6,16,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,2,242,186", ap("[::1]:62138")},
		{"apache ftpsrv", "6,16,0,0,0,0,0,0,0,0,3,0,0,0,0,0,0,0,2,193,160", ap("[::300:0:0:0]:49568")},
		{"spaces", " 4, 4, 132, 235, 1, 2, 2, 24, 131 ", ap("132.235.1.2:6275")},
		{"v4-mapped", "6,16,0,0,0,0,0,0,0,0,0,0,255,255,192,0,2,7,2,24,131", ap("192.0.2.7:6275")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLPRT(tt.arg)
			if err != nil || got != tt.want {
				t.Errorf("ParseLPRT(%q) = %v, %v; want %v", tt.arg, got, err, tt.want)
			}
		})
	}
}

func TestParseLPRTRejects(t *testing.T) {
	tests := []struct {
		name, arg, inErr string
	}{
		{"af 5", "5,4,132,235,1,2,2,24,131", "address family 5"},
		{"af 4 hal 16", "4,16,132,235,1,2,2,24,131", "address length 16"},
		{"af 6 hal 4", "6,4,132,235,1,2,2,24,131", "address length 4"},
		{"pal 3", "4,4,132,235,1,2,3,24,131", "port length 3"},
		{"too few", "4,4,132,235,1,2,2,24", "8 comma-separated numbers, want 9"},
		{"too many", "4,4,132,235,1,2,2,24,131,1", "10 comma-separated numbers, want 9"},
		{"ipv6 too many", "6,16," + strings.Repeat("1,", 40) + "2,1,1", "numbers, want 21"},
		{"byte 256", "4,4,132,235,1,256,2,24,131", "256 out of range"},
		{"port 0", "4,4,132,235,1,2,2,0,0", "port 0"},
		{"PORT argument", "132,235,1,2,24,131", "address family 132"},
		{"one number", "4", "want 9 or 21"},
		{"negative", "4,4,-132,235,1,2,2,24,131", "negative"},
		{"huge", "4,4," + strings.Repeat("1", 200) + ",235,1,2,2,24,131", "longer than"},
		{"trailing text", "4,4,132,235,1,2,2,24,131 x", "after the numbers"},
		{"empty", "", "no numbers"},
		{"100 KB of A", strings.Repeat("A", 100<<10), "no numbers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLPRT(tt.arg)
			if err == nil {
				t.Fatalf("ParseLPRT(%q) = %v, nil; want error", clipForLog(tt.arg), got)
			}
			if !strings.Contains(err.Error(), tt.inErr) {
				t.Errorf("ParseLPRT(%q) error %q; want it to mention %q", clipForLog(tt.arg), err, tt.inErr)
			}
			checkErrorText(t, err)
		})
	}
}

func TestParseLPSV(t *testing.T) {
	tests := []struct {
		name string
		text string
		want netip.AddrPort
	}{
		// 228 texts in the form curl's lib/ftp.c documents, with the RFC 1639
		// example endpoints.
		{"rfc1639/ipv4", "Entering Long Passive Mode (4,4,132,235,1,2,2,24,131)", ap("132.235.1.2:6275")},
		{"rfc2428 in rfc1639 form/ipv6", "Entering Long Passive Mode (6,16,16,128,0,0,0,0,0,0,0,8,8,0,32,12,65,122,2,20,162)", ap("[1080::8:800:200c:417a]:5282")},
		{"no parentheses", "Entering Long Passive Mode 4,4,132,235,1,2,2,24,131.", ap("132.235.1.2:6275")},
		{"whole line", "228 Entering Long Passive Mode (4,4,132,235,1,2,2,24,131)", ap("132.235.1.2:6275")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLPSV(tt.text)
			if err != nil || got != tt.want {
				t.Errorf("ParseLPSV(%q) = %v, %v; want %v", tt.text, got, err, tt.want)
			}
		})
	}
}

func TestParseLPSVRejects(t *testing.T) {
	tests := []struct {
		name, text, inErr string
	}{
		{"no numbers", "Entering Long Passive Mode", "no comma-separated numbers"},
		{"a 227 text", "Entering Passive Mode (192,168,1,2,117,48).", "address family 192"},
		{"af 5", "Entering Long Passive Mode (5,4,132,235,1,2,2,24,131)", "address family 5"},
		{"port 0", "Entering Long Passive Mode (4,4,132,235,1,2,2,0,0)", "port 0"},
		{"100 KB of A", strings.Repeat("A", 100<<10), "no comma-separated numbers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLPSV(tt.text)
			if err == nil {
				t.Fatalf("ParseLPSV(%q) = %v, nil; want error", clipForLog(tt.text), got)
			}
			if !strings.Contains(err.Error(), tt.inErr) {
				t.Errorf("ParseLPSV(%q) error %q; want it to mention %q", clipForLog(tt.text), err, tt.inErr)
			}
			checkErrorText(t, err)
		})
	}
}

func TestErrorsQuoteInput(t *testing.T) {
	long := "Entering Passive Mode (" + strings.Repeat("7", 100<<10)
	_, err := ParsePASV(long)
	if err == nil {
		t.Fatal("ParsePASV(100 KB) succeeded")
	}
	want := `ParsePASV("Entering Passive Mode (` + strings.Repeat("7", maxQuoteLen-len("Entering Passive Mode (")) + `"...)`
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %.200q; want prefix %q", err, want)
	}
	_, err = ParsePORT("1,2,3\n,4,5,6")
	if err == nil || !strings.Contains(err.Error(), `"1,2,3\n,4,5,6"`) {
		t.Errorf("ParsePORT error %q does not quote its input with %%q", err)
	}
}

// endpoints is a spread of addresses and ports for the round trips.
var endpoints = []netip.AddrPort{
	ap("192.168.1.2:30000"),
	ap("10.0.0.5:50000"),
	ap("0.0.0.0:1"),
	ap("255.255.255.255:65535"),
	ap("132.235.1.2:6275"),
	ap("[1080::8:800:200c:417a]:5282"),
	ap("[::1]:62138"),
	ap("[fe80::12]:1234"),
	ap("[2001:db8::ff00:42:8329]:65535"),
}

func TestRoundTrip(t *testing.T) {
	for _, e := range endpoints {
		if e.Addr().Is4() {
			if got, err := ParsePORT(FormatPORT(e)); err != nil || got != e {
				t.Errorf("ParsePORT(FormatPORT(%v) = %q) = %v, %v", e, FormatPORT(e), got, err)
			}
			if got, err := ParsePASV(FormatPASV(e)); err != nil || got != e {
				t.Errorf("ParsePASV(FormatPASV(%v) = %q) = %v, %v", e, FormatPASV(e), got, err)
			}
		} else if FormatPORT(e) != "" || FormatPASV(e) != "" {
			t.Errorf("FormatPORT/FormatPASV(%v) = %q, %q; want empty for IPv6", e, FormatPORT(e), FormatPASV(e))
		}
		if got, err := ParseEPRT(FormatEPRT(e)); err != nil || got != e {
			t.Errorf("ParseEPRT(FormatEPRT(%v) = %q) = %v, %v", e, FormatEPRT(e), got, err)
		}
		if got, err := ParseLPRT(formatLPRT(e)); err != nil || got != e {
			t.Errorf("ParseLPRT(%q) = %v, %v; want %v", formatLPRT(e), got, err, e)
		}
		if got, err := ParseLPSV(formatLPSV(e)); err != nil || got != e {
			t.Errorf("ParseLPSV(%q) = %v, %v; want %v", formatLPSV(e), got, err, e)
		}
		if got, err := ParseEPSV(formatEPSV(e.Port())); err != nil || got != e.Port() {
			t.Errorf("ParseEPSV(%q) = %v, %v; want %v", formatEPSV(e.Port()), got, err, e.Port())
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		e                netip.AddrPort
		port, pasv, eprt string
	}{
		{ap("192.168.1.2:30000"), "192,168,1,2,117,48", "Entering Passive Mode (192,168,1,2,117,48).", "|1|192.168.1.2|30000|"},
		{ap("[1080::8:800:200c:417a]:5282"), "", "", "|2|1080::8:800:200c:417a|5282|"},
		{ap("[::ffff:192.0.2.7]:6275"), "192,0,2,7,24,131", "Entering Passive Mode (192,0,2,7,24,131).", "|1|192.0.2.7|6275|"},
		{netip.AddrPortFrom(netip.MustParseAddr("fe80::1%eth0"), 21), "", "", "|2|fe80::1|21|"},
		{netip.AddrPort{}, "", "", ""},
	}
	for _, tt := range tests {
		if got := FormatPORT(tt.e); got != tt.port {
			t.Errorf("FormatPORT(%v) = %q; want %q", tt.e, got, tt.port)
		}
		if got := FormatPASV(tt.e); got != tt.pasv {
			t.Errorf("FormatPASV(%v) = %q; want %q", tt.e, got, tt.pasv)
		}
		if got := FormatEPRT(tt.e); got != tt.eprt {
			t.Errorf("FormatEPRT(%v) = %q; want %q", tt.e, got, tt.eprt)
		}
	}
}

// formatLPRT writes e as an LPRT argument (RFC 1639), for the round trips.
func formatLPRT(e netip.AddrPort) string {
	var b strings.Builder
	a := e.Addr().Unmap()
	if a.Is4() {
		b.WriteString("4,4")
	} else {
		b.WriteString("6,16")
	}
	for _, x := range a.AsSlice() {
		fmt.Fprintf(&b, ",%d", x)
	}
	fmt.Fprintf(&b, ",2,%d,%d", e.Port()>>8, e.Port()&0xff)
	return b.String()
}

func formatLPSV(e netip.AddrPort) string {
	return "Entering Long Passive Mode (" + formatLPRT(e) + ")"
}

func formatEPSV(port uint16) string {
	return fmt.Sprintf("Entering Extended Passive Mode (|||%d|)", port)
}

func ExampleParsePASV() {
	addr, err := ParsePASV("Entering Passive Mode (192,168,1,2,117,48).")
	fmt.Println(addr, err)
	_, err = ParsePASV("Entering Passive Mode (192,168,1,256,117,48).")
	fmt.Println(err)
	// Output:
	// 192.168.1.2:30000 <nil>
	// ParsePASV("Entering Passive Mode (192,168,1,256,117,48)."): number 256 out of range 0..255
}
