#!/usr/bin/env bash
# Runs the conformance suite against moto, a real third-party App Mesh emulator, and checks the
# result against the known deviations in reports/expectations/moto.toml; then `diff` of moto
# against the embedded emulator, which must report the deviation classes the report names.
#
#   scripts/moto-conformance.sh           run, write reports to target/moto-report/, and fail if
#                                         reports/moto/report.md no longer matches what moto does
#   scripts/moto-conformance.sh --update  the same, then refresh reports/moto/report.md
#   APPMESH_BINARY=PATH                   run that binary instead of building target/debug's
#
# Installs moto[server] (pinned: MOTO_VERSION) in a virtual environment of its own, starts
# moto_server on a free loopback port, stops it by its PID on exit, and exits with the harness's
# code: 0 when every failure is a listed deviation and every listed deviation still shows
# (--strict), 1 on a regression or a fixed deviation, 2 on a usage or configuration error.
set -euo pipefail
cd "$(dirname "$0")/.."

moto_version=${MOTO_VERSION:-5.2.5}
venv=${MOTO_VENV:-target/moto-venv}
out=target/moto-report
update=false
case "${1:-}" in
  --update) update=true ;;
  "") ;;
  *) echo "usage: $0 [--update]" >&2; exit 2 ;;
esac

if [[ ! -x $venv/bin/moto_server ]] || ! "$venv/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$moto_version')" 2>/dev/null; then
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$moto_version"
fi
version=$("$venv/bin/python" -c "import moto; print(moto.__version__)")

# APPMESH_BINARY: a binary already built from this checkout (CI passes the one `cargo test`
# built); otherwise the debug build.
binary=${APPMESH_BINARY:-}
if [[ -z $binary ]]; then
  cargo build --locked --quiet
  binary=target/debug/appmesh-conformance
elif [[ ! -x $binary ]]; then
  echo "error: APPMESH_BINARY=$binary is not an executable; build it or leave APPMESH_BINARY unset" >&2
  exit 2
fi

# A free loopback port, then moto_server on it; stopped by its PID whatever happens next.
port=$("$venv/bin/python" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1]); s.close()")
mkdir -p "$out"
"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$out/moto_server.log" 2>&1 &
moto_pid=$!
stop_moto() {
  kill "$moto_pid" 2>/dev/null || true
  wait "$moto_pid" 2>/dev/null || true
}
trap stop_moto EXIT

for _ in $(seq 1 100); do
  if "$venv/bin/python" -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2).close()" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$moto_pid" 2>/dev/null; then
    echo "error: moto_server exited at start; see $out/moto_server.log" >&2
    exit 2
  fi
  sleep 0.2
done

# moto picks the service from the signature's scope and checks no signature: any key will do.
status=0
AWS_ACCESS_KEY_ID=moto-testing AWS_SECRET_ACCESS_KEY=moto-testing-secret AWS_SESSION_TOKEN='' \
  "$binary" run --endpoint "http://127.0.0.1:$port" --profile targets/moto.toml \
  --target-label "moto $version" --seed 20261124 \
  --expectations reports/expectations/moto.toml --strict --report-dir "$out" || status=$?

# diff, moto against the embedded emulator over every kind's lifecycle: they must differ, in the
# classes the report names (string timestamps, owners that are no account, undocumented error codes).
diff_log="$out/diff.log"
if AWS_ACCESS_KEY_ID=moto-testing AWS_SECRET_ACCESS_KEY=moto-testing-secret AWS_SESSION_TOKEN='' \
  "$binary" diff --a embedded --b "http://127.0.0.1:$port" --seed 20261124 \
  --tags '@lifecycle or (@idempotency and not @concurrency)' --report-dir "$out/diff" >"$diff_log" 2>&1; then
  echo "error: diff found no difference between moto and the embedded emulator (see $diff_log)" >&2
  status=1
fi
for cause in 'diff.value@metadata.createdAt' 'diff.value@metadata.meshOwner' 'diff.error-code'; do
  if ! grep -q "UNEXPECTED \[MUST\] $cause" "$diff_log"; then
    echo "error: diff against moto did not report $cause (see $diff_log)" >&2
    status=1
  fi
done
echo "moto-conformance: $(tail -1 "$diff_log")"

# The committed account of moto's deviations: its tables of areas and causes must match this run.
summary() { sed -n '/^## Conformance by area/,/^## Failures/p;/^## Expectations/,/^## Latency/p' "$1"; }
if $update; then
  mkdir -p reports/moto
  cp "$out/report.md" reports/moto/report.md
  echo "updated reports/moto/report.md (moto $version)"
elif [[ $status -ne 2 ]] && ! diff <(summary reports/moto/report.md) <(summary "$out/report.md") >"$out/report.diff"; then
  echo "error: reports/moto/report.md is stale: moto $version now deviates differently (see $out/report.diff);" >&2
  echo "       run scripts/moto-conformance.sh --update and commit reports/moto/report.md" >&2
  [[ $status -ne 0 ]] || status=1
fi
echo "moto-conformance: moto $version, exit $status, reports in $out"
exit "$status"
