package analyze

import (
	"fmt"
	"strings"

	"ftpdiag/ftpflow"
)

// failureText is a completion reply text by which a server reports that
// a transfer it calls complete went wrong.
type failureText struct {
	// match is looked for in the reply's text, in lower case.
	match string
	// server is who sends it; meaning what happened.
	server, meaning string
}

// failureTexts are the texts known from the servers' sources.
var failureTexts = []failureText{
	{"failed to open directory", "vsftpd",
		"it could not open the directory it was asked to list (permissions, SELinux, a directory removed meanwhile) and sent an empty listing instead"},
	{"output truncated", "Pure-FTPd",
		"it cut the listing at its limit on the number of entries (pure-ftpd -L): the client got only part of it"},
}

// failureWords, in a completion reply's text, suggest a failure the
// servers above do not word that way; the finding is then only possible.
var failureWords = []string{"fail", "error", "denied", "unable", "cannot", "can't", "incomplete", "truncated"}

// readFailureText says whether a completion reply's text reports a
// failure, what it means and how sure that reading is.
func readFailureText(text string) (meaning string, conf Confidence, ok bool) {
	low := strings.ToLower(text)
	for _, ft := range failureTexts {
		if strings.Contains(low, ft.match) {
			return ft.server + " says " + ft.meaning, Certain, true
		}
	}
	for _, w := range failureWords {
		if strings.Contains(low, w) {
			return fmt.Sprintf("the text speaks of a failure (%q), though no server known here words it so", w), Possible, true
		}
	}
	return "", Certain, false
}

// okReplyFailure reports a transfer whose final reply has a completion
// code (2xx) but a text that reports a failure: clients trust the code,
// so the failure goes unnoticed.
func (d *diag) okReplyFailure(s *ftpflow.Session, t *ftpflow.Transfer) {
	f := t.Final()
	if f == nil || f.Code/100 != 2 {
		return
	}
	meaning, conf, ok := readFailureText(f.Text)
	if !ok {
		return
	}
	ev := newEvidence(nil)
	ev.reply("reply", f)
	ev.transfer(t)
	if c := t.Data; c != nil {
		ev.conn(c)
		ev.set("bytes", c.Bytes[t.DataSender()])
	}
	id := d.add(Finding{Kind: KindTransferFailedReply, Severity: Warning, Confidence: conf, Session: s.ID, Transfer: t.ID,
		Summary: fmt.Sprintf("%s answered %d %q: a completion code whose text reports a failure", describeTransfer(t), f.Code, truncate(f.Text, 80)),
		Explanation: fmt.Sprintf("The server answered %s with %d, the code for a completed transfer, so clients report success; but its text, %q, says otherwise: %s. "+
			"Nothing in the network failed: the server did.", describeTransfer(t), f.Code, f.Text, meaning),
		Remediation: "Check the server's log and the permissions (and SELinux or AppArmor labels) of the directory or file on the server; do not rely on the reply code alone."}, ev)
	d.explain(id, t)
}
