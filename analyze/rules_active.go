package analyze

import (
	"fmt"
	"strings"

	"ftpdiag/ftpflow"
)

// connectFailureWords are what servers write after 425 when their own
// connect() to the client's PORT/EPRT address failed: vsftpd "Failed to
// establish connection.", ProFTPD "Unable to build data connection:" and
// Pure-FTPd followed by strerror ("Connection timed out", "Connection
// refused", "No route to host", "Network is unreachable"). A local
// failure (ProFTPD's "Address already in use", "Permission denied") is
// not among them: the server did not get as far as the network.
var connectFailureWords = [...]string{
	"timed out", "timeout", "connection refused", "unreachable", "no route", "failed to establish",
}

// serverTriedConnect reports whether the final reply of an active-mode
// transfer says the server tried to open the data connection and failed:
// the fault then lies on the way to the client, not in the client.
func serverTriedConnect(t *ftpflow.Transfer) bool {
	f := t.Final()
	if t.Mode != ftpflow.ModeActive || f == nil || f.Code != 425 {
		return false
	}
	text := strings.ToLower(f.Text)
	for _, w := range connectFailureWords {
		if strings.Contains(text, w) {
			return true
		}
	}
	return false
}

// activeConnectRemedy is the advice for an active-mode data connection
// that the server could not open: it connects to the address the client
// named, so what stands in front of the client is what to check.
const activeConnectRemedy = "In active mode the FTP server opens the data connection towards the address the client named in PORT/EPRT: look at what stands in front of the client (its host firewall, its NAT router and whether an FTP helper there opens a pinhole and rewrites the PORT, whether the named address is one the server can reach), and capture on the client's side to see whether the server's SYN arrives; or use passive mode."

// activeTriedWords explains a 425 that says the server's connect failed.
func activeTriedWords(t *ftpflow.Transfer) string {
	return fmt.Sprintf("The server's reply (425 %q) says it did try to connect to the client's announced endpoint and failed; the SYN was lost, or refused, on the way to the client or by the client's own firewall.", truncate(t.Final().Text, 80))
}
