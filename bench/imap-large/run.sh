#!/bin/sh
# bench/imap-large: a 100,000-message mailbox, Correo against Dovecot (see run.ts). Needs root
# (Dovecot drops privileges): apt-get install -y dovecot-imapd dnsmasq-base
set -eu
cd "$(dirname "$0")/../.."
. bench/lib/prepare.sh
bench_need_root "Dovecot's private instance drops privileges"
bench_need /usr/sbin/dovecot dovecot-imapd
bench_need doveadm dovecot-core
bench_need dnsmasq dnsmasq-base
bench_build
node dist/bench/imap-large/run.js
