#!/bin/sh
# Every bench in sequence against its reference server, with settings that finish in about
# 15 minutes on the 2-CPU machine, then one table of Correo's ratios. Needs root and the Debian
# packages each bench names (postfix, dnsmasq-base, sasl2-bin, libsasl2-modules, openssl,
# dovecot-imapd, dovecot-pop3d).
#   bench/run-all.sh                      the working tree's build
#   BENCH_REF=main bench/run-all.sh       Correo as committed on main, built apart
#   BENCH_PROFILE=1 bench/run-all.sh      also CPU profiles of Correo (kept; paths in the logs)
# Each bench's report goes to $BENCH_LOG_DIR/NAME.log and its progress to NAME.err (default: a
# new temporary directory); the reports are printed as each bench ends.
set -u
cd "$(dirname "$0")/.."
. bench/lib/prepare.sh
bench_need_root "the reference servers' private instances need it"
ulimit -n "$(ulimit -Hn)"
bench_build
# Built once here; the benches below reuse it (and must not build BENCH_REF again).
unset BENCH_REF
export BENCH_NO_BUILD=1
BENCH_LOG_DIR=${BENCH_LOG_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/correo-bench-logs-XXXXXX")}
mkdir -p "$BENCH_LOG_DIR"
BENCH_SUMMARY="$BENCH_LOG_DIR/summary.jsonl"
: > "$BENCH_SUMMARY"
export BENCH_SUMMARY

failed=""
run() {
  name=$1
  shift
  echo "== $name ($(date -u +%H:%M:%S) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  if env "$@" "bench/$name/run.sh" >"$BENCH_LOG_DIR/$name.log" 2>"$BENCH_LOG_DIR/$name.err"; then :; else
    echo "   $name failed (exit $?): see $BENCH_LOG_DIR/$name.err" >&2
    failed="$failed $name"
  fi
  cat "$BENCH_LOG_DIR/$name.log"
  [ "${BENCH_PROFILE:-0}" = 1 ] && summarise_profiles "$name"
}

# With BENCH_PROFILE=1: bench/lib/profile-top of every Correo profile the bench kept, into profiles-NAME.txt.
summarise_profiles() {
  grep 'CPU profile' "$BENCH_LOG_DIR/$1.err" | sed 's/.*: //; s|/\*\.cpuprofile$||' | while read -r dir; do
    for f in "$dir"/*.cpuprofile; do
      [ -f "$f" ] && node dist/bench/lib/profile-top.js "$f" 15
    done
  done > "$BENCH_LOG_DIR/profiles-$1.txt" 2>&1
  echo "   profiles: $BENCH_LOG_DIR/profiles-$1.txt" >&2
}

# smtp-inbound: 20 sessions, 1500 messages of ~4 KB, Postfix, then Correo with its sender checks off and on.
run smtp-inbound BENCH_MESSAGES="${BENCH_INBOUND_MESSAGES:-1500}" BENCH_CHECKS=both
# relay: 10 STARTTLS connections x 100 messages to the sink.
run relay BENCH_MESSAGES="${BENCH_RELAY_MESSAGES:-100}"
# pop3: 10 clients, 50 RETR per session, 15 s each server.
run pop3 BENCH_SECONDS="${BENCH_POP3_SECONDS:-15}"
# imap: 20 users, mix 15 s, login-heavy 10 clients 15 s, 10,000 IDLE sessions (Correo only:
# Dovecot would need 10,000 processes).
run imap BENCH_SECONDS="${BENCH_IMAP_SECONDS:-15}" BENCH_LOGIN_SECONDS="${BENCH_LOGIN_SECONDS:-15}" \
  BENCH_IDLE="${BENCH_IDLE:-10000}" BENCH_IDLE_ONLY="${BENCH_IDLE_ONLY:-correo}"

echo
echo "Correo ${BENCH_CORREO_REV:-?} against the reference servers, $(date -u '+%Y-%m-%d %H:%M') UTC, load average $(cut -d' ' -f1-3 /proc/loadavg):"
echo
node dist/bench/lib/summary-table.js "$BENCH_SUMMARY"
echo
echo "Logs: $BENCH_LOG_DIR"
[ -z "$failed" ] || { echo "failed:$failed" >&2; exit 1; }
