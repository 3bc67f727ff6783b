// Command hostile builds each hostile capture shape of issues 13 and 20 at
// N and 4N, runs ftpdiag on both, and prints wall time, peak RSS, output
// size and the slope: log4 of the time ratio (1 is linear, 2 quadratic).
//
//	go build -o /tmp/ftpdiag ./cmd/ftpdiag
//	go run ./bench/hostile -ftpdiag /tmp/ftpdiag            # every shape
//	go run ./bench/hostile -ftpdiag /tmp/ftpdiag -shape retr550 -scale 4
//
// Captures are written to -dir (a temporary directory by default) and
// removed afterwards unless -keep.
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// shape is one way of growing a capture along one dimension.
type shape struct {
	name, issue, what string
	n                 int      // N at -scale 1
	args              []string // ftpdiag flags besides the capture
	build             func(c *capture, n int)
}

var shapes = []shape{
	{"pasv-pipelined", "13", "one session pipelining N PASV, each answered by a 227, many per segment", 5000, nil, pasvPipelined},
	{"idle-passive", "13", "N sessions behind one idle session that announced a passive port", 5000, nil, idlePassive},
	{"retr550", "13", "one session with N refused RETRs (550)", 25000, nil, retr550},
	{"ftps-data", "20", "an encrypted session and N data connections between its hosts", 5000, nil, ftpsData},
	{"ftps-syns", "20", "an encrypted session and N one-packet SYNs between its hosts", 12500, nil, ftpsSYNs},
	{"announcements-explain", "20", "one session with N announcements, each of another address a SYN goes to, --explain", 500, []string{"--explain"}, announcements},
	{"announcements-html", "20", "one session with N announcements, each of another address a SYN goes to, --format html", 500, []string{"--format", "html"}, announcements},
	{"transfers-json", "20", "one session with N transfers, --format json", 25000, []string{"--format", "json"}, transfers},
	{"extract", "20", "N failing sessions, --extract", 1000, []string{"--extract", "@DIR"}, failingSessions},
	{"syn-flood-21", "20", "N half-open connections to port 21, then a failing session", 25000, nil, synFlood},
}

var (
	srvAddr = netip.MustParseAddr("203.0.113.5")
	cliAddr = netip.MustParseAddr("198.51.100.10")
)

func ap(a netip.Addr, port int) netip.AddrPort { return netip.AddrPortFrom(a, uint16(port)) }

func pasvReply(port int) string {
	return fmt.Sprintf("227 Entering Passive Mode (203,0,113,5,%d,%d).\r\n", port>>8, port&0xff)
}

func pasvPipelined(c *capture, n int) {
	v := c.login(ap(cliAddr, 40000), ap(srvAddr, 21))
	const per = 20
	for i := 0; i < n; i += per {
		v.say(client, strings.Repeat("PASV\r\n", per))
		var b strings.Builder
		for j := range per {
			b.WriteString(pasvReply(30000 + (i+j)%20000))
		}
		v.say(server, b.String())
	}
	v.close()
}

func idlePassive(c *capture, n int) {
	idle := c.login(ap(cliAddr, 40000), ap(srvAddr, 21))
	idle.say(client, "PASV\r\n")
	idle.say(server, pasvReply(29999))
	for i := range n {
		cli := netip.AddrFrom4([4]byte{198, 51, 100, byte(20 + i%200)})
		v := c.login(ap(cli, 1024+i%60000), ap(srvAddr, 21))
		port := 30000 + i%20000
		v.say(client, "PASV\r\n")
		v.say(server, pasvReply(port))
		v.say(client, "LIST\r\n")
		d := c.conv(ap(cli, 1024+(i+30000)%60000), ap(srvAddr, port)).open()
		v.say(server, "150 Here comes the directory listing.\r\n")
		d.say(server, "pub\r\n")
		d.close()
		v.say(server, "226 Directory send OK.\r\n")
		v.say(client, "QUIT\r\n")
		v.say(server, "221 Goodbye.\r\n")
		v.close()
	}
}

func retr550(c *capture, n int) {
	v := c.login(ap(cliAddr, 40000), ap(srvAddr, 21))
	for i := range n {
		v.say(client, fmt.Sprintf("RETR f%d\r\n", i))
		v.say(server, "550 Failed to open file.\r\n")
	}
	v.close()
}

// ftpsSession opens an FTPS control connection up to the 234.
func ftpsSession(c *capture) *conv {
	v := c.conv(ap(cliAddr, 40000), ap(srvAddr, 21)).open()
	v.say(server, "220 FTP ready\r\n")
	v.say(client, "AUTH TLS\r\n")
	v.say(server, "234 Proceed with negotiation.\r\n")
	v.say(client, "\x16\x03\x01\x00\x04abcd")
	v.say(server, "\x16\x03\x03\x00\x04abcd")
	return v
}

func ftpsData(c *capture, n int) {
	v := ftpsSession(c)
	for i := range n {
		v.say(client, "\x17\x03\x03\x00\x04PASV")
		v.say(server, "\x17\x03\x03\x00\x04227.")
		d := c.conv(ap(cliAddr, 1024+i%60000), ap(srvAddr, 30000+i%20000)).open()
		d.say(server, "\x17\x03\x03\x00\x04data")
		d.close()
	}
	v.close()
}

func ftpsSYNs(c *capture, n int) {
	v := ftpsSession(c)
	for i := range n {
		c.conv(ap(cliAddr, 1024+i%60000), ap(srvAddr, 30000+i%20000)).packet(client, syn, "")
	}
	v.close()
}

// announcements: each 227 names another private address, and the client
// obeys with a SYN that gets no answer, so that every announcement brings a
// new host to the session's pictures.
func announcements(c *capture, n int) {
	v := c.login(ap(cliAddr, 40000), ap(srvAddr, 21))
	for i := range n {
		to := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		port := 30000 + i%20000
		v.say(client, "PASV\r\n")
		v.say(server, fmt.Sprintf("227 Entering Passive Mode (10,%d,%d,%d,%d,%d).\r\n", byte(i>>16), byte(i>>8), byte(i), port>>8, port&0xff))
		c.conv(ap(cliAddr, 1024+i%60000), ap(to, port)).packet(client, syn, "")
	}
	v.say(client, "LIST\r\n")
	v.say(server, "425 Failed to establish connection.\r\n")
	v.close()
}

func transfers(c *capture, n int) {
	v := c.login(ap(cliAddr, 40000), ap(srvAddr, 21))
	for i := range n {
		port := 30000 + i%20000
		v.say(client, "PASV\r\n")
		v.say(server, pasvReply(port))
		v.say(client, fmt.Sprintf("RETR f%d\r\n", i))
		d := c.conv(ap(cliAddr, 1024+i%60000), ap(srvAddr, port)).open()
		v.say(server, "150 Opening BINARY mode data connection.\r\n")
		d.say(server, "x")
		d.close()
		v.say(server, "226 Transfer complete.\r\n")
	}
	v.close()
}

func failingSessions(c *capture, n int) {
	for i := range n {
		cli := netip.AddrFrom4([4]byte{198, 51, 100, byte(20 + i%200)})
		v := c.login(ap(cli, 1024+i%60000), ap(srvAddr, 21))
		port := 30000 + i%20000
		v.say(client, "PASV\r\n")
		v.say(server, pasvReply(port))
		v.say(client, "LIST\r\n")
		d := c.conv(ap(cli, 1024+(i+30000)%60000), ap(srvAddr, port))
		d.packet(client, syn, "")
		v.say(server, "425 Failed to establish connection.\r\n")
		v.close()
	}
}

func synFlood(c *capture, n int) {
	for i := range n {
		src := netip.AddrFrom4([4]byte{192, 0, byte(2 + i/60000%200), byte(1 + i%250)})
		c.conv(ap(src, 1024+i%60000), ap(srvAddr, 21)).packet(client, syn, "")
	}
	failingSessions(c, 1)
}

// result is one run of ftpdiag.
type result struct {
	size    int64
	wall    time.Duration
	rssKiB  int64
	out     int64
	code    int
	skipped bool
}

func main() {
	bin := flag.String("ftpdiag", "", "ftpdiag binary (required)")
	only := flag.String("shape", "", "run only the shapes whose name contains this")
	scale := flag.Float64("scale", 1, "multiply every N by this")
	dir := flag.String("dir", "", "directory for the captures (default: a temporary one)")
	keep := flag.Bool("keep", false, "keep the captures")
	timeout := flag.Duration("timeout", 5*time.Minute, "give up on a run after this long")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "hostile: -ftpdiag BINARY is required")
		os.Exit(2)
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "ftpdiag-hostile-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "hostile:", err)
			os.Exit(1)
		}
		*dir = d
		if !*keep {
			defer os.RemoveAll(d)
		}
	}
	fmt.Printf("| shape | issue | N | capture | time | peak RSS | output | 4N | capture | time | peak RSS | output | slope (time) |\n")
	fmt.Printf("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, s := range shapes {
		if *only != "" && !strings.Contains(s.name, *only) {
			continue
		}
		n := int(math.Max(1, float64(s.n)**scale))
		var rs [2]result
		for i, m := range []int{n, 4 * n} {
			r, err := measure(*bin, *dir, s, m, *timeout, *keep)
			if err != nil {
				fmt.Fprintf(os.Stderr, "hostile: %s at %d: %v\n", s.name, m, err)
				os.Exit(1)
			}
			rs[i] = r
		}
		slope := "-"
		if !rs[1].skipped && rs[0].wall > 0 {
			slope = fmt.Sprintf("%.2f", math.Log(float64(rs[1].wall)/float64(rs[0].wall))/math.Log(4))
		}
		fmt.Printf("| %s | %s | %d | %s | %s | %s | %s | %d | %s | %s | %s | %s | %s |\n", s.name, s.issue,
			n, mb(rs[0].size), wall(rs[0]), mib(rs[0].rssKiB), mb(rs[0].out),
			4*n, mb(rs[1].size), wall(rs[1]), mib(rs[1].rssKiB), mb(rs[1].out), slope)
	}
}

// measure builds shape s at n and runs ftpdiag on it.
func measure(bin, dir string, s shape, n int, timeout time.Duration, keep bool) (result, error) {
	path := filepath.Join(dir, fmt.Sprintf("%s-%d.pcap", s.name, n))
	c, err := newCapture(path)
	if err != nil {
		return result{}, err
	}
	s.build(c, n)
	if err := c.close(); err != nil {
		return result{}, err
	}
	if !keep {
		defer os.Remove(path)
	}
	st, err := os.Stat(path)
	if err != nil {
		return result{}, err
	}
	var args []string
	for _, a := range s.args {
		if a == "@DIR" {
			d, err := os.MkdirTemp(dir, "extract-")
			if err != nil {
				return result{}, err
			}
			defer os.RemoveAll(d)
			a = d
		}
		args = append(args, a)
	}
	args = append(args, "--quiet", path)
	cmd := exec.Command(bin, args...)
	out := &counter{}
	cmd.Stdout, cmd.Stderr = out, io.Discard
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	timer := time.AfterFunc(timeout, func() { cmd.Process.Kill() })
	err = cmd.Wait()
	timer.Stop()
	r := result{size: st.Size(), wall: time.Since(start), out: out.n}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.rssKiB = ru.Maxrss
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errorsAs(err, &ee) && ee.ExitCode() >= 0:
		r.code = ee.ExitCode()
	default:
		r.skipped = true // killed at the timeout
	}
	return r, nil
}

func errorsAs(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*ee = e
	}
	return ok
}

// counter counts the bytes written to it.
type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

func mib(kib int64) string { return fmt.Sprintf("%d MiB", kib/1024) }

func wall(r result) string {
	if r.skipped {
		return "timeout"
	}
	return fmt.Sprintf("%.2f s", r.wall.Seconds())
}
