// Command load measures the triage service under load: it starts
// `ftpdiag serve` on a loopback port with a fresh --data directory, sends
// N uploads of the shipped fixture captures from C concurrent clients,
// waits for each report, and checks that none is lost and every report is
// byte for byte what `ftpdiag --format json` prints for the same file.
// It prints uploads per second, the 50th and 99th percentiles of the time
// from the start of an upload to its report, and the server's peak
// resident memory (VmHWM), then stops the server by its PID.
//
// It is a script, not a test: run it from the repository's root,
//
//	go run ./bench/load [-n 500] [-c 32] [-workers N]
//
// and put the figures in bench/README.md.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Bounds: the whole run, one request, one wait for a report.
const (
	runTimeout     = 15 * time.Minute
	requestTimeout = time.Minute
	reportTimeout  = 5 * time.Minute
)

func main() {
	n := flag.Int("n", 500, "uploads")
	c := flag.Int("c", 32, "concurrent clients")
	workers := flag.Int("workers", runtime.NumCPU(), "the server's --workers")
	fixtures := flag.String("fixtures", "fixtures/captures", "directory of the captures to upload")
	flag.Parse()
	if err := run(*n, *c, *workers, *fixtures); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// capture is one fixture with the CLI's report of it.
type capture struct {
	name string
	data []byte
	want []byte
}

// result is one upload's outcome.
type result struct {
	latency time.Duration
	err     error
}

func run(n, c, workers int, dir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	tmp, err := os.MkdirTemp("", "ftpdiag-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "ftpdiag")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/ftpdiag").CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	caps, err := loadCaptures(ctx, bin, dir)
	if err != nil {
		return err
	}
	srv, base, err := startServer(bin, filepath.Join(tmp, "data"), workers)
	if err != nil {
		return err
	}
	defer func() {
		srv.Process.Kill() // by PID
		srv.Wait()
	}()

	client := &http.Client{Timeout: requestTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: c}}
	results := make([]result, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				results[i] = uploadAndWait(ctx, client, base, caps[i%len(caps)])
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	peak, err := peakRSS(srv.Process.Pid)
	if err != nil {
		return err
	}

	var lat []time.Duration
	var failures []string
	for i, r := range results {
		if r.err != nil {
			failures = append(failures, fmt.Sprintf("upload %d (%s): %v", i, caps[i%len(caps)].name, r.err))
			continue
		}
		lat = append(lat, r.latency)
	}
	listed, err := countRecords(ctx, client, base)
	if err != nil {
		return err
	}
	slices.Sort(lat)
	var total int64
	for i := range n {
		total += int64(len(caps[i%len(caps)].data))
	}
	fmt.Printf("uploads:          %d of %d fixture captures (%.1f MiB) from %d clients, server --workers %d, %d cores\n",
		n, len(caps), float64(total)/(1<<20), c, workers, runtime.NumCPU())
	fmt.Printf("reports:          %d identical to the CLI's, %d failed, %d records listed\n", len(lat), len(failures), listed)
	fmt.Printf("throughput:       %.1f uploads/s (%.1f s in all)\n", float64(n)/elapsed.Seconds(), elapsed.Seconds())
	if len(lat) > 0 {
		fmt.Printf("upload to report: p50 %v, p99 %v, max %v\n", pct(lat, 50), pct(lat, 99), lat[len(lat)-1])
	}
	fmt.Printf("server peak RSS:  %.1f MiB\n", float64(peak)/(1<<20))
	for i, f := range failures {
		if i == 10 {
			fmt.Printf("... %d more\n", len(failures)-10)
			break
		}
		fmt.Println("FAILED:", f)
	}
	if len(failures) > 0 || listed != n {
		return fmt.Errorf("%d uploads failed, %d records listed for %d uploads", len(failures), listed, n)
	}
	return nil
}

// loadCaptures reads the fixtures and what `ftpdiag --format json` prints
// for each, run in their directory so that the names match the uploads'.
func loadCaptures(ctx context.Context, bin, dir string) ([]capture, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.pcap*"))
	if err != nil || len(names) == 0 {
		return nil, fmt.Errorf("no captures in %s (run from the repository's root): %v", dir, err)
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		return nil, err
	}
	var caps []capture
	for _, path := range names {
		name := filepath.Base(path)
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		cmd := exec.CommandContext(ctx, abs, "--format", "json", name)
		cmd.Dir = dir
		want, err := cmd.Output()
		var exit *exec.ExitError
		if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
			return nil, fmt.Errorf("ftpdiag --format json %s: %v", name, err)
		}
		caps = append(caps, capture{name: name, data: data, want: want})
	}
	return caps, nil
}

// startServer starts `ftpdiag serve` and returns its address.
func startServer(bin, data string, workers int) (*exec.Cmd, string, error) {
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--data", data, "--workers", fmt.Sprint(workers), "--uploads-per-tenant", "64")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	select {
	case line := <-lines:
		rest, _ := strings.CutPrefix(line, "ftpdiag serve: ")
		url, _, _ := strings.Cut(rest, " ")
		if !strings.HasPrefix(url, "http://127.0.0.1:") {
			cmd.Process.Kill()
			return nil, "", fmt.Errorf("serve printed %q", line)
		}
		return cmd, strings.TrimSuffix(url, "/"), nil
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		return nil, "", errors.New("serve printed no address in a minute")
	}
}

// uploadAndWait uploads one capture, waits for its report (long polls of
// its record) and compares it with the CLI's.
func uploadAndWait(ctx context.Context, client *http.Client, base string, c capture) result {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/captures?name="+c.name, bytes.NewReader(c.data))
	if err != nil {
		return result{err: err}
	}
	req.Header.Set("Content-Type", "application/vnd.tcpdump.pcap")
	var acc struct {
		StatusURL string `json:"status_url"`
		ReportURL string `json:"report_url"`
	}
	if err := call(client, req, http.StatusAccepted, &acc); err != nil {
		return result{err: fmt.Errorf("upload: %w", err)}
	}
	deadline := time.Now().Add(reportTimeout)
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+acc.StatusURL+"?wait=30s", nil)
		var rec struct{ Status string }
		if err := call(client, req, http.StatusOK, &rec); err != nil {
			return result{err: fmt.Errorf("status: %w", err)}
		}
		if rec.Status == "done" {
			break
		}
		if rec.Status == "failed" {
			return result{err: errors.New("analysis failed")}
		}
		if time.Now().After(deadline) {
			return result{err: fmt.Errorf("still %s after %v", rec.Status, reportTimeout)}
		}
	}
	req, _ = http.NewRequestWithContext(ctx, "GET", base+acc.ReportURL, nil)
	var got json.RawMessage
	if err := call(client, req, http.StatusOK, &got); err != nil {
		return result{err: fmt.Errorf("report: %w", err)}
	}
	latency := time.Since(start)
	if !bytes.Equal(got, c.want) {
		return result{err: errors.New("the report differs from the CLI's")}
	}
	return result{latency: latency}
}

// call sends a request, checks the status and decodes the JSON answer
// (or, for a *json.RawMessage, keeps its bytes).
func call(client *http.Client, req *http.Request, want int, v any) error {
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(b))
	}
	if raw, ok := v.(*json.RawMessage); ok {
		*raw = b
		return nil
	}
	return json.Unmarshal(b, v)
}

// countRecords pages through the list of captures.
func countRecords(ctx context.Context, client *http.Client, base string) (int, error) {
	n, cursor := 0, ""
	for range 1000 {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/captures?limit=200&cursor="+cursor, nil)
		var page struct {
			Captures   []json.RawMessage `json:"captures"`
			NextCursor *string           `json:"next_cursor"`
		}
		if err := call(client, req, http.StatusOK, &page); err != nil {
			return 0, fmt.Errorf("list: %w", err)
		}
		n += len(page.Captures)
		if page.NextCursor == nil {
			return n, nil
		}
		cursor = *page.NextCursor
	}
	return n, errors.New("list: more than 1000 pages")
}

// pct returns the p-th percentile of sorted durations.
func pct(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(0, min(i, len(sorted))-1)]
}

// peakRSS reads a process's peak resident set size (VmHWM) in bytes.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(rest), "%d", &kb)
			return kb << 10, nil
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}
