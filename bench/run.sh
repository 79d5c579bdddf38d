#!/usr/bin/env bash
# bench/run.sh — the whole benchmark of issue 6 in one command:
#
#   bash bench/run.sh
#
# It runs, with the same settings, direct to the mock upstream, through the
# reference proxy (bare httputil.ReverseProxy), through Fulcrum with its
# default features on and through Fulcrum with them off (and, with
# BENCH_PORTKEY=1, through Portkey's gateway); non-streaming and streaming;
# closed loop at 32 connections and open loop at 500 and 2,000 requests/s;
# three repetitions, medians. Then a 1,000-concurrent-streams run for RSS.
# The gateway under test is pinned to one core (taskset -c 1, GOMAXPROCS=1),
# the load generator and the mock to the other (taskset -c 0).
#
# It writes bench/results/<date>.md (and the raw <date>.jsonl) and prints
# the Markdown. See bench/README.md for every column.
#
# Settings (environment):
#   BENCH_DURATION=10s      measured time of each run
#   BENCH_WARMUP=1s         unrecorded warm-up before each run
#   BENCH_REPS=3            repetitions (medians are reported)
#   BENCH_CONNS=32          closed-loop connections
#   BENCH_RATES="500 2000"  open-loop rates, requests/s
#   BENCH_TARGETS="direct refproxy fulcrum fulcrum-off"
#   BENCH_PORTKEY=0         1 adds Portkey's gateway (npx @portkey-ai/gateway)
#   BENCH_STREAMS=1000      concurrent streams of the RSS run (0 skips it)
#   BENCH_STREAMS_CHUNK_DELAY=50ms   mock delay between events in that run
#   BENCH_STREAMS_DURATION=$BENCH_DURATION
#   BENCH_GATEWAY_CPU=1 BENCH_LOAD_CPU=0   cores for the gateway / load+mock
#   BENCH_OUT=bench/results  where the report goes
#   BENCH_FULCRUM_POLICY_OFF / BENCH_FULCRUM_METERING_OFF: YAML lines that
#                           turn the features off (defaults below)
#   BENCH_BUILD_FLAGS=""    extra \`go build\` flags for every binary; .ci/run
#                           sets -race (see there): never for real numbers
# Short mode for CI: BENCH_DURATION=1s BENCH_WARMUP=200ms BENCH_REPS=1 BENCH_STREAMS=100
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

DUR=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-1s}
REPS=${BENCH_REPS:-3}
CONNS=${BENCH_CONNS:-32}
RATES=${BENCH_RATES:-500 2000}
TARGETS=${BENCH_TARGETS:-direct refproxy fulcrum fulcrum-off}
STREAMS=${BENCH_STREAMS:-1000}
STREAMS_DELAY=${BENCH_STREAMS_CHUNK_DELAY:-50ms}
STREAMS_DUR=${BENCH_STREAMS_DURATION:-$DUR}
GW_CPU=${BENCH_GATEWAY_CPU:-1}
LOAD_CPU=${BENCH_LOAD_CPU:-0}
OUT=${BENCH_OUT:-$ROOT/bench/results}
POLICY_OFF=${BENCH_FULCRUM_POLICY_OFF:-"policy: { disabled: true }"}
METERING_OFF=${BENCH_FULCRUM_METERING_OFF:-"metering: { disabled: true }"}
if [[ ${BENCH_PORTKEY:-0} == 1 ]]; then TARGETS="$TARGETS portkey"; fi

BUILD_FLAGS=(${BENCH_BUILD_FLAGS:-})
PORTKEY_VERSION=${BENCH_PORTKEY_VERSION:-1.15.2}

STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
WORK=$(mktemp -d /tmp/fulcrum-bench.XXXXXX)
BIN=$WORK/bin
JSONL=$WORK/runs.jsonl
mkdir -p "$BIN" "$OUT"
: >"$JSONL"
NOTES=()

say() { printf '%s\n' "$*" >&2; }

# Pinning: only with taskset and at least two cores.
if command -v taskset >/dev/null && (($(nproc) >= 2)); then
	PIN_GW=(taskset -c "$GW_CPU")
	PIN_LOAD=(taskset -c "$LOAD_CPU")
else
	PIN_GW=()
	PIN_LOAD=()
	NOTES+=("No pinning: taskset missing or fewer than 2 cores; numbers are not per core.")
fi

# Processes this script started, stopped on exit (by pid only).
PIDS=()
cleanup() {
	[[ -n ${PORTKEY_PID:-} ]] && kill "$PORTKEY_PID" 2>/dev/null
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_pid() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	local keep=()
	for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

say "== building into $BIN"
if ((${#BUILD_FLAGS[@]} > 0)); then
	NOTES+=("Built with \`${BUILD_FLAGS[*]}\`: the numbers are not comparable with an ordinary build.")
fi
go build "${BUILD_FLAGS[@]}" -o "$BIN/" ./bench/mock ./bench/load ./bench/refproxy ./bench/report
# Ports are picked free at run time (no fixed ports: two runs on one
# machine never collide).
read -r MOCK_PORT SLOW_MOCK_PORT REFPROXY_PORT FULCRUM_PORT PORTKEY_PORT < <("$BIN/load" -free-ports 5)
say "== ports: mock $MOCK_PORT, slow mock $SLOW_MOCK_PORT, refproxy $REFPROXY_PORT, fulcrum $FULCRUM_PORT, portkey $PORTKEY_PORT"
HAVE_FULCRUM=0
if [[ " $TARGETS " == *" fulcrum"* ]]; then
	if go build "${BUILD_FLAGS[@]}" -o "$BIN/fulcrum" ./cmd/fulcrum 2>"$WORK/fulcrum-build.log"; then
		HAVE_FULCRUM=1
	else
		NOTES+=("Fulcrum skipped: \`go build ./cmd/fulcrum\` failed.")
		say "fulcrum does not build; skipping it (see $WORK/fulcrum-build.log)"
	fi
fi

# fulcrum_config FILE UPSTREAM_PORT FEATURES_OFF(0/1)
fulcrum_config() {
	{
		echo "server: { listen: \"127.0.0.1:$FULCRUM_PORT\" }"
		echo "storage: { data_dir: $WORK/fulcrum-data }"
		echo "providers:"
		echo "  - { name: mock, type: openai, base_url: \"http://127.0.0.1:$2/v1\", api_key: \"sk-bench\", hosting: self_hosted }"
		echo "models:"
		echo "  - { name: bench-model, provider: mock }"
		if [[ $3 == 1 ]]; then
			echo "$POLICY_OFF"
			echo "$METERING_OFF"
		fi
	} >"$1"
}

# start_mock PORT [flags...]: sets MOCK_PID.
start_mock() {
	local port=$1
	shift
	"${PIN_LOAD[@]}" "$BIN/mock" -listen "127.0.0.1:$port" "$@" >>"$WORK/mock.log" 2>&1 &
	MOCK_PID=$!
	PIDS+=("$MOCK_PID")
	"$BIN/load" -url "http://127.0.0.1:$port/v1/chat/completions" -probe 10s
}

# drop_cached BIN: writes the binary back and drops its pages from the page
# cache before it starts, so that it is read from disk as a deployed binary
# is. Just linked, its pages are cached (dirty, so they cannot be dropped
# before the sync) in the large folios the linker's writes made, and the
# kernel maps a whole folio on a fault: one gateway binary peaked at
# 49.6-49.7 MB RSS at 32 connections as linked, 39.2-39.5 MB read back
# from disk, the difference all file-backed (docs/benchmarks.md, 2026-12-06).
drop_cached() { sync "$1" 2>/dev/null; dd if="$1" iflag=nocache count=0 status=none 2>/dev/null || true; }

# start_target NAME UPSTREAM_PORT: starts the gateway, sets URL, TPID and
# HDRS; returns non-zero if it does not answer.
start_target() {
	local name=$1 up=$2
	TPID=""
	HDRS=()
	case $name in
	direct)
		URL="http://127.0.0.1:$up/v1/chat/completions"
		return 0
		;;
	refproxy)
		drop_cached "$BIN/refproxy"
		GOMAXPROCS=1 "${PIN_GW[@]}" "$BIN/refproxy" -listen "127.0.0.1:$REFPROXY_PORT" \
			-upstream "http://127.0.0.1:$up" >>"$WORK/refproxy.log" 2>&1 &
		TPID=$!
		URL="http://127.0.0.1:$REFPROXY_PORT/v1/chat/completions"
		;;
	fulcrum | fulcrum-off)
		drop_cached "$BIN/fulcrum"
		local off=0
		[[ $name == fulcrum-off ]] && off=1
		rm -rf "$WORK/fulcrum-data"
		fulcrum_config "$WORK/$name.yaml" "$up" "$off"
		GOMAXPROCS=1 "${PIN_GW[@]}" "$BIN/fulcrum" serve --config "$WORK/$name.yaml" \
			--listen "127.0.0.1:$FULCRUM_PORT" >>"$WORK/$name.log" 2>&1 &
		TPID=$!
		URL="http://127.0.0.1:$FULCRUM_PORT/v1/chat/completions"
		;;
	portkey)
		"${PIN_GW[@]}" npx -y "@portkey-ai/gateway@$PORTKEY_VERSION" --headless "--port=$PORTKEY_PORT" \
			>>"$WORK/portkey.log" 2>&1 &
		TPID=$!
		URL="http://127.0.0.1:$PORTKEY_PORT/v1/chat/completions"
		HDRS=(-H "x-portkey-provider: openai" -H "x-portkey-custom-host: http://127.0.0.1:$up/v1")
		;;
	*)
		say "unknown target $name"
		return 1
		;;
	esac
	PIDS+=("$TPID")
	if ! "$BIN/load" -url "$URL" "${HDRS[@]}" -probe 30s 2>>"$WORK/$name.probe.log"; then
		say "$name does not answer; see $WORK/$name.log and $WORK/$name.probe.log"
		stop_pid "$TPID"
		return 1
	fi
	if [[ $name == portkey ]]; then
		# npx runs the server as a child: measure the process that listens.
		local lp
		lp=$(ss -ltnpH "sport = :$PORTKEY_PORT" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
		[[ -n $lp && $lp != "$TPID" ]] && PORTKEY_PID=$lp
	fi
	return 0
}

# stop_target: stops the current target (and npx's child for portkey).
stop_target() {
	[[ -n $TPID ]] && stop_pid "$TPID"
	if [[ -n ${PORTKEY_PID:-} ]]; then
		kill "$PORTKEY_PID" 2>/dev/null || true
		PORTKEY_PID=""
	fi
	return 0
}

pid_of() { # the pid whose CPU and RSS to read for the current target
	if [[ ${1} == portkey && -n ${PORTKEY_PID:-} ]]; then echo "$PORTKEY_PID"; else echo "${TPID}"; fi
}

# run_load TARGET SCENARIO REP STREAM(0/1) [load flags...]
run_load() {
	local target=$1 scenario=$2 rep=$3 stream=$4
	shift 4
	local args=(-url "$URL" "${HDRS[@]}" -target "$target" -scenario "$scenario" -rep "$rep"
		-warmup "$WARMUP" -out "$JSONL" -brief)
	[[ $stream == 1 ]] && args+=(-stream)
	[[ -n $TPID ]] && args+=(-pid "$(pid_of "$target")")
	if ! "${PIN_LOAD[@]}" "$BIN/load" "${args[@]}" "$@" >/dev/null; then
		say "load failed: $target $scenario rep $rep"
	fi
}

say "== mock upstream on 127.0.0.1:$MOCK_PORT"
start_mock "$MOCK_PORT"

# Repetitions are the outer loop, so slow drift of a shared machine falls
# on every target alike; each target starts fresh in each repetition.
SKIPPED=" "
for rep in $(seq 1 "$REPS"); do
	for target in $TARGETS; do
		[[ $target == fulcrum* && $HAVE_FULCRUM == 0 ]] && continue
		[[ $SKIPPED == *" $target "* ]] && continue
		say "== rep $rep/$REPS: $target"
		if ! start_target "$target" "$MOCK_PORT"; then
			SKIPPED+="$target "
			NOTES+=("$target skipped: it did not answer a probe request.")
			continue
		fi
		for stream in 0 1; do
			run_load "$target" "closed$CONNS" "$rep" "$stream" -conns "$CONNS" -duration "$DUR"
			for rate in $RATES; do
				run_load "$target" "open$rate" "$rep" "$stream" -rate "$rate" -duration "$DUR"
			done
		done
		stop_target
	done
done

if ((STREAMS > 0)); then
	say "== $STREAMS concurrent streams (mock sends an event every $STREAMS_DELAY)"
	start_mock "$SLOW_MOCK_PORT" -chunk-delay "$STREAMS_DELAY"
	SLOW_PID=$MOCK_PID
	for target in $TARGETS; do
		[[ $target == fulcrum* && $HAVE_FULCRUM == 0 ]] && continue
		[[ $SKIPPED == *" $target "* ]] && continue
		start_target "$target" "$SLOW_MOCK_PORT" || continue
		run_load "$target" "streams$STREAMS" 1 1 -conns "$STREAMS" -duration "$STREAMS_DUR" -grace 10s
		stop_target
	done
	stop_pid "$SLOW_PID"
fi

# The report: header with the machine and settings, then the tables.
MD=$OUT/$STAMP.md
cp "$JSONL" "$OUT/$STAMP.jsonl"
{
	echo "## Run $STAMP"
	echo
	echo "Command: \`BENCH_DURATION=$DUR BENCH_WARMUP=$WARMUP BENCH_REPS=$REPS BENCH_CONNS=$CONNS BENCH_RATES=\"$RATES\" BENCH_STREAMS=$STREAMS bash bench/run.sh\`"
	echo
	echo "Machine:"
	echo
	echo "- nproc: $(nproc)"
	echo "- CPU: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)"
	echo "- kernel: $(uname -sr)"
	echo "- Go: $(go version | cut -d' ' -f3-)"
	echo "- git: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- 2>/dev/null || echo ' (work tree modified)')"
	if ((${#PIN_GW[@]} > 0)); then
		echo "- pinning: gateway \`taskset -c $GW_CPU\` with GOMAXPROCS=1; load generator and mock \`taskset -c $LOAD_CPU\`"
	fi
	echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	for n in "${NOTES[@]}"; do echo "> $n"; done
	((${#NOTES[@]} > 0)) && echo
	"$BIN/report" "$JSONL"
} >"$MD"
cat "$MD"
say "== written $MD and $OUT/$STAMP.jsonl (logs in $WORK)"
