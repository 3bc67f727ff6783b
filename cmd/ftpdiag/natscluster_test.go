package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"ftpdiag/service/store"
)

// natsServerBinary finds the real nats-server: CI installs it at
// $(go env GOPATH)/bin/nats-server. Without it the test skips, except
// under CI=true where it fails.
func natsServerBinary(t *testing.T) string {
	t.Helper()
	gopath, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		p := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "nats-server")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("nats-server not found in $(go env GOPATH)/bin or PATH (CI installs it)")
	}
	t.Skip("nats-server not found in $(go env GOPATH)/bin or PATH: go install github.com/nats-io/nats-server/v2@v2.15.3")
	return ""
}

// freePorts returns n TCP ports free on 127.0.0.1 right now.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// process is a child process whose output the test reads; the test's
// cleanup kills it by its PID.
type process struct {
	name   string
	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer
	exited chan struct{}
	err    error
}

// startProcess starts bin with args. dir, if set, is its directory.
func startProcess(t *testing.T, name, bin string, args ...string) *process {
	t.Helper()
	p := &process{name: name, cmd: exec.Command(bin, args...), stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill() // by PID; harmless once it has exited
		<-p.exited
		if t.Failed() {
			t.Logf("%s stderr (last 3000 bytes):\n%s", name, tail(p.stderr.String(), 3000))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// kill9 kills the process with SIGKILL and waits for it. It may be
// called from any goroutine.
func (p *process) kill9(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Errorf("kill -9 %s: %v", p.name, err)
	}
	<-p.exited
}

// waitOutput waits until the process's stdout or stderr holds want,
// for at most d.
func (p *process) waitOutput(t *testing.T, want string, d time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		for _, s := range []string{p.stdout.String(), p.stderr.String()} {
			if i := strings.Index(s, want); i >= 0 {
				start := strings.LastIndexByte(s[:i], '\n') + 1
				line, _, _ := strings.Cut(s[start:], "\n")
				return line
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("%s exited (%v) before printing %q; stderr:\n%s", p.name, p.err, want, tail(p.stderr.String(), 3000))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not print %q in %v; stderr:\n%s", p.name, want, d, tail(p.stderr.String(), 3000))
		}
	}
}

// natsCluster is a cluster of real nats-server processes with JetStream
// on loopback ports, data in temporary directories.
type natsCluster struct {
	nodes []*process
	urls  []string
}

// startNATSCluster starts n nodes and waits until JetStream answers
// (a meta leader is elected).
func startNATSCluster(t *testing.T, n int) *natsCluster {
	t.Helper()
	bin := natsServerBinary(t)
	ports := freePorts(t, 2*n)
	c := &natsCluster{}
	for i := range n {
		c.urls = append(c.urls, fmt.Sprintf("nats://127.0.0.1:%d", ports[i]))
	}
	for i := range n {
		var routes []string
		for j := range n {
			if j != i {
				routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", ports[n+j]))
			}
		}
		dir := t.TempDir()
		conf := fmt.Sprintf("server_name: n%d\nlisten: 127.0.0.1:%d\njetstream { store_dir: %q }\ncluster {\n  name: ftpdiag-test\n  listen: 127.0.0.1:%d\n  routes: [ %s ]\n}\n",
			i, ports[i], dir, ports[n+i], strings.Join(routes, ", "))
		path := filepath.Join(dir, "nats.conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, startProcess(t, fmt.Sprintf("nats-server n%d", i), bin, "-c", path))
	}
	c.waitJetStream(t, 60*time.Second)
	return c
}

// URLs is the cluster's --nats value.
func (c *natsCluster) URLs() string { return strings.Join(c.urls, ",") }

// waitJetStream waits until JetStream answers account requests.
func (c *natsCluster) waitJetStream(t *testing.T, d time.Duration) {
	t.Helper()
	nc, err := store.Connect(store.ClientConfig{URLs: c.urls, Name: "test"})
	for deadline := time.Now().Add(d); err != nil; nc, err = store.Connect(store.ClientConfig{URLs: c.urls, Name: "test"}) {
		if time.Now().After(deadline) {
			t.Fatalf("NATS cluster not reachable in %v: %v", d, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	defer nc.Close()
	deadline := time.Now().Add(d)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		m, err := nc.RequestWithContext(ctx, "$JS.API.INFO", nil)
		cancel()
		if err == nil && !strings.Contains(string(m.Data), `"error"`) {
			return
		}
		if err == nil {
			err = fmt.Errorf("%s", m.Data)
		}
		if time.Now().After(deadline) {
			t.Fatalf("JetStream not ready in %v: %v", d, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// openStore opens the store on the cluster with cfg, for checks.
func (c *natsCluster) openStore(t *testing.T, cfg store.Config) *store.Store {
	t.Helper()
	nc, err := store.Connect(store.ClientConfig{URLs: c.urls, Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := store.Open(ctx, nc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// readLines returns the lines of s that contain sub.
func readLines(s, sub string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), sub) {
			out = append(out, sc.Text())
		}
	}
	return out
}
