package report

import "testing"

// TestSessionHeadingBadges: a session's heading badges at most
// maxHeaderFindings findings and counts the rest (400 announcements of
// 400 addresses once drew 400 badges there).
func TestSessionHeadingBadges(t *testing.T) {
	for _, tc := range []struct{ findings, badged, more int }{
		{0, 0, 0}, {3, 3, 0}, {maxHeaderFindings, maxHeaderFindings, 0}, {400, maxHeaderFindings, 400 - maxHeaderFindings},
	} {
		s := htmlSession{Findings: make([]Finding, tc.findings)}
		if got := len(s.HeaderFindings()); got != tc.badged {
			t.Errorf("%d findings: %d badged, want %d", tc.findings, got, tc.badged)
		}
		if got := s.MoreFindings(); got != tc.more {
			t.Errorf("%d findings: %d more, want %d", tc.findings, got, tc.more)
		}
	}
}
