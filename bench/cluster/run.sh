#!/usr/bin/env bash
# run.sh [UPLOADS] — the scale-out figures: the same upload set against a
# local 3-node NATS cluster (replicas 3) with 1, 2 and 3 worker processes
# (one analysis each), started and stopped by scripts/cluster.sh. Prints
# one line per worker count (captures/s, GB/s, queue wait, job time).
set -euo pipefail
cd "$(dirname "$0")/../.."
uploads=${1:-300}
work=$(mktemp -d)
go build -o "$work/ftpdiag" ./cmd/ftpdiag
go build -o "$work/bench" ./bench/cluster
for w in 1 2 3; do
	export CLUSTER_DIR=$work/c$w WORKERS=$w FTPDIAG=$work/ftpdiag LISTEN=127.0.0.1:18181 NATS_PORT=16222
	export SERVE_ARGS="--uploads-per-tenant 64" WORKER_ARGS="--quiet"
	scripts/cluster.sh start >/dev/null
	"$work/bench" --server http://$LISTEN --uploads "$uploads" --label "$w workers" || true
	scripts/cluster.sh stop >/dev/null
done
rm -rf "$work"
