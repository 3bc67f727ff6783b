package report

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	"ftpdiag/analyze"
)

// TestHTMLShowsConfidence: a finding whose cause is not certain says how
// sure it is next to its severity on the page, as the text report does
// (the MTU black hole seen from the client is "possible", from the server
// "likely"); a certain one says nothing more.
func TestHTMLShowsConfidence(t *testing.T) {
	for _, tt := range []struct{ capture, want string }{
		{"11-mtu-blackhole-client.pcap", "possible"},
		{"11-mtu-blackhole-server.pcap", "likely"},
		{"04-active-client-firewall-curl-client.pcap", ""},
	} {
		a, err := analyze.Run(context.Background(), analyze.Files("../fixtures/captures/"+tt.capture), analyze.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var page bytes.Buffer
		if err := WriteHTML(&page, a, HTMLOptions{}); err != nil {
			t.Fatal(err)
		}
		got := regexp.MustCompile(`<span class="badge (?:error|warning|info)">(?:error|warning|info)</span> <span class="conf"[^>]*>([a-z]+)</span>`).FindAllStringSubmatch(page.String(), -1)
		switch {
		case tt.want == "" && len(got) != 0:
			t.Errorf("%s: a certain finding shows a confidence: %q", tt.capture, got[0][1])
		case tt.want != "" && (len(got) == 0 || got[0][1] != tt.want):
			t.Errorf("%s: confidence shown %v, want %q beside the severity", tt.capture, got, tt.want)
		}
	}
}
