package ftpflow

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// maxNumberDigits bounds one decimal number in an endpoint text, leading zeros
// included: "010" is fine, a number of hundreds of digits is rejected before
// any arithmetic can overflow.
const maxNumberDigits = 10

// maxRunLen is the longest run of comma-separated numbers a parser needs: an
// IPv6 LPRT argument, af,hal,16 bytes,pal,2 bytes (RFC 1639).
const maxRunLen = 2 + 16 + 1 + 2

// numberRun is a run of decimal numbers separated by commas, with optional
// spaces or tabs around each comma: "192,168,1,2,117,48" or "10, 0, 0, 5, 195, 80".
type numberRun struct {
	start, end int // byte offsets of the first digit and after the last one
	n          int // numbers in the run; only the first maxRunLen are in nums
	nums       [maxRunLen]int
	neg        bool // a '-' right before one of the numbers
	long       bool // a number with more than maxNumberDigits digits
}

// nextRun returns the first run of one or more numbers in s that starts at or
// after offset i.
func nextRun(s string, i int) (r numberRun, ok bool) {
	for i < len(s) && !isDigit(s[i]) {
		i++
	}
	if i == len(s) {
		return numberRun{}, false
	}
	r.start = i
	for {
		if i > 0 && s[i-1] == '-' {
			r.neg = true
		}
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		v := -1
		if j-i > maxNumberDigits {
			r.long = true
		} else {
			v, _ = strconv.Atoi(s[i:j]) // at most maxNumberDigits digits: cannot fail
		}
		if r.n < maxRunLen {
			r.nums[r.n] = v
		}
		r.n++
		r.end = j
		// Look for a comma and the next number.
		k := skipBlanks(s, j)
		if k == len(s) || s[k] != ',' {
			return r, true
		}
		k = skipBlanks(s, k+1)
		if k < len(s) && s[k] == '-' && k+1 < len(s) && isDigit(s[k+1]) {
			k++
		}
		if k == len(s) || !isDigit(s[k]) {
			return r, true
		}
		i = k
	}
}

func skipBlanks(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// bytes checks that the run holds exactly want numbers, each 0..255.
func (r *numberRun) bytes(want int) error {
	switch {
	case r.neg:
		return errors.New("negative number")
	case r.n != want:
		return fmt.Errorf("%d comma-separated numbers, want %d", r.n, want)
	case r.long:
		return fmt.Errorf("number longer than %d digits", maxNumberDigits)
	}
	for _, v := range r.nums[:r.n] {
		if v > 255 {
			return fmt.Errorf("number %d out of range 0..255", v)
		}
	}
	return nil
}

// hostPort turns the six numbers h1..h4,p1,p2 of a PORT argument or a 227
// reply into an endpoint.
func (r *numberRun) hostPort() (netip.AddrPort, error) {
	if err := r.bytes(6); err != nil {
		return netip.AddrPort{}, err
	}
	v := &r.nums
	port := uint16(v[4]<<8 | v[5])
	if port == 0 {
		return netip.AddrPort{}, errors.New("port 0")
	}
	addr := netip.AddrFrom4([4]byte{byte(v[0]), byte(v[1]), byte(v[2]), byte(v[3])})
	return netip.AddrPortFrom(addr, port), nil
}

// longHostPort turns the numbers af,hal,h1..,pal,p1,p2 of an LPRT argument or
// a 228 reply (RFC 1639) into an endpoint. Only TCP over IPv4 (af 4, hal 4)
// and IPv6 (af 6, hal 16) with a two-byte port are defined.
func (r *numberRun) longHostPort() (netip.AddrPort, error) {
	if r.n < 2 {
		return netip.AddrPort{}, fmt.Errorf("%d comma-separated numbers, want 9 or 21", r.n)
	}
	af, hal := r.nums[0], r.nums[1]
	wantHal := 4
	switch af {
	case 4:
	case 6:
		wantHal = 16
	default:
		return netip.AddrPort{}, fmt.Errorf("address family %d, want 4 or 6", af)
	}
	if hal != wantHal {
		return netip.AddrPort{}, fmt.Errorf("address length %d for family %d, want %d", hal, af, wantHal)
	}
	if err := r.bytes(2 + hal + 1 + 2); err != nil {
		return netip.AddrPort{}, err
	}
	v := r.nums[:r.n]
	if pal := v[2+hal]; pal != 2 {
		return netip.AddrPort{}, fmt.Errorf("port length %d, want 2", pal)
	}
	port := uint16(v[2+hal+1]<<8 | v[2+hal+2])
	if port == 0 {
		return netip.AddrPort{}, errors.New("port 0")
	}
	var addr netip.Addr
	if af == 4 {
		addr = netip.AddrFrom4([4]byte{byte(v[2]), byte(v[3]), byte(v[4]), byte(v[5])})
	} else {
		var b [16]byte
		for i := range b {
			b[i] = byte(v[2+i])
		}
		addr = netip.AddrFrom16(b).Unmap()
	}
	return netip.AddrPortFrom(addr, port), nil
}

// ParsePASV parses the text of a 227 reply (after the code), such as
// "Entering Passive Mode (192,168,1,2,117,48).". As RFC 1123 section 4.1.2.6
// asks, it does not rely on the wording or the parentheses: it scans for the
// first run of six comma-separated decimal numbers h1,h2,h3,h4,p1,p2, with
// spaces allowed around the commas and leading zeros allowed. Each number must
// be 0..255; the port p1*256+p2 must not be 0.
func ParsePASV(text string) (netip.AddrPort, error) {
	var first numberRun // first run of two or more numbers, for the error message
	for i := 0; ; {
		r, ok := nextRun(text, i)
		if !ok {
			break
		}
		if r.n == 6 {
			ap, err := r.hostPort()
			if err != nil {
				return netip.AddrPort{}, fmt.Errorf("ParsePASV(%s): %w", quote(text), err)
			}
			return ap, nil
		}
		if r.n > 1 && first.n == 0 {
			first = r
		}
		i = r.end
	}
	if first.n == 0 {
		return netip.AddrPort{}, fmt.Errorf("ParsePASV(%s): no comma-separated numbers", quote(text))
	}
	return netip.AddrPort{}, fmt.Errorf("ParsePASV(%s): %d comma-separated numbers, want 6", quote(text), first.n)
}

// ParseLPSV parses the text of a 228 reply (after the code), such as
// "Entering Long Passive Mode (4,4,192,168,1,2,2,117,48)" or its IPv6 form
// "(6,16,h1,...,h16,2,p1,p2)" (RFC 1639). The first run of comma-separated
// numbers is taken, wherever it is in the text.
func ParseLPSV(text string) (netip.AddrPort, error) {
	for i := 0; ; {
		r, ok := nextRun(text, i)
		if !ok {
			return netip.AddrPort{}, fmt.Errorf("ParseLPSV(%s): no comma-separated numbers", quote(text))
		}
		if r.n > 1 {
			ap, err := r.longHostPort()
			if err != nil {
				return netip.AddrPort{}, fmt.Errorf("ParseLPSV(%s): %w", quote(text), err)
			}
			return ap, nil
		}
		i = r.end
	}
}

// ParsePORT parses the argument of a PORT command, "h1,h2,h3,h4,p1,p2" (RFC
// 959), with spaces tolerated around the commas and the whole argument. Each
// number must be 0..255 and the port must not be 0.
func ParsePORT(arg string) (netip.AddrPort, error) {
	s := strings.Trim(arg, " \t")
	r, err := wholeRun(s)
	if err == nil {
		var ap netip.AddrPort
		if ap, err = r.hostPort(); err == nil {
			return ap, nil
		}
	}
	return netip.AddrPort{}, fmt.Errorf("ParsePORT(%s): %w", quote(arg), err)
}

// ParseLPRT parses the argument of an LPRT command (RFC 1639):
// "4,4,h1,h2,h3,h4,2,p1,p2" for IPv4 or "6,16,h1,...,h16,2,p1,p2" for IPv6.
// An IPv4-mapped IPv6 address is returned as IPv4.
func ParseLPRT(arg string) (netip.AddrPort, error) {
	s := strings.Trim(arg, " \t")
	r, err := wholeRun(s)
	if err == nil {
		var ap netip.AddrPort
		if ap, err = r.longHostPort(); err == nil {
			return ap, nil
		}
	}
	return netip.AddrPort{}, fmt.Errorf("ParseLPRT(%s): %w", quote(arg), err)
}

// wholeRun returns the run of numbers that must make up all of s.
func wholeRun(s string) (numberRun, error) {
	r, ok := nextRun(s, 0)
	switch {
	case !ok:
		return r, errors.New("no numbers")
	case r.neg:
		return r, errors.New("negative number")
	case r.start != 0:
		return r, fmt.Errorf("unexpected %s before the numbers", quote(s[:r.start]))
	case r.end != len(s):
		return r, fmt.Errorf("unexpected %s after the numbers", quote(s[r.end:]))
	}
	return r, nil
}

// ParseEPRT parses the argument of an EPRT command (RFC 2428),
// "<d><af><d><addr><d><port><d>" such as "|1|132.235.1.2|6275|" or
// "|2|1080::8:800:200C:417A|5282|". The delimiter d may be any character 33..126
// but must be the same four times; af 1 needs an IPv4 address, af 2 an IPv6
// one. An IPv4-mapped IPv6 address (af 2) is returned as IPv4.
func ParseEPRT(arg string) (netip.AddrPort, error) {
	ap, err := parseEPRT(strings.Trim(arg, " \t"))
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("ParseEPRT(%s): %w", quote(arg), err)
	}
	return ap, nil
}

func parseEPRT(s string) (netip.AddrPort, error) {
	if s == "" {
		return netip.AddrPort{}, errors.New("empty argument")
	}
	d := s[0]
	if d < 33 || d > 126 || isDigit(d) {
		return netip.AddrPort{}, fmt.Errorf("bad delimiter %q", s[:1])
	}
	af, rest, ok1 := strings.Cut(s[1:], s[:1])
	host, rest, ok2 := strings.Cut(rest, s[:1])
	portText, rest, ok3 := strings.Cut(rest, s[:1])
	if !ok1 || !ok2 || !ok3 {
		return netip.AddrPort{}, fmt.Errorf("want 4 delimiters %q", s[:1])
	}
	if rest != "" {
		return netip.AddrPort{}, fmt.Errorf("unexpected %s after the last delimiter", quote(rest))
	}
	if af != "1" && af != "2" {
		return netip.AddrPort{}, fmt.Errorf("address family %s, want 1 or 2", quote(af))
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || addr.Zone() != "" {
		return netip.AddrPort{}, fmt.Errorf("bad address %s", quote(host))
	}
	if af == "1" && !addr.Is4() || af == "2" && !addr.Is6() {
		return netip.AddrPort{}, fmt.Errorf("address family %s does not match address %s", af, quote(host))
	}
	port, err := parsePort(portText)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPortFrom(addr.Unmap(), port), nil
}

// parsePort parses a decimal TCP port 1..65535 (leading zeros allowed).
func parsePort(s string) (uint16, error) {
	if s == "" {
		return 0, errors.New("empty port")
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, fmt.Errorf("bad port %s", quote(s))
		}
	}
	if len(s) > maxNumberDigits {
		return 0, fmt.Errorf("port longer than %d digits", maxNumberDigits)
	}
	v, _ := strconv.Atoi(s) // at most maxNumberDigits digits: cannot fail
	switch {
	case v == 0:
		return 0, errors.New("port 0")
	case v > 65535:
		return 0, fmt.Errorf("port %d out of range 1..65535", v)
	}
	return uint16(v), nil
}

// ParseEPSV parses the text of a 229 reply (after the code), such as
// "Entering Extended Passive Mode (|||6446|)", and returns the port. RFC 2428
// defines the form "(<d><d><d><port><d>)" with any delimiter d in 33..126, the
// same all four times; digits are not accepted as delimiter. Text around it is
// tolerated, and so are missing parentheses: the first "(<d><d><d><port><d>" is
// taken, else the first "<d><d><d><port><d>" anywhere.
func ParseEPSV(text string) (port uint16, err error) {
	for _, inParens := range []bool{true, false} {
		for i := 0; i+4 < len(text); i++ {
			if inParens && (i == 0 || text[i-1] != '(') {
				continue
			}
			digits, ok := epsvAt(text, i)
			if !ok {
				continue
			}
			p, err := parsePort(digits)
			if err != nil {
				return 0, fmt.Errorf("ParseEPSV(%s): %w", quote(text), err)
			}
			return p, nil
		}
	}
	return 0, fmt.Errorf("ParseEPSV(%s): no (|||port|)", quote(text))
}

// epsvAt reports whether s[i:] starts with <d><d><d><digits><d> and returns
// the digits, however many: parsePort rejects a long run.
func epsvAt(s string, i int) (digits string, ok bool) {
	d := s[i]
	if d < 33 || d > 126 || isDigit(d) || s[i+1] != d || s[i+2] != d {
		return "", false
	}
	j := i + 3
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	if j == i+3 || j == len(s) || s[j] != d {
		return "", false
	}
	return s[i+3 : j], true
}

// FormatPORT renders an IPv4 endpoint as a PORT argument, "h1,h2,h3,h4,p1,p2".
// It returns "" for an IPv6 endpoint, which PORT cannot carry.
func FormatPORT(ap netip.AddrPort) string {
	a := ap.Addr().Unmap()
	if !a.Is4() {
		return ""
	}
	b, p := a.As4(), ap.Port()
	return fmt.Sprintf("%d,%d,%d,%d,%d,%d", b[0], b[1], b[2], b[3], p>>8, p&0xff)
}

// FormatPASV renders an IPv4 endpoint as the text of a 227 reply the way
// vsftpd and ProFTPD write it, "Entering Passive Mode (h1,h2,h3,h4,p1,p2).".
// It returns "" for an IPv6 endpoint.
func FormatPASV(ap netip.AddrPort) string {
	hp := FormatPORT(ap)
	if hp == "" {
		return ""
	}
	return "Entering Passive Mode (" + hp + ")."
}

// FormatEPRT renders an endpoint as an EPRT argument, "|1|addr|port|" for IPv4
// or "|2|addr|port|" for IPv6 (RFC 2428). An IPv4-mapped IPv6 address is
// written as IPv4 and a zone is dropped. It returns "" for the zero AddrPort.
func FormatEPRT(ap netip.AddrPort) string {
	a := ap.Addr().Unmap().WithZone("")
	switch {
	case a.Is4():
		return fmt.Sprintf("|1|%s|%d|", a, ap.Port())
	case a.Is6():
		return fmt.Sprintf("|2|%s|%d|", a, ap.Port())
	}
	return ""
}
