#!/bin/sh
# Relay benchmark: submission (AUTH, TLS) to a sink on 127.0.0.2, Correo against Debian's Postfix.
# Needs root (Postfix's own instance runs as the postfix user) and
# Debian's postfix, dnsmasq-base, sasl2-bin and libsasl2-modules. Settings: bench/relay/README.md.
#   bench/relay/run.sh                     quick run, the working tree's build
#   BENCH_FULL=1 bench/relay/run.sh        the full load
#   BENCH_REF=HEAD bench/relay/run.sh      Correo as committed at a git ref, built apart
set -eu
cd "$(dirname "$0")/../.."
. bench/lib/prepare.sh
bench_need_root "Postfix's private instance needs it"
bench_need /usr/sbin/postfix postfix
bench_need dnsmasq dnsmasq-base
bench_need saslpasswd2 "sasl2-bin libsasl2-modules"
bench_need openssl openssl
[ -e /usr/lib/x86_64-linux-gnu/sasl2/libsasldb.so ] || ls /usr/lib/*/sasl2/libsasldb.so >/dev/null 2>&1 || { echo "run.sh: Cyrus sasldb plugin missing: apt-get install -y libsasl2-modules" >&2; exit 2; }
bench_build
node dist/bench/relay/run.js
