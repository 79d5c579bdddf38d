#!/usr/bin/env bash
# bench/tracing.sh — what OpenTelemetry tracing costs the gateway's own
# process (issue 14: "tracing on adds < 5% CPU per request"):
#
#   bash bench/tracing.sh            # 8 pairs of 6 s runs, non-streaming
#   TRACING_STREAM=1 bash bench/tracing.sh
#
# Each pair starts a fresh gateway with tracing off and one with every
# request sampled and exported to bench/otlpsink, in alternating order, and
# drives each with bench/load (32 connections, closed loop) against the
# mock upstream. The gateway is pinned to core 1 with GOMAXPROCS=1; load,
# mock and sink to core 0. It prints the gateway's CPU per request (from
# /proc, as bench/run.sh reads it) for each run, each pair's difference,
# and the ratio of the sums.
#
# Settings: TRACING_PAIRS=8 TRACING_DURATION=6s TRACING_STREAM=0
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PAIRS=${TRACING_PAIRS:-8}
DUR=${TRACING_DURATION:-6s}
STREAM=()
[[ ${TRACING_STREAM:-0} == 1 ]] && STREAM=(-stream)
WORK=$(mktemp -d /tmp/fulcrum-tracing.XXXXXX)
go build -o "$WORK/" ./bench/mock ./bench/load ./bench/otlpsink ./cmd/fulcrum
PIN_GW=(taskset -c 1)
PIN_LOAD=(taskset -c 0)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
read -r MOCK_PORT SINK_PORT GW_PORT < <("$WORK/load" -free-ports 3)
"${PIN_LOAD[@]}" "$WORK/mock" -listen "127.0.0.1:$MOCK_PORT" >"$WORK/mock.log" 2>&1 &
PIDS+=($!)
"${PIN_LOAD[@]}" "$WORK/otlpsink" -listen "127.0.0.1:$SINK_PORT" >"$WORK/sink.log" 2>&1 &
PIDS+=($!)
"$WORK/load" -url "http://127.0.0.1:$MOCK_PORT/v1/chat/completions" -probe 10s
for mode in off on; do
	{
		echo "server: { listen: \"127.0.0.1:$GW_PORT\" }"
		echo "storage: { data_dir: $WORK/data }"
		echo "providers:"
		echo "  - { name: mock, type: openai, base_url: \"http://127.0.0.1:$MOCK_PORT/v1\", api_key: \"sk-bench\", hosting: self_hosted }"
		echo "models:"
		echo "  - { name: bench-model, provider: mock }"
		[[ $mode == on ]] && echo "telemetry: { otlp: { endpoint: \"http://127.0.0.1:$SINK_PORT\" }, sample_ratio: 1 }"
	} >"$WORK/$mode.yaml"
done
run() { # run MODE: prints the gateway's CPU µs per request
	rm -rf "$WORK/data"
	GOMAXPROCS=1 "${PIN_GW[@]}" "$WORK/fulcrum" serve --config "$WORK/$1.yaml" >>"$WORK/$1.log" 2>&1 &
	local gp=$!
	"$WORK/load" -url "http://127.0.0.1:$GW_PORT/v1/chat/completions" -probe 10s
	"${PIN_LOAD[@]}" "$WORK/load" -url "http://127.0.0.1:$GW_PORT/v1/chat/completions" "${STREAM[@]}" \
		-conns 32 -duration "$DUR" -warmup 1s -pid "$gp" -q | tail -1 |
		python3 -c 'import json,sys; print(round(json.load(sys.stdin)["cpu_us_per_req"], 1))'
	kill "$gp"
	wait "$gp" 2>/dev/null || true
}
echo "pair  off µs/req  on µs/req  difference"
sum_off=0 sum_on=0
for i in $(seq 1 "$PAIRS"); do
	if ((i % 2)); then off=$(run off); on=$(run on); else on=$(run on); off=$(run off); fi
	printf '%4d  %10s  %9s  %+9.1f%%\n' "$i" "$off" "$on" "$(python3 -c "print(100*($on/$off-1))")"
	sum_off=$(python3 -c "print($sum_off+$off)") sum_on=$(python3 -c "print($sum_on+$on)")
done
printf 'sums: off %.1f, on %.1f: tracing on adds %+.1f%% CPU per request (load average now: %s)\n' \
	"$sum_off" "$sum_on" "$(python3 -c "print(100*($sum_on/$sum_off-1))")" "$(cut -d' ' -f1-3 /proc/loadavg)"
curl -s "http://127.0.0.1:$SINK_PORT/stats"
