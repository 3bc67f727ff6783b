package worker

import (
	"context"
	"testing"
	"time"

	"ftpdiag/service/store"
)

// openStore starts an embedded NATS server and opens the store on it;
// both stop with the test.
func openStore(t *testing.T) *store.Store {
	t.Helper()
	e, err := store.StartEmbedded(store.EmbeddedConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	nc, err := e.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, nc, store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestReadyUntilStopped checks that a pool is ready once its workers
// wait for jobs, and no longer once it is stopped, by Drain or by the end
// of its context (a /readyz that said ready then would send traffic to a
// process that takes no job).
func TestReadyUntilStopped(t *testing.T) {
	st := openStore(t)
	for _, tc := range []struct {
		name string
		stop func(p *Pool, cancel context.CancelFunc)
	}{
		{"drained", func(p *Pool, _ context.CancelFunc) { p.Drain(0) }},
		{"context ended", func(p *Pool, cancel context.CancelFunc) { cancel(); p.Wait() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			p := Start(ctx, st, Config{Workers: 2})
			defer p.Drain(0)
			deadline := time.Now().Add(10 * time.Second)
			for !p.Ready() && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if !p.Ready() {
				t.Fatal("not ready 10 s after Start")
			}
			tc.stop(p, cancel)
			if p.Ready() {
				t.Error("ready after the pool stopped")
			}
		})
	}
}
