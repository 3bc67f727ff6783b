package analyze

import (
	"testing"

	"ftpdiag/ftpflow"
)

func TestJudgePASV(t *testing.T) {
	const private, public = "private (RFC 1918)", "public"
	tests := []struct {
		name  string
		facts pasvFacts
		want  pasvVerdict
	}{
		{"private address obeyed, transfer failed",
			pasvFacts{class: private, transfers: 1, failed: 1, toAnnounced: 1, dead: 1},
			pasvVerdict{Error, pasvInternal, pasvFailed}},
		{"private address obeyed, client gave up before the command",
			pasvFacts{class: private, toAnnounced: 3, dead: 3},
			pasvVerdict{Error, pasvInternal, pasvDeadSYNs}},
		{"own private address, nothing reached the server's capture",
			pasvFacts{class: private, sameAsServer: true, abandoned: true},
			pasvVerdict{Error, pasvOwnAddress, pasvAbandoned}},
		{"private address ignored by curl: worked",
			pasvFacts{class: private, transfers: 1, toControl: 1},
			pasvVerdict{Warning, pasvInternal, pasvIgnored}},
		{"ignored, yet another transfer failed on it",
			pasvFacts{class: private, transfers: 2, failed: 1, toControl: 1},
			pasvVerdict{Error, pasvInternal, pasvIgnored}},
		{"own private address, client inside the NAT: worked",
			pasvFacts{class: private, sameAsServer: true, transfers: 1, toAnnounced: 1},
			pasvVerdict{Warning, pasvOwnAddress, pasvWorked}},
		{"private address never used",
			pasvFacts{class: private},
			pasvVerdict{Warning, pasvInternal, pasvUnused}},
		{"public address while the client reaches a private one, unused",
			pasvFacts{class: public, serverUnroutable: true, transfers: 1},
			pasvVerdict{Warning, pasvHairpin, pasvUnknown}},
		{"public address hairpinned, worked",
			pasvFacts{class: public, serverUnroutable: true, transfers: 1, toAnnounced: 1},
			pasvVerdict{Info, pasvHairpin, pasvWorked}},
		{"behind DNAT, public address announced, client outside: forwarded",
			pasvFacts{class: public, serverUnroutable: true, clientOutside: true, transfers: 1, toControl: 1, vantage: ftpflow.VantageServer},
			pasvVerdict{Info, pasvBehindDNAT, pasvForwarded}},
		{"behind DNAT, vantage unknown: still the NAT",
			pasvFacts{class: public, serverUnroutable: true, clientOutside: true, transfers: 1, toControl: 1},
			pasvVerdict{Info, pasvBehindDNAT, pasvForwarded}},
		{"behind DNAT, transfer failed",
			pasvFacts{class: public, serverUnroutable: true, clientOutside: true, transfers: 1, failed: 1, vantage: ftpflow.VantageServer},
			pasvVerdict{Error, pasvBehindDNAT, pasvFailed}},
		{"client outside reaches a private address, seen at the client (VPN): hairpin",
			pasvFacts{class: public, serverUnroutable: true, clientOutside: true, transfers: 1, toControl: 1, vantage: ftpflow.VantageClient},
			pasvVerdict{Warning, pasvHairpin, pasvIgnored}},
		{"client on the server's private network, public address ignored",
			pasvFacts{class: public, serverUnroutable: true, transfers: 1, toControl: 1},
			pasvVerdict{Warning, pasvHairpin, pasvIgnored}},
		{"separate public data host, worked",
			pasvFacts{class: public, transfers: 1, toAnnounced: 1},
			pasvVerdict{Info, pasvOtherPublic, pasvWorked}},
		{"separate public data host, no connection captured",
			pasvFacts{class: public, transfers: 1},
			pasvVerdict{Info, pasvOtherPublic, pasvUnknown}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := judgePASV(tt.facts); got != tt.want {
				t.Errorf("judgePASV(%+v) = %+v; want %+v", tt.facts, got, tt.want)
			}
		})
	}
}

func TestJudgePORT(t *testing.T) {
	const private, public = "private (RFC 1918)", "public"
	tests := []struct {
		name  string
		facts portFacts
		want  portVerdict
	}{
		{"LAN address refused by vsftpd",
			portFacts{class: private, refused: true, transfers: 1, failed: 1},
			portVerdict{Error, portBehindNAT, portFailed}},
		{"LAN address refused, no transfer asked",
			portFacts{class: private, refused: true},
			portVerdict{Error, portBehindNAT, portUnused}},
		{"LAN address, server connected to the control address",
			portFacts{class: private, transfers: 1, toControl: 1},
			portVerdict{Warning, portBehindNAT, portToControl}},
		{"own LAN address rewritten by a helper: worked",
			portFacts{class: private, sameAsClient: true, transfers: 1, toAnnounced: 1},
			portVerdict{Info, portOwnAddress, portToAnnounced}},
		{"own LAN address, transfer failed",
			portFacts{class: private, sameAsClient: true, transfers: 1, failed: 1, toAnnounced: 1},
			portVerdict{Error, portOwnAddress, portFailed}},
		{"own LAN address, no connection captured",
			portFacts{class: private, sameAsClient: true, transfers: 1},
			portVerdict{Warning, portOwnAddress, portNoOutcome}},
		{"third host (FXP or bounce)",
			portFacts{class: public, transfers: 1, toAnnounced: 1},
			portVerdict{Warning, portThirdParty, portToAnnounced}},
		{"EPRT of the other family",
			portFacts{class: public, otherFamily: true, transfers: 1, toAnnounced: 1},
			portVerdict{Info, portOtherFamily, portToAnnounced}},
		{"EPRT of the other family, failed",
			portFacts{class: public, otherFamily: true, transfers: 1, failed: 1},
			portVerdict{Error, portOtherFamily, portFailed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := judgePORT(tt.facts); got != tt.want {
				t.Errorf("judgePORT(%+v) = %+v; want %+v", tt.facts, got, tt.want)
			}
		})
	}
}
