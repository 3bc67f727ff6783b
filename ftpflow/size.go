package ftpflow

import (
	"strconv"
	"strings"
)

// maxSizeDigits bounds a byte count: 19 digits hold any int64, and anything
// longer is rejected without arithmetic.
const maxSizeDigits = 19

// ParseTransferSize finds the byte count a server announces in the text of a
// 150 or 125 reply (after the code): "(1234 bytes)", the form of vsftpd
// ("Opening BINARY mode data connection for f (1234 bytes)."), ProFTPD (the
// same without the final period), wu-ftpd and their kin. The word is matched
// without regard to case ("Bytes") and may be singular. When the text holds
// several such groups, as when the file name itself contains one, the last
// wins: servers put the size after the name.
//
// Other servers announce no exact size and give ok false: Pure-FTPd ("150
// Accepted data connection", then "150 91566.2 kbytes to download", rounded to
// 0.1 KiB), IIS ("125 Data connection already open; Transfer starting.",
// "150 Opening BINARY mode data connection.") and FileZilla Server ("150
// Opening data channel for file download from server of \"/f\"").
func ParseTransferSize(text string) (n int64, ok bool) {
	for i := strings.LastIndexByte(text, '('); i >= 0; i = strings.LastIndexByte(text[:i], '(') {
		if v, found := bytesGroup(text[i+1:]); found {
			return v, true
		}
	}
	return 0, false
}

// bytesGroup parses "<digits> bytes)" (one or more spaces, "byte" or "bytes",
// any case) at the start of s.
func bytesGroup(s string) (int64, bool) {
	j := 0
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	if j == 0 || j > maxSizeDigits {
		return 0, false
	}
	digits := s[:j]
	k := j
	for k < len(s) && s[k] == ' ' {
		k++
	}
	if k == j {
		return 0, false
	}
	rest := s[k:]
	switch {
	case len(rest) >= 6 && strings.EqualFold(rest[:6], "bytes)"):
	case len(rest) >= 5 && strings.EqualFold(rest[:5], "byte)"):
	default:
		return 0, false
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil { // more than 2^63-1
		return 0, false
	}
	return v, true
}

// ParseSizeReply parses the text of a 213 reply to SIZE (after the code): a
// decimal byte count, "1234" (RFC 3659 section 4), with surrounding spaces
// tolerated. Anything else, such as the multi-line 213 reply to STAT, gives ok
// false.
func ParseSizeReply(text string) (n int64, ok bool) {
	s := strings.Trim(text, " \t\r")
	if s == "" || len(s) > maxSizeDigits {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false
	}
	return v, true
}
