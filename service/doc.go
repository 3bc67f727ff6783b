// Package service is ftpdiag's triage service: an HTTP API and a page
// where captures are uploaded, a queue of analysis jobs, workers that
// analyse them, and the reports they store, all kept in NATS JetStream.
//
// It stands beside cmd/ftpdiag at the end of the pipeline: it calls
// analyze.Run on captures streamed from JetStream's object store and
// writes the same reports as the command line with package report.
//
// Its parts, each a package of its own:
//
//   - store: the JetStream layout (captures and reports in object stores,
//     job records in a key-value bucket, jobs in a work-queue stream) and
//     the embedded NATS server;
//   - worker: the pool of analysis workers;
//   - api: the HTTP API (/api/v1/...), health, readiness and metrics;
//   - web: the page at "/";
//   - metrics: the Prometheus metrics both sides update.
//
// The process holds no state of its own beyond what is in flight: a
// restart, or several processes sharing one NATS cluster, find everything
// in JetStream. With Config.NATS the service uses an external cluster
// instead of the embedded server, and with no workers it is a front end
// only: `ftpdiag worker` runs worker.Pool on other machines (issue 15).
package service
