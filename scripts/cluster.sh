#!/usr/bin/env bash
# cluster.sh start|stop|status — a local ftpdiag scale-out cluster to try:
# three nats-server nodes with JetStream (replicas 3), one front end
# (ftpdiag serve --nats ... --workers 0) and N workers (ftpdiag worker).
# Everything listens on 127.0.0.1 only; stop kills exactly the PIDs start
# recorded. See README.md, "Scaling out".
#
# Environment:
#   CLUSTER_DIR   state, logs and PIDs (default ./ftpdiag-cluster)
#   WORKERS       worker processes (default 2); CONCURRENCY each (default 1)
#   LISTEN        front end's HTTP address (default 127.0.0.1:8080)
#   NATS_PORT     first node's client port (default 14222; then +1, +2);
#                 cluster ports NATS_PORT+100.., monitoring NATS_PORT+200..
#   NATS_SERVER   nats-server binary (default $(go env GOPATH)/bin/nats-server,
#                 else the one on PATH)
#   FTPDIAG       ftpdiag binary (default: built into CLUSTER_DIR from this tree)
#   SERVE_ARGS, WORKER_ARGS  extra flags for the front end and the workers
set -euo pipefail

dir=${CLUSTER_DIR:-./ftpdiag-cluster}
workers=${WORKERS:-2}
concurrency=${CONCURRENCY:-1}
listen=${LISTEN:-127.0.0.1:8080}
port=${NATS_PORT:-14222}
repo=$(cd "$(dirname "$0")/.." && pwd)

die() { echo "cluster.sh: $*" >&2; exit 1; }

nats_server() {
	if [[ -n ${NATS_SERVER:-} ]]; then echo "$NATS_SERVER"; return; fi
	local b
	b="$(go env GOPATH 2>/dev/null)/bin/nats-server"
	if [[ -x $b ]]; then echo "$b"; return; fi
	command -v nats-server || die "no nats-server: go install github.com/nats-io/nats-server/v2@v2.15.3, or set NATS_SERVER"
}

urls() {
	echo "nats://127.0.0.1:$port,nats://127.0.0.1:$((port + 1)),nats://127.0.0.1:$((port + 2))"
}

# wait_for CMD...: retry CMD for up to 60 s.
wait_for() {
	local i
	for ((i = 0; i < 120; i++)); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.5
	done
	return 1
}

alive() { kill -0 "$1" 2>/dev/null; }

# launch NAME CMD...: starts CMD in the background, logs to NAME.log,
# records "NAME PID" in the pids file.
launch() {
	local name=$1
	shift
	"$@" >"$dir/$name.log" 2>&1 &
	echo "$name $!" >>"$dir/pids"
}

write_conf() {
	local i=$1 routes="" j
	for j in 0 1 2; do
		[[ $j == "$i" ]] || routes+="${routes:+, }nats-route://127.0.0.1:$((port + 100 + j))"
	done
	mkdir -p "$dir/n$i"
	cat >"$dir/n$i.conf" <<CONF
server_name: n$i
listen: 127.0.0.1:$((port + i))
http: 127.0.0.1:$((port + 200 + i))
jetstream { store_dir: "$dir/n$i" }
cluster {
  name: ftpdiag
  listen: 127.0.0.1:$((port + 100 + i))
  routes: [ $routes ]
}
CONF
}

start() {
	[[ -s $dir/pids ]] && die "$dir/pids exists: run '$0 stop' first"
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	: >"$dir/pids"
	trap 'echo "cluster.sh: start failed: stopping what it started" >&2; stop' ERR EXIT
	local bin=${FTPDIAG:-}
	if [[ -z $bin ]]; then
		bin=$dir/ftpdiag
		(cd "$repo" && go build -o "$bin" ./cmd/ftpdiag) || die "go build failed"
	fi
	local ns i
	ns=$(nats_server)
	for i in 0 1 2; do
		write_conf $i
		launch "nats$i" "$ns" -c "$dir/n$i.conf"
	done
	for i in 0 1 2; do
		wait_for curl -fsS "http://127.0.0.1:$((port + 200 + i))/healthz" ||
			die "nats node $i not healthy after 60 s; see $dir/nats$i.log"
	done
	# shellcheck disable=SC2086 # extra flags split on purpose
	launch serve "$bin" serve --listen "$listen" --nats "$(urls)" --workers 0 --data "$dir/serve" ${SERVE_ARGS:-}
	wait_for curl -fsS "http://$listen/readyz" || die "front end not ready after 60 s; see $dir/serve.log"
	for ((i = 1; i <= workers; i++)); do
		# shellcheck disable=SC2086
		launch "worker$i" "$bin" worker --nats "$(urls)" --concurrency "$concurrency" ${WORKER_ARGS:-}
	done
	sleep 1
	trap - ERR EXIT
	status
	echo "front end: http://$listen/   NATS: $(urls)"
	echo "try: $bin submit --server http://$listen fixtures/captures/03-pasv-dropped-curl-client.pcap"
}

stop() {
	[[ -f $dir/pids ]] || { echo "cluster.sh: nothing started in $dir"; return 0; }
	local name pid i
	# Workers and front end first (SIGTERM: they drain), NATS last.
	for pass in app nats; do
		while read -r name pid; do
			[[ $pass == nats && $name != nats* || $pass == app && $name == nats* ]] && continue
			alive "$pid" && kill -TERM "$pid"
		done <"$dir/pids"
		while read -r name pid; do
			[[ $pass == nats && $name != nats* || $pass == app && $name == nats* ]] && continue
			for ((i = 0; i < 60 && $(alive "$pid" && echo 1 || echo 0) == 1; i++)); do sleep 0.5; done
			if alive "$pid"; then
				echo "cluster.sh: $name ($pid) still running after 30 s: SIGKILL"
				kill -KILL "$pid"
			fi
		done <"$dir/pids"
	done
	rm -f "$dir/pids"
	echo "cluster.sh: stopped (state and logs kept in $dir)"
}

status() {
	[[ -f $dir/pids ]] || { echo "cluster.sh: not running ($dir/pids absent)"; return 1; }
	local name pid bad=0
	while read -r name pid; do
		if alive "$pid"; then
			printf '%-8s %7s running\n' "$name" "$pid"
		else
			printf '%-8s %7s exited (see %s/%s.log)\n' "$name" "$pid" "$dir" "$name"
			bad=1
		fi
	done <"$dir/pids"
	return $bad
}

case ${1:-} in
start) start ;;
stop) stop ;;
status) status ;;
*)
	echo "usage: $0 start|stop|status" >&2
	exit 2
	;;
esac
