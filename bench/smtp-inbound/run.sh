#!/bin/sh
# Inbound SMTP benchmark: Correo against Debian's Postfix, same machine, same smtp-source load.
# Needs root (Postfix's own instance runs as the postfix user; the Maildir belongs to nobody) and
# Debian's postfix and dnsmasq-base packages. Settings: see bench/README.md.
#   bench/smtp-inbound/run.sh                     quick run, the working tree's build
#   BENCH_FULL=1 bench/smtp-inbound/run.sh        the full load
#   BENCH_REF=HEAD bench/smtp-inbound/run.sh      Correo as committed at a git ref, built apart
#                                                 (other people's rebuilds of dist/ cannot change it mid-run)
set -eu
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then
  echo "run.sh: must run as root (Postfix's private instance and the Maildir owner need it)" >&2
  exit 2
fi
for tool in /usr/sbin/postfix /usr/sbin/smtp-source; do
  [ -x "$tool" ] || { echo "run.sh: $tool missing: apt-get install -y postfix" >&2; exit 2; }
done
command -v dnsmasq >/dev/null || { echo "run.sh: dnsmasq missing: apt-get install -y dnsmasq-base" >&2; exit 2; }
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
node dist/bench/smtp-inbound/run.js
