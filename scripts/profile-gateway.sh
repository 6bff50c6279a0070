#!/usr/bin/env bash
# Profiles a gateway under wrk load: node --cpu-prof on the gateway, wrk on another CPU.
# The gateway runs with the flags `keygate start` uses (NODE_FLAGS overrides them).
# Usage: [PLAN=1] [STORAGE='postgres: "postgres://..."'] scripts/profile-gateway.sh [seconds] [extra yaml lines]
set -euo pipefail
secs=${1:-8}
extra=${2:-}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
cd "$dir"
taskset -c 0 node "$root/bench/upstream.js" > up.log & up_pid=$!
sleep 0.5
up=$(grep -o '[0-9]*' up.log | head -1)
cat > kg.yaml <<YAML
proxy: { host: 127.0.0.1, port: 18080 }
admin: { host: 127.0.0.1, port: 18081 }
storage: { ${STORAGE:-sqlite: $dir/kg.db} }
$extra
routes:
  - { path: /bench, upstream: "http://127.0.0.1:$up" }
YAML
T=kga_benchmark_root_token_0123456789
KEYGATE_ADMIN_TOKEN=$T taskset -c 1 node ${NODE_FLAGS:---max-semi-space-size=64} --cpu-prof --cpu-prof-dir="$dir/prof" "$root/bin/keygate.js" start --config kg.yaml > gw.log 2>&1 & gw_pid=$!
for i in $(seq 50); do curl -s localhost:18081/healthz >/dev/null && break; sleep 0.2; done
if [ -n "${PLAN:-}" ]; then
  plan=$(curl -s -XPOST localhost:18081/v1/plans -H "authorization: Bearer $T" -H 'content-type: application/json' -d '{"name":"p","rate":1000000,"burst":1000000,"quota":{"limit":1000000000000,"period":"month"}}' | node -pe "JSON.parse(require('fs').readFileSync(0)).id")
  plan_field=",\"planId\":\"$plan\""
fi
app=$(curl -s -XPOST localhost:18081/v1/apps -H "authorization: Bearer $T" -H 'content-type: application/json' -d '{"name":"b"}' | node -pe "JSON.parse(require('fs').readFileSync(0)).id")
key=$(curl -s -XPOST localhost:18081/v1/keys -H "authorization: Bearer $T" -H 'content-type: application/json'  -d "{\"appId\":\"$app\"${plan_field:-}}" | node -pe "JSON.parse(require('fs').readFileSync(0)).key")
taskset -c 0 wrk -t1 -c50 -d${secs}s --latency -H "x-api-key: $key" http://127.0.0.1:18080/bench/items | grep -E "Requests/sec|99%|Non-2xx"
kill -TERM $gw_pid; wait $gw_pid || true
kill $up_pid
node "$root/scripts/cpu-top.cjs" "$dir"/prof/*.cpuprofile 40
echo "profile: $(ls "$dir"/prof/*.cpuprofile)"
