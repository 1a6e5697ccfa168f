#!/bin/sh
# Correo against Dovecot, POP3: see bench/README.md. Needs root (Dovecot drops privileges)
# and Debian's dovecot-imapd and dovecot-pop3d (the mailboxes are filled by IMAP APPEND).
set -eu
cd "$(dirname "$0")/../.."
. bench/lib/prepare.sh
bench_need_root "Dovecot's private instance drops privileges"
bench_need /usr/sbin/dovecot "dovecot-imapd dovecot-pop3d"
[ -e /usr/lib/dovecot/pop3 ] || { echo "run.sh: Dovecot's pop3 missing: apt-get install -y dovecot-pop3d" >&2; exit 2; }
bench_need dnsmasq dnsmasq-base
bench_build
node dist/bench/pop3/run.js
