#!/usr/bin/env bash
# Correo against Dovecot, IMAP: see bench/README.md. Needs root (Dovecot drops privileges)
# and Debian's dovecot-imapd: apt-get install -y dovecot-imapd
set -euo pipefail
cd "$(dirname "$0")/../.."
ulimit -n "$(ulimit -Hn)"
npm run build >/dev/null
exec node dist/bench/imap/run.js
