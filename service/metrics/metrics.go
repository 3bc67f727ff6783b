// Package metrics defines the triage service's Prometheus metrics: the
// HTTP front end counts uploads and their bytes, the workers time
// analyses and count failures by reason, and the queue depth is read from
// JetStream when scraped.
//
// Every metric lives in a registry of its own (no global state), which
// the api package serves at /metrics.
package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the service's metrics.
type Metrics struct {
	// Registry holds them all, with the Go and process collectors.
	Registry *prometheus.Registry
	// Uploads counts upload requests by result ("accepted",
	// "unsupported_media_type", "too_large", "storage_full", ...).
	Uploads *prometheus.CounterVec
	// UploadBytes counts the bytes of accepted captures.
	UploadBytes prometheus.Counter
	// Jobs counts finished analyses by status ("done", "failed").
	Jobs *prometheus.CounterVec
	// Failures counts failed uploads and analyses by reason.
	Failures *prometheus.CounterVec
	// AnalysisSeconds is the time from a worker's start on a job to its
	// reports being stored.
	AnalysisSeconds prometheus.Histogram
	// QueueSeconds is the time from upload to a worker's start.
	QueueSeconds prometheus.Histogram
}

// queueDepthTimeout bounds the JetStream query made at each scrape.
const queueDepthTimeout = 2 * time.Second

// New makes the metrics; queueDepth, if not nil, is asked for the number
// of jobs waiting or running at each scrape.
func New(queueDepth func(context.Context) (int, error)) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Uploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ftpdiag_uploads_total", Help: "Capture upload requests, by result.",
		}, []string{"result"}),
		UploadBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ftpdiag_upload_bytes_total", Help: "Bytes of captures accepted.",
		}),
		Jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ftpdiag_jobs_total", Help: "Analyses finished by this process, by final status.",
		}, []string{"status"}),
		Failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ftpdiag_failures_total", Help: "Failed uploads and analyses, by reason.",
		}, []string{"reason"}),
		AnalysisSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ftpdiag_analysis_duration_seconds", Help: "Time from a worker's start on a job to its reports being stored.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 12),
		}),
		QueueSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ftpdiag_queue_wait_seconds", Help: "Time from upload to a worker's start.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 12),
		}),
	}
	m.Registry.MustRegister(m.Uploads, m.UploadBytes, m.Jobs, m.Failures, m.AnalysisSeconds, m.QueueSeconds,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if queueDepth != nil {
		m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ftpdiag_queue_depth", Help: "Jobs waiting for a worker or being analysed.",
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), queueDepthTimeout)
			defer cancel()
			n, err := queueDepth(ctx)
			if err != nil {
				return -1
			}
			return float64(n)
		}))
	}
	return m
}
