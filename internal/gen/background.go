package gen

// planHTTPS plans one HTTPS-like connection of at most about budget bytes:
// handshake, TLS 1.3 hellos, the server's encrypted flight, one or a few
// requests and responses, and an orderly close or a reset.
func (g *generator) planHTTPS(f *flow, t0, budget int64) {
	v6 := g.chance(0.18)
	si := g.rng.IntN(numServers)
	p := g.newTCP(f, ClassHTTPS, v6,
		endpoint{client(g.pickClient(), v6), g.ephemeral()},
		endpoint{server(si, v6), 443}, 0, rttOf(si)*int64(g.between(90, 110))/100)
	f.name = g.hostname()
	rcap := max((budget-9000)*10/11, 1500)

	t := p.handshake(t0) + g.between(30, 400)
	p.seg(t, 0, flagPSH|flagACK, payClientHello, clientHelloLen(len(f.name)), 0)
	ts := t + p.rtt + g.between(300, 3000)
	p.seg(ts, 1, flagACK, payServerHello, serverHelloLen, 0)
	l1 := int(g.between(1800, 5200))
	last, lastAck := p.bulk(ts+p.gap, 1, l1, payTLS, uint32(l1), 0)
	tc := max(last, lastAck) + g.between(300, 2500)
	reqs := 1
	if g.chance(0.3) {
		reqs = int(g.between(2, 4))
	}
	abort := g.chance(0.04)
	for i := range reqs {
		l2 := int(g.between(90, 900))
		if i == 0 {
			l2 += 58 // the client's Finished
		}
		p.seg(tc, 0, flagPSH|flagACK, payTLS, l2, uint32(l2))
		tr := tc + p.rtt + g.between(1000, 60000)
		r := min(g.logUniform(1500, 400000), max(rcap/int64(reqs), 1500))
		if abort && i == reqs-1 {
			mss := p.mss(1)
			part := max(int(r)*int(g.between(10, 80))/100, mss)
			inflight := 0
			if int(r)-part > 3*mss {
				inflight = int(g.between(0, 2))
			}
			last, lastAck = p.bulk(tr, 1, part, payTLS, uint32(r), 0)
			tx := max(last, lastAck) + g.between(100, 3000)
			p.seg(tx, 0, flagRST|flagACK, payNone, 0, 0)
			for k := range inflight {
				ti := tx + int64(k+1)*p.gap + g.between(5, 50)
				p.seg(ti, 1, flagACK, payTLS, mss, 0)
				f.add(ti+g.between(10, 60), p.c, 0, flagRST, payNone, optNone, 0, 0)
			}
			return
		}
		last, lastAck = p.bulk(tr, 1, int(r), payTLS, uint32(r), 0)
		tc = max(last, lastAck) + g.logUniform(2000, 300000)
	}
	tEnd := max(last, lastAck) + g.logUniform(5000, 1500000)
	switch r := g.rng.Float64(); {
	case r < 0.65:
		p.close(tEnd, 0)
	case r < 0.87:
		p.close(tEnd, 1)
	default:
		p.seg(tEnd, 0, flagRST|flagACK, payNone, 0, 0) // a browser dropping the connection
	}
}

// planDNS plans one query to the local resolver and its answer.
func (g *generator) planDNS(f *flow, t0 int64) {
	v6 := g.chance(0.15)
	c := g.newConn(f, protoUDP, ClassDNS, v6,
		endpoint{client(g.pickClient(), v6), g.ephemeral()}, endpoint{resolver(v6), 53})
	f.name = g.hostname()
	f.dns = dnsMsg{id: uint16(g.rng.Uint32()), qtype: dnsA, ttl: uint32(g.between(30, 3600)), seed: g.rng.Uint32()}
	if g.chance(0.35) {
		f.dns.qtype = dnsAAAA
	}
	if g.chance(0.05) {
		f.dns.rcode = 3 // NXDOMAIN
	} else {
		f.dns.answers = uint8(g.between(1, 4))
	}
	f.add(t0, c, 0, 0, payDNSQuery, optNone, dnsLen(f.name, &f.dns, false), 0)
	f.add(t0+g.logUniform(150, 40000), c, 1, 0, payDNSResponse, optNone, dnsLen(f.name, &f.dns, true), 0)
}

// pingLen is the ICMP payload of iputils ping.
const pingLen = 56

// planICMP plans a ping (a few echo requests a second apart, mostly
// answered) or a UDP probe answered by port unreachable.
func (g *generator) planICMP(f *flow, t0 int64) {
	v6 := g.chance(0.2)
	si := g.rng.IntN(numServers)
	cl, sv := client(g.pickClient(), v6), server(si, v6)
	rtt := rttOf(si)
	if g.chance(0.75) {
		c := g.newConn(f, protoICMP, ClassICMP, v6, endpoint{host: cl}, endpoint{host: sv})
		for i := range int(g.between(1, 4)) {
			t := t0 + int64(i)*1000000 + g.between(0, 300)
			f.add(t, c, 0, 0, payEchoRequest, optNone, pingLen, uint32(i+1))
			if g.chance(0.95) {
				f.add(t+rtt+g.between(10, 500), c, 1, 0, payEchoReply, optNone, pingLen, uint32(i+1))
			}
		}
		return
	}
	port := uint16(g.between(33434, 33534)) // traceroute's range
	u := g.newConn(f, protoUDP, ClassICMP, v6, endpoint{cl, g.ephemeral()}, endpoint{sv, port})
	f.add(t0, u, 0, 0, payRandom, optNone, 32, 0)
	ic := g.newConn(f, protoICMP, ClassICMP, v6, endpoint{host: cl}, endpoint{host: sv})
	q := ipv4Len + udpLen
	if v6 {
		q = ipv6Len + udpLen
	}
	f.add(t0+rtt+g.between(10, 500), ic, 1, 0, payUnreachable, optNone, q, 0)
}

// planARP plans a who-has and its reply on the LAN.
func (g *generator) planARP(f *flow, t0 int64) {
	a := client(g.pickClient(), false)
	b := gateway()
	if g.chance(0.3) {
		b = client(g.pickClient(), false)
	}
	if g.chance(0.5) {
		a, b = b, a
	}
	c := g.newConn(f, protoARP, ClassARP, false, endpoint{host: a}, endpoint{host: b})
	f.add(t0, c, 0, 0, payARPRequest, optNone, 0, 0)
	f.add(t0+g.between(40, 800), c, 1, 0, payARPReply, optNone, 0, 0)
}
