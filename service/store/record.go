package store

import "time"

// Status is where a capture's analysis stands.
type Status string

// The statuses of a record, in the order a capture goes through them.
const (
	// Queued: uploaded, waiting for a worker.
	Queued Status = "queued"
	// Running: a worker is analysing it.
	Running Status = "running"
	// Done: analysed; the reports are stored (Error may still tell of
	// damage met part-way, as the CLI does).
	Done Status = "done"
	// Failed: no report could be made (nothing readable, a bound
	// exceeded, repeated failures); Error says why.
	Failed Status = "failed"
)

// Final reports whether the status will not change any more.
func (s Status) Final() bool { return s == Done || s == Failed }

// Record is everything known about one uploaded capture (one analysis):
// what was uploaded, by whom, and where its analysis stands. It is stored
// as JSON in the records bucket under "TENANT.ID".
type Record struct {
	ID     string   `json:"id"`
	Tenant string   `json:"tenant"`
	Name   string   `json:"name"`
	Tags   []string `json:"tags"`
	// Files are the uploaded files analysed together, in upload order.
	Files []File `json:"files"`
	// Size is the bytes uploaded, all files together.
	Size     int64    `json:"size"`
	Status   Status   `json:"status"`
	Progress Progress `json:"progress"`
	// Error holds one line per problem the analysis met (the lines the
	// CLI prints on standard error), or why it failed.
	Error string `json:"error,omitempty"`
	// Reason classifies a failure for metrics: "nothing_read",
	// "timeout", "too_large", "storage", "panic", "attempts".
	Reason string `json:"reason,omitempty"`
	// NothingRead is set when no input could be read at all (the CLI's
	// exit status 2).
	NothingRead bool       `json:"nothing_read,omitempty"`
	Created     time.Time  `json:"created"`
	Started     *time.Time `json:"started"`
	Finished    *time.Time `json:"finished"`
	// Attempts counts the workers that started on it (more than one
	// after a crash or a restart).
	Attempts int      `json:"attempts"`
	Summary  *Summary `json:"summary"`
	// Reports is set once the reports are stored.
	Reports bool `json:"reports"`
	// Keep is set when the capture is kept after its analysis.
	Keep bool `json:"keep"`
}

// File is one uploaded file of a record.
type File struct {
	// Name is the file's name as uploaded: the report's inputs[].file.
	Name string `json:"name"`
	Size int64  `json:"size"`
	// Object is the capture's name in the captures bucket.
	Object string `json:"object"`
}

// Progress is how far the analysis has read.
type Progress struct {
	BytesRead  int64 `json:"bytes_read"`
	BytesTotal int64 `json:"bytes_total"`
}

// Summary is what the analysis found, in counts.
type Summary struct {
	Sessions        int `json:"sessions"`
	Transfers       int `json:"transfers"`
	TransfersFailed int `json:"transfers_failed"`
	// WorstSeverity is "error", "warning", "info", or "none" without
	// findings.
	WorstSeverity  string         `json:"worst_severity"`
	Findings       int            `json:"findings"`
	FindingsByKind map[string]int `json:"findings_by_kind"`
	// TopFindings are the first findings, most severe first (at most
	// MaxTopFindings).
	TopFindings []TopFinding `json:"top_findings"`
}

// MaxTopFindings bounds Summary.TopFindings.
const MaxTopFindings = 5

// TopFinding is one finding as the summary shows it.
type TopFinding struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Severity string `json:"severity"`
	Session  int    `json:"session"`
	Summary  string `json:"summary"`
}
