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

// TestDroppedOfferUnlinksItsEndpoint: once a session's announcements are
// beyond MaxOffersKept, a data connection to an endpoint announced again
// answers the dropped announcement, not the kept one that announced the
// same endpoint earlier; it is linked to no offer.
func TestDroppedOfferUnlinksItsEndpoint(t *testing.T) {
	tr := simtrace.New()
	c := tr.Login(cliCtl, srvCtl)
	const pasv = "227 Entering Passive Mode (203,0,113,5,117,48).\r\n" // port 30000
	dataConn := func(port string) {
		d := tr.Conv(port, "203.0.113.5:30000")
		d.Open()
		d.Say(simtrace.Server, "x")
		d.Close(simtrace.Server)
	}
	for i := range MaxOffersKept + 1 {
		c.Say(simtrace.Client, "PASV\r\n")
		c.Say(simtrace.Server, pasv)
		if i == 0 || i == MaxOffersKept {
			// The first offer's own connection, and one answering the
			// first dropped announcement.
			dataConn(fmt.Sprintf("198.51.100.10:%d", 40000+i%2))
		}
	}
	s := only(t, run(tr))
	if s.Dropped.Offers != 1 {
		t.Fatalf("%d offers dropped, want 1", s.Dropped.Offers)
	}
	for _, o := range s.Offers {
		if len(o.Conns) > 1 || len(o.Conns) == 1 && o.ID != 1 {
			t.Errorf("offer %d holds %d connections; only offer 1 should hold one", o.ID, len(o.Conns))
		}
	}
	if len(s.Offers[0].Conns) != 1 {
		t.Errorf("offer 1 holds %d connections, want its own", len(s.Offers[0].Conns))
	}
}
