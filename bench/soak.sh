#!/usr/bin/env bash
# bench/soak.sh — a soak of the gateway with recording on (issue 17): a
# steady open-loop load for a long time, reported window by window, so that
# what grows with the store shows: latency percentiles (p50, p99, p99.9,
# max), RSS, the data directory's size, and the time of a `fulcrum usage`
# query against the live store.
#
#   bash bench/soak.sh                                   # 10 minutes, SQLite
#   SOAK_DURATION=30m SOAK_RATE=1000 bash bench/soak.sh  # the issue's soak
#   SOAK_STORE=postgres bash bench/soak.sh               # PostgreSQL (a fresh schema)
#   SOAK_DURATION=20s SOAK_WINDOW=10s SOAK_RATE=50 bash bench/soak.sh   # smoke
#
# Settings (environment):
#   SOAK_DURATION=10m     total measured time
#   SOAK_WINDOW=30s       one report line per window
#   SOAK_RATE=200         requests/s in total (open loop: latency counts from
#                         the scheduled start, so a stall is charged to every
#                         request it delayed)
#   SOAK_STREAM_PCT=20    share of them streaming (SSE), in percent
#   SOAK_STORE=sqlite     or postgres
#   SOAK_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable
#                         (a schema of the run's own is created and dropped)
#   SOAK_QUERY="usage --since 1h --group-by day,model"   the query timed
#                         after each window (empty: none)
#   SOAK_VERIFY=1         time `fulcrum audit verify` at the end
#   SOAK_BASELINE=1       first one window of the same load straight to the
#                         mock (no gateway): the machine's own latency noise
#   SOAK_PROFILE=0        1: a 20 s CPU profile and a 5 s execution trace of
#                         the gateway in the middle of the run (pprof on a
#                         loopback port, files next to the report)
#   SOAK_TAIL_PROFILE=0   1: the first time a window's p99.9 exceeds
#                         SOAK_TAIL_X (10) times its p50, the same 20 s CPU
#                         profile and 5 s execution trace in the next window
#                         (files soak-<date>.tail-w<N>.*), to catch what a
#                         tail episode is made of
#   SOAK_FLIGHT=0         1: the gateway's flight recorder on
#                         (diagnostics.flight_recorder, docs/diagnostics.md):
#                         a request slower than SOAK_FLIGHT_SLOW (20ms)
#                         writes the last seconds of the execution trace to
#                         soak-<date>.flight/ (at most SOAK_FLIGHT_MAX, 10,
#                         one a SOAK_FLIGHT_GAP, 60s); the report lists them
#                         with each one's window and ends with what each
#                         snapshot's slow requests were made of (bench/flight)
#   SOAK_GOMAXPROCS=""    GOMAXPROCS of the gateway (default: all cores)
#   SOAK_PIN=0            1: as bench/run.sh does, pin the gateway to core 1
#                         and the mock, the load generators and the query to
#                         core 0 (taskset), so the gateway's tail is not the
#                         harness's: unpinned on 2 cores, the three processes
#                         take turns on the same cores and each one's
#                         descheduling shows up as the gateway's latency
#   SOAK_HARNESS_RT=0     1: the mock and the load generators run under the
#                         real-time FIFO policy (chrt -f 50; needs root or
#                         CAP_SYS_NICE). Measured worse, kept to show it:
#                         the Go runtimes' spinning threads then take the
#                         CPUs from the gateway (docs/benchmarks.md)
#   SOAK_HARNESS_NICE=""  a nice value for the mock and the load generators
#                         (e.g. -10; negative needs root or CAP_SYS_NICE): a
#                         larger CFS share, so on a machine with fewer cores
#                         than busy processes the upstream's answer and a
#                         request's send wait less behind the gateway. The
#                         gateway keeps nice 0: every moment the harness
#                         takes a CPU from it is still charged to it
#   SOAK_HARNESS_PROCS="" GOMAXPROCS of the mock and the load generators
#                         (fewer spinning scheduler threads competing with
#                         the gateway's)
#   SOAK_TARGET=fulcrum   or refproxy: the same harness against the bare
#                         httputil.ReverseProxy of bench/run.sh (no store,
#                         no query, no audit): how much of a window's tail
#                         any Go proxy between the load and the mock gets
#                         on this machine. The Fulcrum-only settings
#                         (SOAK_PROFILE, SOAK_TAIL_PROFILE, SOAK_FLIGHT,
#                         SOAK_EXTRA_YAML) are refused with it
#   SOAK_GOGC=""          GOGC of the gateway (default: the runtime's, 100)
#   SOAK_EXTRA_YAML=""    extra lines for the gateway's config
#   SOAK_FULCRUM_BIN=""   a prebuilt fulcrum binary to soak instead of this
#                         tree's (before/after pairs on one machine state)
#   SOAK_OUT=bench/results  where soak-<date>.md and .jsonl go
#
# Every window also reports where a tail could come from, in a second
# table: the machine's CPU busy and steal (/proc/stat), the gateway's
# run delay (time its threads were runnable and waiting for a CPU,
# /proc/PID/task/*/schedstat) and involuntary context switches, its GC
# cycles and longest pause (go_gc_duration_seconds), its record commits
# to the store over 25 ms (fulcrum_record_commit_seconds), and the load
# generators' own lateness (how late they started requests against the
# timetable) and goroutine scheduling latency: a stall there is the
# harness's, not the gateway's.
#
# Not run in CI (minutes by design); the smoke line above checks that it
# works in about half a minute.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

DUR=${SOAK_DURATION:-10m}
WIN=${SOAK_WINDOW:-30s}
RATE=${SOAK_RATE:-200}
STREAM_PCT=${SOAK_STREAM_PCT:-20}
STORE=${SOAK_STORE:-sqlite}
PGURL=${SOAK_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
QUERY=${SOAK_QUERY-usage --since 1h --group-by day,model}
VERIFY=${SOAK_VERIFY:-1}
PROFILE=${SOAK_PROFILE:-0}
TAIL_PROFILE=${SOAK_TAIL_PROFILE:-0}
TAIL_X=${SOAK_TAIL_X:-10}
FLIGHT=${SOAK_FLIGHT:-0}
tail_next="" # set to the window whose tail triggered a capture in the next one
OUT=${SOAK_OUT:-$ROOT/bench/results}
TARGET=${SOAK_TARGET:-fulcrum}
case $TARGET in
fulcrum) ;;
refproxy)
	# No store, no query, no audit, no pprof or flight recorder.
	QUERY="" VERIFY=0
	if [[ $PROFILE == 1 || $TAIL_PROFILE == 1 || $FLIGHT == 1 || -n ${SOAK_EXTRA_YAML:-} ]]; then
		echo "SOAK_TARGET=refproxy cannot honour SOAK_PROFILE, SOAK_TAIL_PROFILE, SOAK_FLIGHT or SOAK_EXTRA_YAML (Fulcrum's)" >&2
		exit 2
	fi
	;;
*)
	echo "SOAK_TARGET must be fulcrum or refproxy" >&2
	exit 2
	;;
esac
# What the run changed from the defaults, for the report's header.
SETTINGS=()

secs() { # 90s, 10m, 1h -> seconds
	local v=$1
	case $v in
	*h) echo $((${v%h} * 3600)) ;;
	*m) echo $((${v%m} * 60)) ;;
	*s) echo "${v%s}" ;;
	*) echo "$v" ;;
	esac
}
DUR_S=$(secs "$DUR")
WIN_S=$(secs "$WIN")
WINDOWS=$(((DUR_S + WIN_S - 1) / WIN_S))
STREAM_RATE=$(awk "BEGIN{print $RATE*$STREAM_PCT/100}")
PLAIN_RATE=$(awk "BEGIN{print $RATE-$STREAM_RATE}")

STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
WORK=$(mktemp -d /tmp/fulcrum-soak.XXXXXX)
BIN=$WORK/bin
DATA=$WORK/data
JSONL=$OUT/soak-$STAMP.jsonl
MD=$OUT/soak-$STAMP.md
mkdir -p "$BIN" "$OUT" "$DATA"
: >"$JSONL"

say() { printf '%s\n' "$*" >&2; }

PIN_GW=()
PIN_H=()
if [[ ${SOAK_PIN:-0} == 1 ]]; then
	if ! command -v taskset >/dev/null || (($(nproc) < 2)); then
		say "SOAK_PIN=1 needs taskset and at least 2 cores"
		exit 2
	fi
	PIN_GW=(taskset -c 1)
	PIN_H=(taskset -c 0)
	SETTINGS+=("gateway pinned to core 1, mock, load generators and queries to core 0 (SOAK_PIN=1)")
else
	SETTINGS+=("nothing pinned")
fi
if [[ -n ${SOAK_HARNESS_NICE:-} ]]; then
	# nice(1) only warns when it may not lower the value: check the result.
	want=$(($(nice) + SOAK_HARNESS_NICE))
	if [[ $(nice -n "$SOAK_HARNESS_NICE" nice 2>/dev/null) != "$want" ]]; then
		say "SOAK_HARNESS_NICE=$SOAK_HARNESS_NICE could not be applied (a negative value needs root or CAP_SYS_NICE)"
		exit 2
	fi
	PIN_H=(nice -n "$SOAK_HARNESS_NICE" "${PIN_H[@]}")
	SETTINGS+=("mock and load generators at nice $SOAK_HARNESS_NICE")
fi
if [[ ${SOAK_HARNESS_RT:-0} == 1 ]]; then
	if ! chrt -f 50 true 2>/dev/null; then
		say "SOAK_HARNESS_RT=1 needs chrt and the right to use SCHED_FIFO (root or CAP_SYS_NICE)"
		exit 2
	fi
	PIN_H=(chrt -f 50 "${PIN_H[@]}")
	SETTINGS+=("mock and load generators real-time (SOAK_HARNESS_RT=1)")
fi
if [[ -n ${SOAK_HARNESS_PROCS:-} ]]; then
	PIN_H=(env GOMAXPROCS="$SOAK_HARNESS_PROCS" "${PIN_H[@]}")
	SETTINGS+=("mock and load generators GOMAXPROCS=$SOAK_HARNESS_PROCS")
fi
# The query an operator would run, timed after each window: pinned with
# the harness (SOAK_PIN=1) but never real-time, as an operator's is not.
PIN_Q=()
[[ ${SOAK_PIN:-0} == 1 ]] && PIN_Q=(taskset -c 0)

PIDS=()
SCHEMA=""
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	if [[ -n $SCHEMA ]]; then
		psql -q "$PGURL" -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

say "== building into $BIN"
go build -o "$BIN/" ./bench/mock ./bench/load ./bench/refproxy ./cmd/fulcrum
if [[ -n ${SOAK_FULCRUM_BIN:-} ]]; then
	# A before/after pair runs the same harness against two gateways.
	cp "$SOAK_FULCRUM_BIN" "$BIN/fulcrum"
	SETTINGS+=("gateway binary $SOAK_FULCRUM_BIN")
fi
read -r MOCK_PORT FULCRUM_PORT PPROF_PORT < <("$BIN/load" -free-ports 3)

case $STORE in
sqlite) STORAGE="storage: { data_dir: $DATA }" ;;
postgres)
	SCHEMA=fulcrum_soak_$$
	psql -q "$PGURL" -c "CREATE SCHEMA $SCHEMA" >/dev/null
	sep='&'
	[[ $PGURL == *\?* ]] || sep='?'
	STORAGE="storage: { data_dir: $DATA, url: \"$PGURL${sep}search_path=$SCHEMA\" }"
	;;
*)
	say "SOAK_STORE must be sqlite or postgres"
	exit 2
	;;
esac

CFG=$WORK/fulcrum.yaml
{
	echo "server: { listen: \"127.0.0.1:$FULCRUM_PORT\" }"
	echo "$STORAGE"
	echo "providers:"
	echo "  - { name: mock, type: openai, base_url: \"http://127.0.0.1:$MOCK_PORT/v1\", api_key: \"sk-bench\", hosting: self_hosted }"
	echo "models:"
	echo "  - { name: bench-model, provider: mock }"
	if [[ $FLIGHT == 1 ]]; then
		echo "diagnostics: { flight_recorder: { enabled: true, slow_request: ${SOAK_FLIGHT_SLOW:-20ms}, dir: \"$OUT/soak-$STAMP.flight\", max_snapshots: ${SOAK_FLIGHT_MAX:-10}, min_interval: ${SOAK_FLIGHT_GAP:-60s} } }"
	fi
	[[ -n ${SOAK_EXTRA_YAML:-} ]] && echo "$SOAK_EXTRA_YAML"
	true
} >"$CFG"

"${PIN_H[@]}" "$BIN/mock" -listen "127.0.0.1:$MOCK_PORT" >>"$WORK/mock.log" 2>&1 &
PIDS+=($!)
"$BIN/load" -url "http://127.0.0.1:$MOCK_PORT/v1/chat/completions" -probe 10s

# The machine's own noise: one window of the same load straight to the
# mock (no gateway), reported as window 0.
BASELINE_JSON='{}'
if [[ ${SOAK_BASELINE:-1} == 1 ]]; then
	say "== baseline: $WIN straight to the mock"
	BASELINE_JSON=$("${PIN_H[@]}" "$BIN/load" -url "http://127.0.0.1:$MOCK_PORT/v1/chat/completions" -rate "$RATE" -duration "${WIN_S}s" \
		-warmup 1s -q -target direct -scenario baseline)
	jq -r '"baseline (direct to the mock): p50 \(.latency_ms.p50*10|round/10) p99 \(.latency_ms.p99*10|round/10) p99.9 \(.latency_ms.p999*10|round/10) max \(.latency_ms.max*10|round/10) ms"' <<<"$BASELINE_JSON" >&2
fi

GW_ENV=(FULCRUM_PPROF_ADDR="127.0.0.1:$PPROF_PORT")
if [[ -n ${SOAK_GOMAXPROCS:-} ]]; then
	GW_ENV+=(GOMAXPROCS="$SOAK_GOMAXPROCS")
	SETTINGS+=("gateway GOMAXPROCS=$SOAK_GOMAXPROCS")
fi
if [[ -n ${SOAK_GOGC:-} ]]; then
	GW_ENV+=(GOGC="$SOAK_GOGC")
	SETTINGS+=("gateway GOGC=$SOAK_GOGC")
fi
[[ -n ${SOAK_EXTRA_YAML:-} ]] && SETTINGS+=("extra config \`$SOAK_EXTRA_YAML\`")
[[ $FLIGHT == 1 ]] && SETTINGS+=("flight recorder on")
GW_CMD=("$BIN/fulcrum" serve --config "$CFG")
[[ $TARGET == refproxy ]] && GW_CMD=("$BIN/refproxy" -listen "127.0.0.1:$FULCRUM_PORT" -upstream "http://127.0.0.1:$MOCK_PORT")
"${PIN_GW[@]}" env "${GW_ENV[@]}" "${GW_CMD[@]}" >>"$WORK/fulcrum.log" 2>&1 &
GW=$!
PIDS+=($GW)
URL="http://127.0.0.1:$FULCRUM_PORT/v1/chat/completions"
"$BIN/load" -url "$URL" -probe 30s

say "== soak: $DUR at $RATE req/s ($PLAIN_RATE plain + $STREAM_RATE streaming), $STORE, windows of $WIN; work dir $WORK"

data_bytes() {
	if [[ $TARGET == refproxy ]]; then
		echo 0
	elif [[ $STORE == sqlite ]]; then
		du -sb "$DATA" | cut -f1
	else
		psql -qtA "$PGURL" -c "SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c
			JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '$SCHEMA' AND c.relkind IN ('r', 'm')"
	fi
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$GW/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$GW/status"; }

# The diagnostics of a window (JSONL line) as a log line and a table row.
# n/a where a figure is missing (an older load generator, no /metrics).
DIAG_DEFS='def r1: if . == null then "n/a" elif . < 0 then ">2500" else (.*10|round/10|tostring) end;
def lateq: [.plain.send_late_ms.p999, .stream.send_late_ms.p999] | map(select(. != null)) | max;
def latemax: [.plain.send_late_ms.max, .stream.send_late_ms.max] | map(select(. != null)) | max;
def hsched: [.plain.harness.sched_max_ms, .stream.harness.sched_max_ms] | map(select(. != null)) | max;
def hgc: [.plain.harness.gc_pause_max_ms, .stream.harness.gc_pause_max_ms] | map(select(. != null)) | max;'
DIAG_LINE="$DIAG_DEFS"'"  machine busy \(.plain.machine.busy_pct|r1)% steal \(.plain.machine.steal_pct|r1)%; gateway run delay \(.plain.sched.run_delay_pct|r1)%, \(.plain.sched.involuntary_switches // "n/a") involuntary switches, GC \(.plain.target_go.gc_cycles // "n/a") (max pause \(.plain.target_go.gc_pause_max_ms|r1) ms), commits >25ms \(.plain.target_go.commits_over_25ms // "n/a") (slowest <= \(.plain.target_go.commit_max_le_ms|r1) ms); load gen late p99.9 \(lateq|r1) max \(latemax|r1) ms, its sched max \(hsched|r1) ms, GC max \(hgc|r1) ms; snapshots \(.snapshots|length)"'
DIAG_ROW="$DIAG_DEFS"'"| \(.window) | \(.plain.latency_ms.p999 / .plain.latency_ms.p50 | r1) | \(.plain.machine.busy_pct|r1) | \(.plain.machine.steal_pct|r1) | \(.plain.sched.run_delay_pct|r1) | \(.plain.sched.involuntary_switches // "n/a") | \(.plain.target_go.gc_cycles // "n/a") | \(.plain.target_go.gc_pause_max_ms|r1) | \(.plain.target_go.commits_over_25ms // "n/a") | \(.plain.target_go.commit_max_le_ms|r1) | \(lateq|r1) | \(latemax|r1) | \(hsched|r1) | \(hgc|r1) | \(.plain.target_go.slow_requests // "n/a") | \(.snapshots | join(" ")) |"'

START=$(date +%s)
: >"$WORK/snaps.seen"
for ((w = 1; w <= WINDOWS; w++)); do
	d=$WIN_S
	if ((w == WINDOWS && DUR_S % WIN_S != 0)); then d=$((DUR_S % WIN_S)); fi
	warm=0s
	((w == 1)) && warm=2s
	"${PIN_H[@]}" "$BIN/load" -url "$URL" -rate "$PLAIN_RATE" -duration "${d}s" -warmup "$warm" -q -target fulcrum \
		-scenario "w$w" -pid "$GW" -metrics "http://127.0.0.1:$FULCRUM_PORT/metrics" >"$WORK/plain.json" &
	LP=$!
	SP=""
	if [[ $STREAM_PCT != 0 ]]; then
		"${PIN_H[@]}" "$BIN/load" -url "$URL" -stream -rate "$STREAM_RATE" -duration "${d}s" -warmup "$warm" -q -target fulcrum \
			-scenario "w$w" >"$WORK/stream.json" &
		SP=$!
	fi
	if [[ $PROFILE == 1 && $w == $(((WINDOWS + 1) / 2)) ]]; then
		(sleep 2 && curl -s -o "$OUT/soak-$STAMP.cpu.pprof" "http://127.0.0.1:$PPROF_PORT/debug/pprof/profile?seconds=20" &&
			curl -s -o "$OUT/soak-$STAMP.trace" "http://127.0.0.1:$PPROF_PORT/debug/pprof/trace?seconds=5") &
	fi
	if [[ -n $tail_next && $tail_next != done ]]; then
		say "== window $tail_next's p99.9 was over ${TAIL_X}x its p50: profiling window $w"
		(curl -s -o "$OUT/soak-$STAMP.tail-w$w.cpu.pprof" "http://127.0.0.1:$PPROF_PORT/debug/pprof/profile?seconds=20" &&
			curl -s -o "$OUT/soak-$STAMP.tail-w$w.trace" "http://127.0.0.1:$PPROF_PORT/debug/pprof/trace?seconds=5") &
		tail_next=done
	fi
	wait "$LP"
	[[ -n $SP ]] && wait "$SP"
	qms=null
	if [[ -n $QUERY ]]; then
		t0=$(date +%s%N)
		# shellcheck disable=SC2086
		"${PIN_Q[@]}" "$BIN/fulcrum" $QUERY --config "$CFG" >/dev/null 2>>"$WORK/query.log" || say "query failed (see $WORK/query.log)"
		qms=$((($(date +%s%N) - t0) / 1000000))
	fi
	stream='{}'
	[[ -n $SP ]] && stream=$(cat "$WORK/stream.json")
	snaps='[]'
	if [[ $FLIGHT == 1 ]]; then
		# Snapshots are written a moment after their slow request; those
		# of the window's last second may count in the next window.
		snaps=$(comm -13 "$WORK/snaps.seen" <(ls "$OUT/soak-$STAMP.flight" 2>/dev/null | sort) | jq -R . | jq -s -c .)
		ls "$OUT/soak-$STAMP.flight" 2>/dev/null | sort >"$WORK/snaps.seen"
	fi
	jq -c -n --argjson w "$w" --argjson t "$(($(date +%s) - START))" --slurpfile p "$WORK/plain.json" \
		--argjson s "$stream" --argjson rss "$(rss_kb)" --argjson hwm "$(hwm_kb)" --argjson bytes "$(data_bytes)" \
		--argjson qms "$qms" --argjson snaps "$snaps" \
		'{window: $w, t_s: $t, plain: $p[0], stream: $s, rss_kb: $rss, rss_peak_kb: $hwm, data_bytes: $bytes, query_ms: $qms, snapshots: $snaps}' >>"$JSONL"
	jq -r '"window \(.window) t=\(.t_s)s: \(.plain.requests + (.stream.requests // 0)) req, errors \(.plain.errors_total + (.stream.errors_total // 0)), p50 \(.plain.latency_ms.p50*10|round/10) p99 \(.plain.latency_ms.p99*10|round/10) p99.9 \(.plain.latency_ms.p999*10|round/10) max \(.plain.latency_ms.max*10|round/10) ms, RSS \(.rss_kb/1024|floor) MB, data \(.data_bytes/1048576|floor) MB, query \(.query_ms) ms"' \
		<(tail -1 "$JSONL") >&2
	jq -r "$DIAG_LINE" <(tail -1 "$JSONL") >&2
	if [[ $TAIL_PROFILE == 1 && -z $tail_next ]] &&
		jq -e --argjson x "$TAIL_X" '.plain.latency_ms.p999 > $x * .plain.latency_ms.p50' <(tail -1 "$JSONL") >/dev/null; then
		tail_next=$w
	fi
done

VERIFY_MS=null
if [[ $VERIFY == 1 ]]; then
	sleep 1
	t0=$(date +%s%N)
	"${PIN_Q[@]}" "$BIN/fulcrum" audit verify --config "$CFG" >"$WORK/verify.out" 2>&1 || say "audit verify failed: $(cat "$WORK/verify.out")"
	VERIFY_MS=$((($(date +%s%N) - t0) / 1000000))
fi

{
	echo "# Soak, $STAMP"
	echo
	if [[ $TARGET == refproxy ]]; then
		echo "$DUR at $RATE requests/s open loop ($PLAIN_RATE plain + $STREAM_RATE streaming) through the bare reverse proxy (SOAK_TARGET=refproxy): no store, no query; \"gateway\" below means the proxy;"
	else
		echo "$DUR at $RATE requests/s open loop ($PLAIN_RATE plain + $STREAM_RATE streaming), store $STORE, default features;"
	fi
	settings=$(printf '; %s' "${SETTINGS[@]}")
	echo "$(nproc) cores, load average at the end $(cut -d' ' -f1-3 /proc/loadavg)$settings. Latency columns are the non-streaming requests"
	echo "of the window (ms, from the scheduled start); errors count both kinds.$([[ -n $QUERY ]] && echo " Query: \`fulcrum $QUERY\` after the window.")"
	echo
	echo "| window | t (s) | requests | errors | p50 | p99 | p99.9 | max | stream p99 | RSS MB | data MB | query ms |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
	if [[ $BASELINE_JSON != '{}' ]]; then
		jq -r '"| 0: direct to the mock, no gateway | | \(.requests) | \(.errors_total) | \(.latency_ms.p50*10|round/10) | \(.latency_ms.p99*10|round/10) | \(.latency_ms.p999*10|round/10) | \(.latency_ms.max*10|round/10) | | | | |"' <<<"$BASELINE_JSON"
	fi
	jq -r '"| \(.window) | \(.t_s) | \(.plain.requests + (.stream.requests // 0)) | \(.plain.errors_total + (.stream.errors_total // 0)) | \(.plain.latency_ms.p50*10|round/10) | \(.plain.latency_ms.p99*10|round/10) | \(.plain.latency_ms.p999*10|round/10) | \(.plain.latency_ms.max*10|round/10) | \((.stream.latency_ms.p99 // 0)*10|round/10) | \(.rss_kb/1024*10|floor/10) | \(.data_bytes/1048576*10|floor/10) | \(.query_ms) |"' "$JSONL"
	echo
	jq -s -r '"Total: \(map(.plain.requests + (.stream.requests // 0)) | add) requests, \(map(.plain.errors_total + (.stream.errors_total // 0)) | add) errors; RSS peak \(map(.rss_peak_kb) | max / 1024 | floor) MB; data \(.[-1].data_bytes / 1048576 | floor) MB (\(.[-1].data_bytes / (map(.plain.requests + (.stream.requests // 0)) | add) | floor) bytes a request); worst window p99.9 \(map(.plain.latency_ms.p999) | max | round) ms, max \(map(.plain.latency_ms.max) | max | round) ms."' "$JSONL"
	echo
	echo "\`fulcrum audit verify\` at the end: $VERIFY_MS ms ($(tail -1 "$WORK/verify.out" 2>/dev/null || echo -))."
	echo
	echo "Where a tail could come from, per window: p99.9/p50; the machine's CPU busy and steal (% of all CPUs);"
	echo "the gateway's run delay (% of wall time its threads waited for a CPU) and involuntary context switches;"
	echo "its GC cycles and longest pause (ms, of the runtime's last 256); its record commits over 25 ms and the"
	echo "slowest one's bucket bound (ms); the load generators' lateness against the timetable (p99.9, max ms),"
	echo "their own longest goroutine wait for a CPU and GC pause (ms); requests over the flight recorder's"
	echo "threshold and the snapshots written (SOAK_FLIGHT=1)."
	echo
	echo "| window | p99.9/p50 | busy % | steal % | gw run delay % | gw invol. switches | gw GCs | gw GC max | commits >25ms | commit max <= | lg late p99.9 | lg late max | lg sched max | lg GC max | slow req | snapshots |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	jq -r "$DIAG_ROW" "$JSONL"
	if [[ $FLIGHT == 1 ]]; then
		echo
		snaps=("$OUT/soak-$STAMP.flight"/*.trace)
		if [[ -e ${snaps[0]} ]]; then
			# What each snapshot's slow requests were made of (bench/flight,
			# a module of its own: the first run downloads its parser).
			echo "Flight-recorder snapshots (\`cd bench/flight && go run . -slow ${SOAK_FLIGHT_SLOW:-20ms} FILE\`):"
			echo
			echo '```'
			(cd "$ROOT/bench/flight" && go run . -slow "${SOAK_FLIGHT_SLOW:-20ms}" -detail 1 "${snaps[@]}" 2>&1) |
				sed "s#$OUT/##" || echo "(bench/flight failed: see above)"
			echo '```'
		else
			echo "Flight recorder on: no request over ${SOAK_FLIGHT_SLOW:-20ms}, no snapshot."
		fi
	fi
} >"$MD"
cat "$MD"
say "== wrote $MD and $JSONL"
