#!/bin/sh
# Inbound SMTP benchmark: Correo (sender checks off and on) against Debian's Postfix, same
# machine, same smtp-source load. Needs root (Postfix's own instance runs as the postfix user;
# the Maildir belongs to nobody) and Debian's postfix and dnsmasq-base. Settings: bench/README.md.
#   bench/smtp-inbound/run.sh                     quick run, the working tree's build
#   BENCH_FULL=1 bench/smtp-inbound/run.sh        the full load
#   BENCH_CHECKS=off bench/smtp-inbound/run.sh    Correo only with its sender checks off
#   BENCH_REF=HEAD bench/smtp-inbound/run.sh      Correo as committed at a git ref, built apart
set -eu
cd "$(dirname "$0")/../.."
. bench/lib/prepare.sh
bench_need_root "Postfix's private instance and the Maildir owner need it"
bench_need /usr/sbin/postfix postfix
bench_need /usr/sbin/smtp-source postfix
bench_need dnsmasq dnsmasq-base
bench_build
node dist/bench/smtp-inbound/run.js
