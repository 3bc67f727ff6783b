package ftpdiag

import (
	"context"
	"errors"
	"slices"

	"ftpdiag/analyze"
	"ftpdiag/correlate"
)

// ViewsMode says when CompareViews compares several inputs as views of the
// same traffic taken at different places.
type ViewsMode int

// The modes of CompareViews.
const (
	// ViewsAuto compares the inputs when a cheap first look
	// (correlate.MayShare) says they may share connections, and keeps the
	// comparison only when they do: inputs that share nothing
	// (ring-buffer pieces, unrelated captures) cost that look alone.
	ViewsAuto ViewsMode = iota
	// ViewsAlways compares the inputs and keeps the comparison, even when
	// it finds that they share nothing (ftpdiag --views).
	ViewsAlways
	// ViewsNever only merges the inputs (ftpdiag --no-views).
	ViewsNever
)

// MaxAutoViews is the most inputs ViewsAuto compares: the comparison
// holds up to correlate.MaxPackets fingerprints of each input at once, and
// captures of one connection are taken at two or three places, not more.
const MaxAutoViews = 8

// Opener opens the inputs afresh, for one more reading of them, and
// returns what closes them (nil when nothing needs closing).
type Opener func(ctx context.Context) (inputs []analyze.Input, closeAll func(), err error)

// CompareViews compares n inputs packet by packet (correlate.Correlate)
// as mode says, opening them with open once or twice, and returns what
// the reports show in Outputs.Views: nil with fewer than two inputs, in
// ViewsNever, when ViewsAuto finds nothing shared or is given more than
// MaxAutoViews inputs, or when ctx ends.
//
// The error joins the problems that left an input out of the comparison
// or cut it short; in ViewsAuto it is nil, as the analysis tells its own
// problems reading.
func CompareViews(ctx context.Context, n int, open Opener, mode ViewsMode) (*correlate.Result, error) {
	if mode == ViewsNever || n < 2 || mode == ViewsAuto && n > MaxAutoViews {
		return nil, nil
	}
	if mode == ViewsAuto {
		share, err := mayShare(ctx, open)
		if err != nil || !share {
			return nil, nil
		}
	}
	inputs, closeAll, err := open(ctx)
	if err != nil {
		return nil, err
	}
	if closeAll != nil {
		defer closeAll()
	}
	r, err := correlate.Correlate(ctx, inputs)
	switch {
	case ctx.Err() != nil:
		return nil, nil // interrupted: the analysis says so
	case mode == ViewsAuto && (r == nil || r.Mode != correlate.Views):
		return nil, nil
	case mode == ViewsAuto:
		return r, nil
	}
	return r, err
}

// mayShare opens the inputs for correlate.MayShare's look.
func mayShare(ctx context.Context, open Opener) (bool, error) {
	inputs, closeAll, err := open(ctx)
	if err != nil {
		return false, err
	}
	if closeAll != nil {
		defer closeAll()
	}
	share, err := correlate.MayShare(ctx, inputs)
	return share, errors.Join(err, ctx.Err())
}

// analyzeViews analyses each input on its own (analyze.RunView), as the
// view of the traffic from its capture point, and joins the analyses with
// what comparing them found (correlate.Join): one session per real
// session, one finding per failure. The error joins the views'; it wraps
// analyze.ErrNothingRead only when no view could be read.
func analyzeViews(ctx context.Context, inputs []analyze.Input, opt analyze.Options, r *correlate.Result) (*analyze.Analysis, error) {
	per := make([]*analyze.Analysis, len(inputs))
	errs := make([]error, len(inputs))
	var done analyze.Progress // what the views before this one read
	progress := opt.Progress
	for i := range inputs {
		var last analyze.Progress
		if progress != nil {
			opt.Progress = func(p analyze.Progress) {
				last = p
				progress(analyze.Progress{Packets: done.Packets + p.Packets, BytesRead: done.BytesRead + p.BytesRead, BytesTotal: p.BytesTotal})
			}
		}
		per[i], errs[i] = analyze.RunView(ctx, inputs, i, opt)
		done.Packets += last.Packets
		done.BytesRead += last.BytesRead
	}
	return correlate.Join(r, per), viewErrors(errs)
}

// viewErrors joins the views' errors. A view that read nothing beside
// others that did is named, but its error no longer wraps
// analyze.ErrNothingRead: something was read.
func viewErrors(errs []error) error {
	readSome := slices.ContainsFunc(errs, func(err error) bool { return !errors.Is(err, analyze.ErrNothingRead) })
	out := make([]error, 0, len(errs))
	for _, err := range errs {
		if readSome && errors.Is(err, analyze.ErrNothingRead) {
			err = errors.New(err.Error())
		}
		out = append(out, err)
	}
	return errors.Join(out...)
}
