package store

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Reading an object through nats.go's object store (ObjectStore.Get)
// has two traps, and a worker that met them hung in Pool.Drain:
//
//   - The chunks reach the reader through a subscription that feeds a
//     pipe. When the context given to Get ends, nats.go unsubscribes
//     without closing the pipe, so a Read already waiting on the pipe
//     waits for a chunk that will never come, until the context's
//     deadline (a job's: 30 minutes).
//   - Read holds the result's lock while it waits, so Close, which needs
//     that lock to close the pipe, cannot end it either; nor can a chunk
//     the server never sends (an object whose chunks were purged after
//     its meta was read).
//
// So Get is given a context that only Close (or the caller's deadline)
// ends, which keeps the subscription alive as long as a Read may wait on
// it, and each Read waits for the underlying one on a goroutine of its
// own, so that the caller's context ends the wait at once: a read left
// waiting is abandoned (it ends when its chunk comes, or at the deadline),
// and Close then waits for it on another goroutine before closing.

// objectOpenTimeout bounds the opening of an object for reading. The
// object store sets up a consumer for it, and a request lost with a NATS
// node that died would otherwise wait as long as the reading may last.
const objectOpenTimeout = 15 * time.Second

// detach returns a context with ctx's values and deadline that ctx's
// cancellation does not end; only its cancel function (or the deadline)
// does.
func detach(ctx context.Context) (context.Context, context.CancelFunc) {
	d := context.WithoutCancel(ctx)
	if deadline, ok := ctx.Deadline(); ok {
		return context.WithDeadline(d, deadline)
	}
	return context.WithCancel(d)
}

// gotObject is the answer of an ObjectStore.Get.
type gotObject struct {
	res jetstream.ObjectResult
	err error
}

// getObject opens an object for reading, giving up after
// objectOpenTimeout or when ctx ends. ctx ends the reader's reads; its
// Close ends the subscription that feeds it.
func getObject(ctx context.Context, obs jetstream.ObjectStore, name string) (*objectReader, error) {
	gctx, cancel := detach(ctx)
	ch := make(chan gotObject, 1)
	go func() {
		res, err := obs.Get(gctx, name)
		ch <- gotObject{res, err}
	}()
	t := time.NewTimer(objectOpenTimeout)
	defer t.Stop()
	var g gotObject
	select {
	case g = <-ch:
	case <-t.C:
		g = abandon(ch, cancel, fmt.Errorf("no answer from JetStream in %v", objectOpenTimeout))
	case <-ctx.Done():
		g = abandon(ch, cancel, ctx.Err())
	}
	if g.err != nil {
		cancel()
		return nil, g.err
	}
	return &objectReader{res: g.res, ctx: ctx, cancel: cancel}, nil
}

// abandon ends a Get in flight (cancel), waits for its answer, closes the
// object it may still have opened, and answers err instead.
func abandon(ch <-chan gotObject, cancel context.CancelFunc, err error) gotObject {
	cancel()
	if g := <-ch; g.err == nil {
		g.res.Close()
	}
	return gotObject{err: err}
}

// objectReader reads an object opened by getObject: each Read waits for
// the object store's on a goroutine, and ends when ctx does.
type objectReader struct {
	res    jetstream.ObjectResult
	ctx    context.Context    // the caller's: ends the reads
	cancel context.CancelFunc // ends the subscription behind res
	buf    []byte
	// waiting, once ctx has ended a read, receives that read's end.
	waiting   <-chan struct{}
	closeOnce sync.Once
}

// Read reads at most one chunk's worth of the object.
func (o *objectReader) Read(p []byte) (int, error) {
	if err := o.ctx.Err(); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if o.buf == nil {
		o.buf = make([]byte, chunkSize)
	}
	buf := o.buf[:min(len(p), len(o.buf))]
	var n int
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		n, err = o.res.Read(buf)
	}()
	select {
	case <-done:
		return copy(p, buf[:n]), err
	case <-o.ctx.Done():
		o.waiting = done
		return 0, o.ctx.Err()
	}
}

// Close ends the subscription that feeds the reader. A read that ctx
// abandoned holds the object store's lock until it ends: Close then
// leaves it to a goroutine that closes after it.
func (o *objectReader) Close() error {
	var err error
	o.closeOnce.Do(func() {
		if o.waiting != nil {
			go func() {
				<-o.waiting
				o.res.Close()
				o.cancel()
			}()
			return
		}
		err = o.res.Close()
		o.cancel()
	})
	return err
}

var _ io.ReadCloser = (*objectReader)(nil)
