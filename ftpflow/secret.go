package ftpflow

import "strings"

// knownVerbs are the commands of RFC 959 and of the extensions real
// clients send (RFC 775, 1639, 2228, 2389, 2428, 2640, 3659, 4217, 7151
// and common ones): a line after a hole in the capture that does not
// start with one of them is the rest of a line whose start was lost.
var knownVerbs = map[string]bool{
	"ABOR": true, "ACCT": true, "ADAT": true, "ALLO": true, "APPE": true, "AUTH": true,
	"CCC": true, "CDUP": true, "CLNT": true, "CONF": true, "CWD": true, "DELE": true,
	"ENC": true, "EPRT": true, "EPSV": true, "FEAT": true, "HELP": true, "HOST": true,
	"LANG": true, "LIST": true, "LPRT": true, "LPSV": true, "MDTM": true, "MFMT": true,
	"MIC": true, "MKD": true, "MLSD": true, "MLST": true, "MODE": true, "NLST": true,
	"NOOP": true, "OPTS": true, "PASS": true, "PASV": true, "PBSZ": true, "PORT": true,
	"PROT": true, "PWD": true, "QUIT": true, "REIN": true, "REST": true, "RETR": true,
	"RMD": true, "RNFR": true, "RNTO": true, "SITE": true, "SIZE": true, "SMNT": true,
	"STAT": true, "STOR": true, "STOU": true, "STRU": true, "SYST": true, "TYPE": true,
	"USER": true, "XCUP": true, "XCWD": true, "XMKD": true, "XPWD": true, "XRMD": true,
}

// IsKnownCommand reports whether verb (upper case) is a command FTP
// clients send.
func IsKnownCommand(verb string) bool { return knownVerbs[verb] }

// maskedLine is how a masked client line is shown.
const maskedLine = "****"

// CommandLine returns a logged client line as a report may show it: the
// verb and argument, the argument of PASS replaced by "****" unless
// showPasswords, and a Secret line (whose text is not kept) as "****".
// Every writer of the control dialogue shows client lines through it.
func (e LogEntry) CommandLine(showPasswords bool) string {
	switch {
	case e.Secret:
		return maskedLine
	case e.Verb == "PASS" && !showPasswords:
		return "PASS " + maskedLine
	}
	return strings.TrimSpace(e.Verb + " " + e.Arg)
}

// secrecy is what a hole in the client's stream leaves unsure about
// passwords: the next line may be the rest of a PASS line whose start was
// lost ("PA" lost, "SS sunshine" read; "PASS " lost, "sunshine" read),
// and after a USER anything up to the server's next reply may be the
// password.
type secrecy struct {
	// cut: the next client line may have begun in a hole.
	cut bool
	// untilReply: a hole came after a USER; client lines are masked
	// until the server's next reply.
	untilReply bool
	// lastVerb is the client's last command.
	lastVerb string
}

// hole notes a hole in the client's stream.
func (k *secrecy) hole() {
	k.cut = true
	if k.lastVerb == "USER" {
		k.untilReply = true
	}
}

// line judges a client line: fragment reports the rest of a line whose
// start was lost (not a command to act on), secret that its text must
// not be kept.
func (k *secrecy) line(cmd Command, err error) (fragment, secret bool) {
	cut := k.cut
	k.cut = false
	fragment = cut && (err != nil || !knownVerbs[cmd.Verb])
	if !fragment {
		k.lastVerb = cmd.Verb
	}
	return fragment, fragment || k.untilReply
}

// reply notes a server reply: it ends what a hole after a USER masks.
func (k *secrecy) reply() { k.untilReply = false }
