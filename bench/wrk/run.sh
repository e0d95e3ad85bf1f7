#!/usr/bin/env bash
# HTTP load with wrk (Debian package 'wrk'): starts the Release server on a fresh data folder, preloads 10,000 users for
# the resolve scenario, and runs wrk RUNS times. Usage: bench/wrk/run.sh identify|resolve [connections] [seconds] [runs]
set -euo pipefail
scenario="${1:-resolve}"; connections="${2:-64}"; seconds="${3:-10}"; runs="${4:-3}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 2; }
dotnet build -c Release "$root/src/Selfsame.Cli" -v quiet -nologo >/dev/null
cli="$root/src/Selfsame.Cli/bin/Release/net10.0/selfsame.dll"
for run in $(seq 1 "$runs"); do
  data="$(mktemp -d)"
  export SELFSAME_KEY="$(dotnet "$cli" key create --data "$data" --role write | tail -n 1)"
  port=$((20000 + RANDOM % 20000))
  dotnet "$cli" serve --data "$data" --urls "http://127.0.0.1:$port" >/dev/null 2>&1 &
  server=$!
  until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.2; done
  if [ "$scenario" = resolve ]; then
    for start in $(seq 0 1000 9000); do
      ops=$(seq "$start" $((start + 999)) | awk '{ printf "%s{\"op\":\"identify\",\"user_id\":\"user-%d\",\"identifiers\":[{\"type\":\"email\",\"value\":\"user%d@acme.com\"}]}", (NR>1?",":""), $1, $1 }')
      curl -sf -o /dev/null -X POST "http://127.0.0.1:$port/v1/batch" -H "Authorization: Bearer $SELFSAME_KEY" -H 'Content-Type: application/json' -d "{\"operations\":[$ops]}"
    done
  fi
  wrk -t2 -c"$connections" -d2s -s "$root/bench/wrk/$scenario.lua" "http://127.0.0.1:$port" >/dev/null
  echo "run $run: $(wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$root/bench/wrk/$scenario.lua" "http://127.0.0.1:$port" | grep -E 'Requests/sec|Non-2xx|^ +50%|^ +99%' | tr -s ' ' | tr '\n' ' ')"
  kill "$server"; wait "$server" 2>/dev/null || true
  rm -rf "$data"
done
