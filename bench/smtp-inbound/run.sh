#!/bin/sh
# Inbound SMTP benchmark: Correo against Debian's Postfix, same machine, same smtp-source load.
# Needs root (Postfix's own instance runs as the postfix user; the Maildir belongs to nobody) and
# Debian's postfix and dnsmasq-base packages. Settings: see bench/README.md.
#   bench/smtp-inbound/run.sh                 quick run
#   BENCH_FULL=1 bench/smtp-inbound/run.sh    the full load
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
exec node dist/bench/smtp-inbound/run.js
