# Sourced by every bench's run.sh (POSIX sh), from the repository's root.
#   bench_need_root WHY       exit 2 unless running as root
#   bench_need CMD PACKAGES   exit 2 unless CMD is on PATH (or an executable path)
#   bench_build               npm run build (BENCH_NO_BUILD=1 skips it); with BENCH_REF, Correo
#                             built from that git ref in a temporary directory, so that other
#                             people's rebuilds of dist/ cannot change it mid-run
# Sets BENCH_CORREO_REV (shown in the results) and, with BENCH_REF, BENCH_CORREO_CLI.

bench_need_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "run.sh: must run as root ($1)" >&2
    exit 2
  fi
}

bench_need() {
  command -v "$1" >/dev/null 2>&1 || [ -x "$1" ] || { echo "run.sh: $1 missing: apt-get install -y $2" >&2; exit 2; }
}

bench_build() {
  [ "${BENCH_NO_BUILD:-0}" = 1 ] || npm run build --silent >/dev/null
  if [ -n "${BENCH_REF:-}" ]; then
    bench_snapshot=$(mktemp -d "${TMPDIR:-/tmp}/correo-bench-build-XXXXXX")
    trap 'rm -rf "$bench_snapshot"' EXIT INT TERM
    git archive "$BENCH_REF" | tar -x -C "$bench_snapshot"
    ln -s "$PWD/node_modules" "$bench_snapshot/node_modules"
    # tsc writes its output even when another part of the tree has type errors; only the server matters here.
    (cd "$bench_snapshot" && npx tsc -p tsconfig.json >/dev/null) || echo "run.sh: type errors in $BENCH_REF (built anyway)" >&2
    [ -f "$bench_snapshot/dist/src/cli/main.js" ] || { echo "run.sh: building $BENCH_REF gave no dist/src/cli/main.js" >&2; exit 1; }
    BENCH_CORREO_CLI="$bench_snapshot/dist/src/cli/main.js"
    BENCH_CORREO_REV="$(git rev-parse --short "$BENCH_REF")"
    export BENCH_CORREO_CLI BENCH_CORREO_REV
  fi
  if [ -z "${BENCH_CORREO_REV:-}" ] && [ -z "${BENCH_CORREO_CLI:-}" ]; then
    BENCH_CORREO_REV="$(git rev-parse --short HEAD)$(git status --porcelain -- src | grep -q . && echo ' + uncommitted changes in src/' || true)"
    export BENCH_CORREO_REV
  fi
}
