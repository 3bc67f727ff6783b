package report

import "fmt"

// maxEncryptedLines is how many encrypted data connections the text
// report lists without --all: those that failed first.
const maxEncryptedLines = 20

// encrypted lists the data connections paired with encrypted sessions by
// hosts and timing, which the Transfers table cannot show (no command or
// reply could be read): one line each, with its direction, outcome and
// how sure the pairing is. Nothing is written when there are none.
func (tw *textWriter) encrypted(d *Document) {
	var failed, ok []string
	for _, s := range d.Sessions {
		for _, c := range s.EncryptedData {
			line := fmt.Sprintf("session %d: %s %s > %s, %s (pairing %s)", s.ID, c.Direction, c.Client, c.Server, c.Outcome, c.Confidence)
			if c.Outcome == "completed" {
				ok = append(ok, line)
			} else {
				failed = append(failed, line)
			}
		}
	}
	n := len(failed) + len(ok)
	if n == 0 {
		return
	}
	tw.heading(fmt.Sprintf("Encrypted data connections (%d, %d failed: paired by hosts and timing)", n, len(failed)))
	lines := append(failed, ok...)
	if !tw.opt.AllTransfers && len(lines) > maxEncryptedLines {
		lines = lines[:maxEncryptedLines]
	}
	for _, l := range lines {
		tw.say("  ", l)
	}
	if left := n - len(lines); left > 0 {
		tw.say("  ", fmt.Sprintf("%s more not shown (--all lists every one)", count(left, "connection")))
	}
}
