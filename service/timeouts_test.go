package service_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"ftpdiag/service"
)

// closedWithin reads conn until the server closes it, and returns how long
// that took from start; it fails the test if the server sends anything
// or has not closed it by limit.
func closedWithin(t *testing.T, conn net.Conn, start time.Time, limit time.Duration) time.Duration {
	t.Helper()
	conn.SetReadDeadline(start.Add(limit))
	b, err := io.ReadAll(conn)
	took := time.Since(start)
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		t.Fatalf("the connection is still open after %v", limit)
	case len(b) > 0:
		t.Errorf("the server answered %q before closing", b)
	}
	return took
}

// TestHeaderAndIdleTimeouts checks the HTTP server's bounds against slow
// clients on raw TCP connections: a request header sent in part is cut
// off after the read-header timeout (slowloris), and a keep-alive
// connection left idle after an answer is closed after the idle timeout;
// neither is cut off before. It also checks that the defaults are not
// tiny: with them, a header completed after 1.5 s is still answered.
func TestHeaderAndIdleTimeouts(t *testing.T) {
	const (
		readHeader = 400 * time.Millisecond
		idle       = 700 * time.Millisecond
		limit      = 5 * time.Second // well below the defaults (10 s, 2 min)
	)
	ts := startService(t, func(c *service.Config) { c.ReadHeaderTimeout, c.IdleTimeout = readHeader, idle })
	for _, tc := range []struct {
		name string
		// send writes to the connection; the timeout runs from its return.
		send func(t *testing.T, conn net.Conn, br *bufio.Reader)
		want time.Duration
	}{
		{"partial header", func(t *testing.T, conn net.Conn, _ *bufio.Reader) {
			fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\nUser-Agent: slow") // no end of header
		}, readHeader},
		{"request line only", func(t *testing.T, conn net.Conn, _ *bufio.Reader) {
			fmt.Fprintf(conn, "GET /api/v1/captures HTTP/1.1\r\n")
		}, readHeader},
		{"idle keep-alive", func(t *testing.T, conn net.Conn, br *bufio.Reader) {
			fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, err := http.ReadResponse(br, nil)
			if err != nil || resp.StatusCode != http.StatusOK || resp.Close {
				t.Fatalf("a complete request: %v, %v", resp, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}, idle},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := dial(t, ts)
			defer conn.Close()
			br := bufio.NewReader(conn)
			tc.send(t, conn, br)
			start := time.Now()
			if br.Buffered() > 0 {
				t.Fatalf("unread answer bytes: %d", br.Buffered())
			}
			took := closedWithin(t, conn, start, limit)
			if took < tc.want*8/10 || took > tc.want+2*time.Second {
				t.Errorf("closed after %v, want about %v", took, tc.want)
			}
		})
	}

	t.Run("defaults", func(t *testing.T) {
		if testing.Short() {
			t.Skip("waits 1.5 s")
		}
		def := startService(t, nil)
		conn := dial(t, def)
		defer conn.Close()
		fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
		time.Sleep(1500 * time.Millisecond)
		fmt.Fprintf(conn, "Connection: close\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("a header completed after 1.5 s with the defaults (%v): %v, %v", service.ReadHeaderTimeout, resp, err)
		}
	})
}

// TestTimeoutDefaults pins the defaults a Config without timeouts gets,
// which the README states (10 s for a request header, 2 min idle).
func TestTimeoutDefaults(t *testing.T) {
	if service.ReadHeaderTimeout != 10*time.Second || service.IdleTimeout != 2*time.Minute {
		t.Errorf("ReadHeaderTimeout %v, IdleTimeout %v; the README says 10s and 2m", service.ReadHeaderTimeout, service.IdleTimeout)
	}
}
