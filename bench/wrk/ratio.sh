#!/usr/bin/env bash
# The HTTP benchmarks as ratios: in each run, wrk drives (1) bare Kestrel answering requests of the same shape
# (bench/Selfsame.Bench reference), (2) this checkout's server and, when given, (3) the server of another checkout
# (a git worktree of an earlier commit, built in Release), one after the other with the same load; it prints each run
# and the medians, and each server's median as a ratio of the reference's.
# Each server is warmed up for WARMUP seconds (10 by default: the server's code is still being compiled by the JIT's
# tiers for several seconds, bare Kestrel's is not) before the measured window.
# Usage: [WARMUP=10] bench/wrk/ratio.sh identify|resolve [seconds] [runs] [other-checkout] [connections]
set -euo pipefail
scenario="${1:-resolve}"; seconds="${2:-10}"; runs="${3:-3}"; other="${4:-}"; connections="${5:-64}"; warmup="${WARMUP:-10}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 2; }
dotnet build -c Release "$root/src/Selfsame.Cli" -v quiet -nologo >/dev/null
dotnet build -c Release "$root/bench/Selfsame.Bench" -v quiet -nologo >/dev/null
reference="$root/bench/Selfsame.Bench/bin/Release/net10.0/Selfsame.Bench.dll"
targets=(reference "$root")
if [ -n "$other" ]; then
  dotnet build -c Release "$other/src/Selfsame.Cli" -v quiet -nologo >/dev/null
  targets+=("$other")
fi

wait_healthy() { until curl -sf "http://127.0.0.1:$1/healthz" >/dev/null; do sleep 0.2; done; }

measure() { # port key: warm-up, then the measured window; prints requests/s
  SELFSAME_KEY="$2" wrk -t2 -c"$connections" -d"${warmup}s" -s "$root/bench/wrk/$scenario.lua" "http://127.0.0.1:$1" >/dev/null
  SELFSAME_KEY="$2" wrk -t2 -c"$connections" -d"${seconds}s" -s "$root/bench/wrk/$scenario.lua" "http://127.0.0.1:$1" \
    | awk '/Non-2xx/ { bad = $NF } /Requests\/sec/ { rate = $2 } END { if (bad) print "non-2xx: " bad > "/dev/stderr"; print rate }'
}

declare -A rates
for run in $(seq 1 "$runs"); do
  line="run $run:"
  for target in "${targets[@]}"; do
    port=$((20000 + RANDOM % 20000))
    if [ "$target" = reference ]; then
      dotnet "$reference" reference "http://127.0.0.1:$port" >/dev/null 2>&1 &
      server=$!; key=reference; name=reference
    else
      data="$(mktemp -d)"; cli="$target/src/Selfsame.Cli/bin/Release/net10.0/selfsame.dll"
      key="$(dotnet "$cli" key create --data "$data" --role write | tail -n 1)"
      dotnet "$cli" serve --data "$data" --urls "http://127.0.0.1:$port" >/dev/null 2>&1 &
      server=$!; name="$(git -C "$target" rev-parse --short HEAD)"
      if [ -n "$(git -C "$target" status --porcelain -- src)" ]; then name+="+changes"; fi
    fi
    wait_healthy "$port"
    if [ "$scenario" = resolve ] && [ "$target" != reference ]; then
      for start in $(seq 0 1000 9000); do
        ops=$(seq "$start" $((start + 999)) | awk '{ printf "%s{\"op\":\"identify\",\"user_id\":\"user-%d\",\"identifiers\":[{\"type\":\"email\",\"value\":\"user%d@acme.com\"}]}", (NR>1?",":""), $1, $1 }')
        curl -sf -o /dev/null -X POST "http://127.0.0.1:$port/v1/batch" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' -d "{\"operations\":[$ops]}"
      done
    fi
    rate="$(measure "$port" "$key")"
    rates[$name]+="$rate "
    line+=" $name $rate/s;"
    kill "$server"; wait "$server" 2>/dev/null || true
    [ "$target" = reference ] || rm -rf "$data"
  done
  echo "$line"
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
ref="$(echo "${rates[reference]}" | median)"
for name in "${!rates[@]}"; do
  m="$(echo "${rates[$name]}" | median)"
  echo "$scenario $name: median $m requests/s ($(awk -v a="$m" -v b="$ref" 'BEGIN { printf "%.2f", a / b }')x the reference)"
done
