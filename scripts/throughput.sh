#!/usr/bin/env bash
# Throughput of `serve` over loopback, side by side in one run with wrk (Debian package `wrk`):
#
#   1. one read of every resource type, on `serve` and on moto_server (the version the moto
#      conformance run pins), and the ratio between them;
#   2. DescribeVirtualNode on `serve` against the floor: an axum server that answers every request
#      with a canned DescribeVirtualNode body (examples/canned_describe.rs), alternated three times,
#      and the ratio serve / floor.
#
#   scripts/throughput.sh              5 s per measurement (THROUGHPUT_SECONDS changes it)
#
# wrk runs with 2 threads and 32 connections, sharing the machine's cores with the server under
# test, as the figures in README were measured. Every server listens on 127.0.0.1 and is stopped
# on exit. Without moto (no network for pip), the moto column is left out with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${THROUGHPUT_SECONDS:-5}
[[ $seconds =~ ^[0-9]+$ && $seconds -ge 1 && $seconds -le 120 ]] || {
  echo "error: THROUGHPUT_SECONDS must be a whole number of seconds from 1 to 120" >&2
  exit 2
}
command -v wrk >/dev/null || { echo "error: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
command -v curl >/dev/null || { echo "error: curl is not installed" >&2; exit 2; }

cargo build --release --locked --quiet --bin appmesh-conformance --example canned_describe
free_port() { python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1]); s.close()"; }

pids=()
stop_all() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; }
trap stop_all EXIT

wait_for() {
  for _ in $(seq 1 100); do
    if python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 0.2).close()" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "error: nothing listens on port $1 after 10 s" >&2
  exit 2
}

serve_port=$(free_port)
target/release/appmesh-conformance serve --port "$serve_port" >/dev/null &
pids+=($!)
floor_port=$(free_port)
target/release/examples/canned_describe "$floor_port" >/dev/null &
pids+=($!)

moto_port=""
moto_version=${MOTO_VERSION:-5.2.5}
venv=${MOTO_VENV:-target/moto-venv}
if [[ ! -x $venv/bin/moto_server ]]; then
  { python3 -m venv "$venv" && "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$moto_version"; } >/dev/null 2>&1 || true
fi
if [[ -x $venv/bin/moto_server ]]; then
  moto_port=$(free_port)
  "$venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >/dev/null 2>&1 &
  pids+=($!)
else
  echo "moto: not measured (moto[server]==$moto_version could not be installed in $venv)"
fi
wait_for "$serve_port"
wait_for "$floor_port"
[[ -z $moto_port ]] || wait_for "$moto_port"

# moto routes a request to App Mesh by its signature's scope and checks no signature; `serve`
# without --verify-sigv4 ignores it.
auth='Authorization: AWS4-HMAC-SHA256 Credential=test/20261124/us-east-1/appmesh/aws4_request, SignedHeaders=host, Signature=0000'
put() { curl -sf -o /dev/null -X PUT -H "$auth" -H 'Content-Type: application/json' -d "$2" "http://127.0.0.1:$1/v20190125/$3"; }
# One of each resource type, in creating order; a create the target lacks is noted, not fatal.
setup() {
  local port=$1
  put "$port" '{"meshName":"perf"}' meshes
  put "$port" '{"virtualNodeName":"vn","spec":{}}' meshes/perf/virtualNodes
  put "$port" '{"virtualRouterName":"vr","spec":{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}]}}' meshes/perf/virtualRouters
  put "$port" '{"routeName":"rt","spec":{"httpRoute":{"match":{"prefix":"/"},"action":{"weightedTargets":[{"virtualNode":"vn","weight":1}]}}}}' meshes/perf/virtualRouter/vr/routes
  put "$port" '{"virtualServiceName":"svc.local","spec":{}}' meshes/perf/virtualServices || true
  put "$port" '{"virtualGatewayName":"gw","spec":{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}]}}' meshes/perf/virtualGateways
  put "$port" '{"gatewayRouteName":"gr","spec":{"httpRoute":{"match":{"prefix":"/"},"action":{"target":{"virtualService":{"virtualServiceName":"svc.local"}}}}}}' meshes/perf/virtualGateway/gw/gatewayRoutes || true
}
setup "$serve_port"
[[ -z $moto_port ]] || setup "$moto_port" 2>/dev/null || true

# Requests per second wrk reached on a URL (0 when the URL does not answer 200).
rate() {
  local url=$1
  if [[ $(curl -s -o /dev/null -w '%{http_code}' -H "$auth" "$url") != 200 ]]; then echo 0; return; fi
  wrk -t2 -c32 -d"${seconds}s" -H "$auth" "$url" | awk '/^Requests\/sec/ { printf "%d", $2 }'
}
ratio() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(f'{a / b:.2f}' if b else 'n/a')" "$1" "$2"; }

echo
echo "| read | serve req/s | moto req/s | serve / moto |"
echo "|---|---:|---:|---:|"
for read in \
  "DescribeMesh meshes/perf" \
  "DescribeVirtualNode meshes/perf/virtualNodes/vn" \
  "DescribeVirtualRouter meshes/perf/virtualRouters/vr" \
  "DescribeRoute meshes/perf/virtualRouter/vr/routes/rt" \
  "DescribeVirtualService meshes/perf/virtualServices/svc.local" \
  "DescribeVirtualGateway meshes/perf/virtualGateways/gw" \
  "DescribeGatewayRoute meshes/perf/virtualGateway/gw/gatewayRoutes/gr"; do
  set -- $read
  ours=$(rate "http://127.0.0.1:$serve_port/v20190125/$2")
  theirs="n/a"; shown="moto lacks it"
  if [[ -n $moto_port ]]; then
    theirs=$(rate "http://127.0.0.1:$moto_port/v20190125/$2")
    if [[ $theirs == 0 ]]; then theirs="n/a"; else shown="$(ratio "$ours" "$theirs")x"; fi
  else
    shown="not measured"
  fi
  echo "| $1 | $ours | $theirs | $shown |"
done

echo
echo "| round | floor (canned axum) req/s | serve DescribeVirtualNode req/s | serve / floor |"
echo "|---|---:|---:|---:|"
for round in 1 2 3; do
  floor=$(rate "http://127.0.0.1:$floor_port/v20190125/meshes/perf/virtualNodes/vn")
  ours=$(rate "http://127.0.0.1:$serve_port/v20190125/meshes/perf/virtualNodes/vn")
  echo "| $round | $floor | $ours | $(ratio "$ours" "$floor") |"
done
