package gen

import "fmt"

// The simulated network: local clients behind the capture point's router,
// remote servers beyond it.
const (
	numClients    = 240 // 198.51.100.10-249, 2001:db8:64::/64
	numServers    = 300 // 203.0.113.2-151, 192.0.2.2-151, 2001:db8:200::/56
	numFTPServers = 80  // 203.0.113.160-199, 192.0.2.160-199, 2001:db8:21::/64
)

// ouis are vendors' MAC prefixes for local hosts.
var ouis = [...][3]byte{
	{0x3c, 0xfd, 0xfe}, {0xf4, 0x8e, 0x38}, {0x00, 0x1b, 0x21}, {0xa4, 0xbb, 0x6d}, {0x52, 0x54, 0x00},
}

// localHost returns a host on the capture point's LAN.
func localHost(v4 [4]byte, v6 [16]byte, v6on bool, salt uint64) host {
	h := host{ttl: 64}
	if v6on {
		h.ip = v6
	} else {
		copy(h.ip[:4], v4[:])
	}
	m := mix(salt)
	o := ouis[m%uint64(len(ouis))]
	h.mac = [6]byte{o[0], o[1], o[2], byte(m >> 8), byte(m >> 16), byte(m >> 24)}
	if m>>40%4 == 0 {
		h.ttl = 128 // a Windows host
	}
	return h
}

// client returns local client i.
func client(i int, v6 bool) host {
	v6a := [16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0x64}
	m := mix(uint64(i) + 0xc1)
	le.PutUint64(v6a[8:], m|0x0200000000000000)
	return localHost([4]byte{198, 51, 100, byte(10 + i)}, v6a, v6, uint64(i)+0xc1)
}

// gateway returns the router at the capture point (ARP only).
func gateway() host {
	return host{ip: [16]byte{198, 51, 100, 1}, mac: gatewayMAC, ttl: 64}
}

// resolver returns the local DNS resolver.
func resolver(v6 bool) host {
	return localHost([4]byte{198, 51, 100, 53}, [16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0x64, 15: 0x53}, v6, 0x53)
}

// remote returns a host beyond the router: seen with the router's MAC and
// a TTL lowered by the hops between.
func remote(ip [16]byte, salt uint64) host {
	m := mix(salt)
	initial := [...]int{64, 64, 128, 255}[m%4]
	return host{ip: ip, mac: gatewayMAC, ttl: uint8(initial - 4 - int(m>>8%20))}
}

// server returns remote server i.
func server(i int, v6 bool) host {
	var ip [16]byte
	switch {
	case v6:
		ip = [16]byte{0x20, 0x01, 0x0d, 0xb8, 0x02, byte(i >> 8), 0, byte(i), 15: 1}
	case i%2 == 0:
		ip = [16]byte{203, 0, 113, byte(2 + i/2)}
	default:
		ip = [16]byte{192, 0, 2, byte(2 + i/2)}
	}
	return remote(ip, uint64(i)+0x5e)
}

// rttOf returns a remote host's typical round-trip time from the capture
// point, µs.
func rttOf(i int) int64 { return 2000 + int64(mix(uint64(i)+0x77)%120000) }

// ftpServer is an FTP server and its configuration.
type ftpServer struct {
	host
	index   int
	dialect *dialect
	private [4]byte // the internal address it announces when behind NAT
	pasvLo  int     // passive port range
	pasvHi  int
	from20  bool  // active-mode connections come from port 20
	timeout int64 // how long it waits for a data connection, µs
	rtt     int64
}

// ftpServerAt returns FTP server i.
func ftpServerAt(i int, v6 bool) ftpServer {
	var ip [16]byte
	switch {
	case v6:
		ip = [16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0x21, 15: byte(i + 1)}
	case i%2 == 0:
		ip = [16]byte{203, 0, 113, byte(160 + i/2)}
	default:
		ip = [16]byte{192, 0, 2, byte(160 + i/2)}
	}
	m := mix(uint64(i) + 0xf7)
	s := ftpServer{
		host:    remote(ip, uint64(i)+0xf7),
		index:   i,
		dialect: &vsftpd,
		from20:  m%4 != 0,
		timeout: int64(6+m>>8%15) * 1e6,
		rtt:     rttOf(1000 + i),
	}
	if m>>16%5 < 2 {
		s.dialect = &proftpd
	}
	if i%2 == 0 {
		s.private = [4]byte{10, byte(m >> 24), byte(i), 10}
	} else {
		s.private = [4]byte{172, byte(16 + m>>24%16), byte(i), 5}
	}
	s.pasvLo = 30000 + int(m>>32%20000)
	s.pasvHi = s.pasvLo + 100 + int(m>>48%2000)
	return s
}

// ephemeral returns a Linux ephemeral port.
func (g *generator) ephemeral() uint16 { return uint16(g.between(32768, 60999)) }

// pickClient returns a client index, some clients busier than others.
func (g *generator) pickClient() int {
	u := g.rng.Float64()
	return int(u * u * numClients)
}

// newConn adds a connection from a to b to f and returns its index.
func (g *generator) newConn(f *flow, proto uint8, class Class, v6 bool, a, b endpoint) int {
	c := conn{proto: proto, v6: v6, class: class, ep: [2]endpoint{a, b}}
	for d := range 2 {
		c.isn[d] = g.rng.Uint32()
		c.ts0[d] = g.rng.Uint32()
		c.ipid[d] = uint16(g.rng.Uint32())
		c.win[d] = uint16(g.between(235, 2048))
		c.wscale[d] = uint8(g.between(6, 9))
		c.mss[d] = 1460
		if v6 {
			c.mss[d] = 1440
		}
		c.label[d] = g.rng.Uint32() & 0xfffff
		c.tls[d].hdrPos = 5
	}
	if g.chance(0.1) {
		c.mss[1] -= 80 // a server behind a tunnel
	}
	f.conns = append(f.conns, c)
	return len(f.conns) - 1
}

// newTCP adds a TCP connection and returns a planner for it.
func (g *generator) newTCP(f *flow, class Class, v6 bool, a, b endpoint, near uint8, rtt int64) *tcpPlan {
	c := g.newConn(f, protoTCP, class, v6, a, b)
	return &tcpPlan{f: f, g: g, c: c, near: near, rtt: rtt, gap: g.bottleneck()}
}

// bottleneck returns the spacing of full-size segments on a path, µs.
func (g *generator) bottleneck() int64 {
	switch r := g.rng.Float64(); {
	case r < 0.3:
		return 12 // 1 Gbit/s
	case r < 0.6:
		return 40 // 300 Mbit/s
	case r < 0.85:
		return 120 // 100 Mbit/s
	default:
		return 600 // 20 Mbit/s
	}
}

// hostname returns a plausible name under a documentation domain.
func (g *generator) hostname() string {
	labels := [...]string{"www", "api", "cdn", "static", "img", "login", "mail", "updates", "telemetry", "assets", "video", "docs", "shop", "ws", "auth"}
	domains := [...]string{"example.com", "example.net", "example.org"}
	l := labels[g.rng.IntN(len(labels))]
	dom := domains[g.rng.IntN(len(domains))]
	if g.chance(0.4) {
		return fmt.Sprintf("%s%d.%s", l, g.rng.IntN(40), dom)
	}
	return l + "." + dom
}
