#!/bin/sh
# Correo against Dovecot, IMAP: see bench/README.md. Needs root (Dovecot drops privileges)
# and Debian's dovecot-imapd: apt-get install -y dovecot-imapd
set -eu
cd "$(dirname "$0")/../.."
. bench/lib/prepare.sh
bench_need_root "Dovecot's private instance drops privileges"
bench_need /usr/sbin/dovecot dovecot-imapd
bench_need dnsmasq dnsmasq-base
# Thousands of IDLE sessions: a descriptor each in this process and in the server.
ulimit -n "$(ulimit -Hn)"
bench_build
node dist/bench/imap/run.js
