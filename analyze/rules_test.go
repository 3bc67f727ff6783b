package analyze

import (
	"context"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"ftpdiag/internal/simtrace"
	"ftpdiag/pcap"
)

const (
	cli = "198.51.100.10:40000"
	srv = "203.0.113.5:21"
)

// source replays a simtrace as a packet source.
type source struct {
	ps []*pcap.Packet
	i  int
}

func (s *source) Next() (*pcap.Packet, error) {
	if s.i >= len(s.ps) {
		return nil, io.EOF
	}
	s.i++
	return s.ps[s.i-1], nil
}

func analyse(t *testing.T, tr *simtrace.Trace) *Analysis {
	t.Helper()
	a, err := Packets(context.Background(), &source{ps: tr.Packets}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// kinds lists "kind:severity" of the findings, in order.
func kinds(a *Analysis) []string {
	var out []string
	for _, f := range a.Findings {
		out = append(out, f.Kind+":"+f.Severity.String())
	}
	return out
}

// passiveRetr scripts PASV (announcing announced, h1,h2,h3,h4,p1,p2),
// RETR, the data connection and the replies. The client connects to the
// announced port at the control connection's server address, as curl does
// whatever address is announced.
func passiveRetr(t *testing.T, tr *simtrace.Trace, c *simtrace.Conv, announced string, data func(d *simtrace.Conv), replies ...string) {
	t.Helper()
	c.Say(simtrace.Client, "PASV\r\n")
	c.Say(simtrace.Server, "227 Entering Passive Mode ("+announced+").\r\n")
	c.Say(simtrace.Client, "RETR f\r\n")
	if data != nil {
		to := netip.AddrPortFrom(netip.MustParseAddrPort(srv).Addr(), announcedPort(t, announced))
		data(tr.Conv("198.51.100.10:40001", to.String()))
	}
	for _, r := range replies {
		c.Say(simtrace.Server, r+"\r\n")
	}
}

// announcedPort returns the port that h1,h2,h3,h4,p1,p2 encodes:
// p1*256+p2.
func announcedPort(t *testing.T, hp string) uint16 {
	t.Helper()
	f := strings.Split(hp, ",")
	if len(f) != 6 {
		t.Fatalf("announcedPort(%q): want six numbers", hp)
	}
	p1, err1 := strconv.ParseUint(f[4], 10, 8)
	p2, err2 := strconv.ParseUint(f[5], 10, 8)
	if err1 != nil || err2 != nil {
		t.Fatalf("announcedPort(%q): p1, p2 are not bytes", hp)
	}
	return uint16(p1<<8 | p2)
}

func unanswered(tr *simtrace.Trace) func(d *simtrace.Conv) {
	return func(d *simtrace.Conv) {
		for i := 0; i < 3; i++ {
			d.Packet(simtrace.Client, "S", "")
			d.Seq[simtrace.Client]--
			tr.Wait(time.Duration(1<<i) * time.Second)
		}
	}
}

func TestRules(t *testing.T) {
	const here = "203,0,113,5,195,80"     // the control address, port 50000
	const inside = "172,16,40,222,195,80" // a private address behind NAT
	if p := announcedPort(t, here); p != 50000 {
		t.Fatalf("announcedPort(%q) = %d; want 50000", here, p)
	}
	tests := []struct {
		name   string
		script func(t *testing.T, tr *simtrace.Trace, c *simtrace.Conv)
		want   []string
	}{
		{"clean transfer: nothing", func(t *testing.T, tr *simtrace.Trace, c *simtrace.Conv) {
			passiveRetr(t, tr, c, here, func(d *simtrace.Conv) { d.Open(); d.Say(simtrace.Server, "data"); d.Close(simtrace.Server) },
				"150 Opening BINARY mode data connection for f (4 bytes).", "226 Transfer complete.")
		}, nil},
		{"SYNs unanswered: one root cause, the 425 folded in", func(t *testing.T, tr *simtrace.Trace, c *simtrace.Conv) {
			passiveRetr(t, tr, c, here, unanswered(tr), "425 Failed to establish connection.")
		}, []string{"data_syn_unanswered:error"}},
		{"SYN refused", func(t *testing.T, tr *simtrace.Trace, c *simtrace.Conv) {
			passiveRetr(t, tr, c, here, func(d *simtrace.Conv) { d.Packet(simtrace.Client, "S", ""); d.Packet(simtrace.Server, "RA", "") },
				"425 Failed to establish connection.")
		}, []string{"data_syn_refused:error"}},
		{"FIN without the announced data", func(t *testing.T, tr *simtrace.Trace, c *simtrace.Conv) {
			passiveRetr(t, tr, c, here, func(d *simtrace.Conv) { d.Open(); d.Close(simtrace.Server) },
				"150 Opening BINARY mode data connection for f (1234 bytes).", "226 Transfer complete.")
		}, []string{"data_fin_without_data:error"}},
		{"empty file confirmed by 150 (0 bytes): nothing", func(t *testing.T, tr *simtrace.Trace, c *simtrace.Conv) {
			passiveRetr(t, tr, c, here, func(d *simtrace.Conv) { d.Open(); d.Close(simtrace.Server) },
				"150 Opening BINARY mode data connection for f (0 bytes).", "226 Transfer complete.")
		}, nil},
		{"reset mid-way", func(t *testing.T, tr *simtrace.Trace, c *simtrace.Conv) {
			passiveRetr(t, tr, c, here, func(d *simtrace.Conv) {
				d.Open()
				d.Say(simtrace.Server, strings.Repeat("x", 1000))
				d.Packet(simtrace.Client, "RA", "")
			}, "150 Opening.", "426 Failure writing network stream.")
		}, []string{"data_reset:error"}},
		{"private 227 used by the client, failed", func(t *testing.T, tr *simtrace.Trace, c *simtrace.Conv) {
			c.Say(simtrace.Client, "PASV\r\n")
			c.Say(simtrace.Server, "227 Entering Passive Mode ("+inside+").\r\n")
			c.Say(simtrace.Client, "LIST\r\n")
			d := tr.Conv("198.51.100.10:40001", "172.16.40.222:50000")
			unanswered(tr)(d)
			c.Say(simtrace.Server, "425 Failed to establish connection.\r\n")
		}, []string{"pasv_address_mismatch:error"}},
		{"private 227 ignored by the client, worked", func(t *testing.T, tr *simtrace.Trace, c *simtrace.Conv) {
			passiveRetr(t, tr, c, inside, func(d *simtrace.Conv) { d.Open(); d.Say(simtrace.Server, "data"); d.Close(simtrace.Server) },
				"150 Opening.", "226 Transfer complete.")
		}, []string{"pasv_address_mismatch:warning"}},
		{"PORT with a LAN address refused by vsftpd", func(t *testing.T, tr *simtrace.Trace, c *simtrace.Conv) {
			c.Say(simtrace.Client, "PORT 192,168,1,20,200,10\r\n")
			c.Say(simtrace.Server, "500 Illegal PORT command.\r\n")
			c.Say(simtrace.Client, "LIST\r\n")
			c.Say(simtrace.Server, "425 Use PORT or PASV first.\r\n")
		}, []string{"port_address_mismatch:error"}},
		{"PASV refused for lack of ports", func(t *testing.T, tr *simtrace.Trace, c *simtrace.Conv) {
			c.Say(simtrace.Client, "PASV\r\n")
			c.Say(simtrace.Server, "500 OOPS: vsf_sysutil_bind\r\n")
			c.Say(simtrace.Client, "LIST\r\n")
			c.Say(simtrace.Server, "425 Use PORT or PASV first.\r\n")
		}, []string{"passive_port_exhaustion:error"}},
		{"425 Security: Bad IP connecting", func(t *testing.T, tr *simtrace.Trace, c *simtrace.Conv) {
			passiveRetr(t, tr, c, here, func(d *simtrace.Conv) { d.Open(); d.Close(simtrace.Server) }, "425 Security: Bad IP connecting.")
		}, []string{"server_refused_data_endpoint:error"}},
		{"550 is about the file, not the network", func(t *testing.T, tr *simtrace.Trace, c *simtrace.Conv) {
			passiveRetr(t, tr, c, here, nil, "550 Failed to open file.")
		}, []string{"transfer_failed_reply:info"}},
		{"536 protection level refused (synthetic: no fixture server sends it)", func(t *testing.T, tr *simtrace.Trace, c *simtrace.Conv) {
			passiveRetr(t, tr, c, here, func(d *simtrace.Conv) { d.Open(); d.Close(simtrace.Server) }, "536 Requested PROT level not supported by mechanism.")
		}, []string{"transfer_failed_reply:error"}},
		{"522 data TLS failed (synthetic)", func(t *testing.T, tr *simtrace.Trace, c *simtrace.Conv) {
			passiveRetr(t, tr, c, here, func(d *simtrace.Conv) { d.Open(); d.Close(simtrace.Server) }, "522 SSL connection failed; session reuse required: see require_ssl_reuse option in vsftpd.conf man page")
		}, []string{"transfer_failed_reply:error"}},
		{"no SYN at all before 425", func(t *testing.T, tr *simtrace.Trace, c *simtrace.Conv) {
			passiveRetr(t, tr, c, here, nil, "425 Failed to establish connection.")
		}, []string{"data_not_attempted:error"}},
		{"success not captured", func(t *testing.T, tr *simtrace.Trace, c *simtrace.Conv) {
			passiveRetr(t, tr, c, here, nil, "150 Opening.", "226 Transfer complete.")
		}, []string{"capture_incomplete:info"}},
		{"slow connect", func(t *testing.T, tr *simtrace.Trace, c *simtrace.Conv) {
			passiveRetr(t, tr, c, here, func(d *simtrace.Conv) {
				d.Packet(simtrace.Client, "S", "")
				d.Seq[simtrace.Client]--
				tr.Wait(time.Second)
				d.Open()
				d.Say(simtrace.Server, "data")
				d.Close(simtrace.Server)
			}, "150 Opening.", "226 Transfer complete.")
		}, []string{"slow_data_connect:warning"}},
		{"active from an ephemeral port", func(t *testing.T, tr *simtrace.Trace, c *simtrace.Conv) {
			c.Say(simtrace.Client, "PORT 198,51,100,10,78,32\r\n")
			c.Say(simtrace.Server, "200 PORT command successful.\r\n")
			c.Say(simtrace.Client, "NLST\r\n")
			d := tr.Conv("203.0.113.5:33000", "198.51.100.10:20000").Open()
			d.Say(simtrace.Client, "a\r\n")
			d.Close(simtrace.Client)
			c.Say(simtrace.Server, "226 Transfer complete.\r\n")
		}, []string{"active_mode_source_port:info"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := simtrace.New()
			c := tr.Login(cli, srv)
			tt.script(t, tr, c)
			if got := kinds(analyse(t, tr)); !slices.Equal(got, tt.want) {
				t.Errorf("findings %q, want %q", got, tt.want)
			}
		})
	}
}

// TestTimeWaitReuse: the same active 5-tuple twice, 5 s apart.
func TestTimeWaitReuse(t *testing.T) {
	tr := simtrace.New()
	c := tr.Login(cli, srv)
	tr.FixedPortListings(c, 2, 5*time.Second)
	a := analyse(t, tr)
	got := kinds(a)
	if !slices.Equal(got, []string{"timewait_tuple_reuse:warning"}) {
		t.Fatalf("findings %q", got)
	}
	ev := a.Findings[0].Evidence
	if ev["time_wait_holder"] != "203.0.113.5:20" || ev["isn_above_previous_sequence"] != true {
		t.Errorf("evidence %v", ev)
	}
}
