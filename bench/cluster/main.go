// Command cluster measures the scale-out service's throughput: it uploads
// the same set of fixture captures to a front end (started by
// scripts/cluster.sh with N workers), waits until every capture is
// analysed, and prints captures/s, GB/s, and the queue wait and analysis
// time per job, read from the capture records. run.sh runs it with 1, 2
// and 3 workers. It is a benchmark script, not a test.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"
)

// capture is the part of GET /api/v1/captures/{id} read here.
type capture struct {
	ID       string     `json:"id"`
	Size     int64      `json:"size"`
	Status   string     `json:"status"`
	Created  time.Time  `json:"created"`
	Started  *time.Time `json:"started"`
	Finished *time.Time `json:"finished"`
}

func main() {
	server := flag.String("server", "http://127.0.0.1:8080", "front end URL")
	uploads := flag.Int("uploads", 300, "uploads, the fixtures taken cyclically")
	clients := flag.Int("clients", 8, "concurrent uploading clients")
	dir := flag.String("fixtures", "fixtures/captures", "directory of captures")
	label := flag.String("label", "", "label of the printed line (e.g. the worker count)")
	flag.Parse()
	if err := run(*server, *dir, *label, *uploads, *clients); err != nil {
		fmt.Fprintln(os.Stderr, "bench/cluster:", err)
		os.Exit(1)
	}
}

func run(server, dir, label string, uploads, clients int) error {
	files, _ := filepath.Glob(filepath.Join(dir, "*.pcap*"))
	sort.Strings(files)
	if len(files) == 0 {
		return fmt.Errorf("no captures in %s", dir)
	}
	client := &http.Client{Timeout: 2 * time.Minute}
	begin := time.Now()
	ids, err := uploadAll(client, server, files, uploads, clients)
	if err != nil {
		return err
	}
	caps, err := waitAll(client, server, ids, 10*time.Minute)
	if err != nil {
		return err
	}
	var bytes int64
	var last time.Time
	var wait, analysis []time.Duration
	for _, c := range caps {
		if c.Status != "done" || c.Started == nil || c.Finished == nil {
			return fmt.Errorf("capture %s ended %s", c.ID, c.Status)
		}
		bytes += c.Size
		last = maxTime(last, *c.Finished)
		wait = append(wait, c.Started.Sub(c.Created))
		analysis = append(analysis, c.Finished.Sub(*c.Started))
	}
	span := last.Sub(begin).Seconds()
	fmt.Printf("%s\t%d captures %.1f MB in %.1fs\t%.1f captures/s\t%.4f GB/s\tqueue wait p50 %v p90 %v\tjob time p50 %v p90 %v\n",
		label, len(caps), float64(bytes)/1e6, span, float64(len(caps))/span, float64(bytes)/1e9/span,
		pct(wait, 50), pct(wait, 90), pct(analysis, 50), pct(analysis, 90))
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// pct is the p-th percentile of ds, rounded to the millisecond.
func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)*p/100].Round(time.Millisecond)
}

// uploadAll sends uploads raw-body uploads from clients goroutines.
func uploadAll(client *http.Client, server string, files []string, uploads, clients int) ([]string, error) {
	var mu sync.Mutex
	var ids []string
	var errs []error
	next := make(chan int)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for i := range next {
				id, err := upload(client, server, files[i%len(files)])
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					ids = append(ids, id)
				}
				mu.Unlock()
			}
		})
	}
	for i := range uploads {
		next <- i
	}
	close(next)
	wg.Wait()
	return ids, errors.Join(errs...)
}

func upload(client *http.Client, server, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	resp, err := client.Post(server+"/api/v1/captures?name="+filepath.Base(path), "application/octet-stream", f)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		return "", fmt.Errorf("upload %s: %s %s", path, resp.Status, body)
	}
	var acc struct{ ID string }
	return acc.ID, json.Unmarshal(body, &acc)
}

// waitAll long-polls every capture until it is final.
func waitAll(client *http.Client, server string, ids []string, d time.Duration) ([]capture, error) {
	deadline := time.Now().Add(d)
	var out []capture
	for _, id := range ids {
		for {
			c, err := get(client, server, id)
			if err != nil {
				return nil, err
			}
			if c.Status == "done" || c.Status == "failed" {
				out = append(out, c)
				break
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("capture %s still %s after %v", id, c.Status, d)
			}
		}
	}
	return out, nil
}

func get(client *http.Client, server, id string) (capture, error) {
	var c capture
	resp, err := client.Get(server + "/api/v1/captures/" + id + "?wait=30s")
	if err != nil {
		return c, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return c, fmt.Errorf("capture %s: %s", id, resp.Status)
	}
	return c, json.NewDecoder(resp.Body).Decode(&c)
}
