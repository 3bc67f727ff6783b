package ftpflow

import (
	"fmt"
	"strings"
)

// maxVerbLen is the longest command verb ParseCommand accepts. RFC 959 verbs
// have three or four letters; real traffic has longer junk such as
// "TYPEEEEEEE", still recognisable as a verb up to this cap.
const maxVerbLen = 16

// maxQuoteLen is how much capture text an error message quotes; longer input is
// cut and marked with "...", so a 100 KB line never makes a 100 KB error.
const maxQuoteLen = 64

// Command is one command line sent by the client.
type Command struct {
	Verb string // upper-cased, e.g. "RETR"
	Arg  string // the rest after the first space(s), as sent (no trailing CR/LF)
}

// ParseCommand parses a command line without its line ending; a stray
// trailing '\r' is tolerated. The verb is 1 to 16 ASCII letters, upper-cased
// in the result, followed by the end of the line or by spaces and the
// argument. Telnet commands (IAC IP, IAC DM, ...) in front of the verb, which
// RFC 959 clients send before ABOR, are skipped. Anything else (an empty line,
// digits, binary) is an error.
func ParseCommand(line string) (Command, error) {
	s := strings.TrimSuffix(line, "\r")
	s = skipTelnetCommands(s)
	n := 0
	for n < len(s) && isLetter(s[n]) {
		n++
	}
	switch {
	case n == 0 && s == "":
		return Command{}, fmt.Errorf("ParseCommand(%s): empty line", quote(line))
	case n == 0:
		return Command{}, fmt.Errorf("ParseCommand(%s): no verb", quote(line))
	case n > maxVerbLen:
		return Command{}, fmt.Errorf("ParseCommand(%s): verb longer than %d letters", quote(line), maxVerbLen)
	case n < len(s) && s[n] != ' ':
		return Command{}, fmt.Errorf("ParseCommand(%s): verb followed by %q, want space or end of line", quote(line), s[n:n+1])
	}
	return Command{Verb: strings.ToUpper(s[:n]), Arg: strings.TrimLeft(s[n:], " ")}, nil
}

// telnetIAC starts a Telnet command (RFC 854). Clients put IAC IP and IAC DM
// (the Synch) in front of ABOR, as RFC 959 section 4.1.3 asks.
const telnetIAC = 0xff

// skipTelnetCommands drops leading two-byte Telnet commands IAC x, where x is
// a command byte 0xf0..0xfe (SE, NOP, DM, BRK, IP, AO, AYT, EC, EL, GA, SB,
// WILL, WONT, DO, DONT). Option negotiation (WILL..DONT) has a third byte,
// skipped too.
func skipTelnetCommands(s string) string {
	for len(s) >= 2 && s[0] == telnetIAC && s[1] >= 0xf0 && s[1] != telnetIAC {
		if s[1] >= 0xfb && len(s) >= 3 { // WILL, WONT, DO, DONT carry an option byte
			s = s[3:]
			continue
		}
		s = s[2:]
	}
	return s
}

func isLetter(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isDigit(c byte) bool {
	return '0' <= c && c <= '9'
}

// quote renders capture text for an error message: %q of at most maxQuoteLen
// bytes, followed by "..." outside the quotes when the text was cut.
func quote(s string) string {
	if len(s) > maxQuoteLen {
		return fmt.Sprintf("%q...", s[:maxQuoteLen])
	}
	return fmt.Sprintf("%q", s)
}
