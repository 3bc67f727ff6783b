package ftpflow

import (
	"fmt"
	"testing"

	"ftpdiag/internal/simtrace"
)

// TestPerSessionBounds: one session cannot make the tracker keep more than
// MaxTransfersKept transfers and MaxOffersKept announcements; what it did
// not keep is counted (issue 13).
func TestPerSessionBounds(t *testing.T) {
	tr := simtrace.New()
	c := tr.Login(cliCtl, srvCtl)
	for i := range MaxOffersKept + 2 {
		c.Say(simtrace.Client, "PASV\r\n")
		c.Say(simtrace.Server, fmt.Sprintf("227 Entering Passive Mode (203,0,113,5,%d,%d).\r\n", 100+i>>8%100, i&0xff))
	}
	for i := range MaxTransfersKept + 3 {
		c.Say(simtrace.Client, fmt.Sprintf("RETR f%d\r\n", i))
		c.Say(simtrace.Server, "550 Failed to open file.\r\n")
	}
	s := only(t, run(tr))
	if len(s.Offers) != MaxOffersKept || s.Dropped.Offers != 2 {
		t.Errorf("%d offers kept, %d dropped; want %d, 2", len(s.Offers), s.Dropped.Offers, MaxOffersKept)
	}
	if len(s.Transfers) != MaxTransfersKept || s.Dropped.Transfers != 3 {
		t.Errorf("%d transfers kept, %d dropped; want %d, 3", len(s.Transfers), s.Dropped.Transfers, MaxTransfersKept)
	}
	if s.Commands != MaxOffersKept+2+MaxTransfersKept+3+2 {
		t.Errorf("%d commands counted", s.Commands)
	}
}
