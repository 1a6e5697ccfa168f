#!/bin/sh
# Relay benchmark: submission (AUTH, TLS) to a sink on 127.0.0.2, Correo against Debian's Postfix.
# Needs root (Postfix's own instance runs as the postfix user) and
# Debian's postfix, dnsmasq-base, sasl2-bin and libsasl2-modules. Settings: bench/relay/README.md.
#   bench/relay/run.sh                     quick run, the working tree's build
#   BENCH_FULL=1 bench/relay/run.sh        the full load
#   BENCH_REF=HEAD bench/relay/run.sh      Correo as committed at a git ref, built apart
#                                                 (other people's rebuilds of dist/ cannot change it mid-run)
set -eu
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then
  echo "run.sh: must run as root (Postfix's private instance needs it)" >&2
  exit 2
fi
for tool in /usr/sbin/postfix; do
  [ -x "$tool" ] || { echo "run.sh: $tool missing: apt-get install -y postfix" >&2; exit 2; }
done
command -v dnsmasq >/dev/null || { echo "run.sh: dnsmasq missing: apt-get install -y dnsmasq-base" >&2; exit 2; }
command -v saslpasswd2 >/dev/null || { echo "run.sh: saslpasswd2 missing: apt-get install -y sasl2-bin libsasl2-modules" >&2; exit 2; }
[ -e /usr/lib/x86_64-linux-gnu/sasl2/libsasldb.so ] || ls /usr/lib/*/sasl2/libsasldb.so >/dev/null 2>&1 || { echo "run.sh: Cyrus sasldb plugin missing: apt-get install -y libsasl2-modules" >&2; exit 2; }
command -v openssl >/dev/null || { echo "run.sh: openssl missing: apt-get install -y openssl" >&2; exit 2; }
[ "${BENCH_NO_BUILD:-0}" = 1 ] || npm run build --silent

if [ -n "${BENCH_REF:-}" ]; then
  snapshot=$(mktemp -d "${TMPDIR:-/tmp}/correo-bench-build-XXXXXX")
  trap 'rm -rf "$snapshot"' EXIT INT TERM
  git archive "$BENCH_REF" | tar -x -C "$snapshot"
  ln -s "$PWD/node_modules" "$snapshot/node_modules"
  # tsc writes its output even when another part of the tree has type errors; only the server matters here.
  (cd "$snapshot" && npx tsc -p tsconfig.json >/dev/null) || echo "run.sh: type errors in $BENCH_REF (built anyway)" >&2
  [ -f "$snapshot/dist/src/cli/main.js" ] || { echo "run.sh: building $BENCH_REF gave no dist/src/cli/main.js" >&2; exit 1; }
  BENCH_CORREO_CLI="$snapshot/dist/src/cli/main.js"
  BENCH_CORREO_REV="$(git rev-parse --short "$BENCH_REF")"
  export BENCH_CORREO_CLI BENCH_CORREO_REV
fi
if [ -z "${BENCH_CORREO_REV:-}" ] && [ -z "${BENCH_CORREO_CLI:-}" ]; then
  BENCH_CORREO_REV="$(git rev-parse --short HEAD)$(git status --porcelain -- src | grep -q . && echo ' + uncommitted changes in src/' || true)"
  export BENCH_CORREO_REV
fi
node dist/bench/relay/run.js
