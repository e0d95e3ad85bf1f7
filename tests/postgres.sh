# Sourced by ./test: a throwaway PostgreSQL cluster for the store tests. Installs PostgreSQL from the OS packages when it
# is missing, creates a cluster in a temporary folder, starts it on a free loopback port, and exports
# SELFSAME_TEST_POSTGRES; stop_test_postgres (run on exit) stops it and removes the folder.

find_pg_bin() {
  PG_BIN=""
  for dir in /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then PG_BIN="$dir"; fi
  done
}

start_test_postgres() {
  find_pg_bin
  if [ -z "$PG_BIN" ]; then
    echo "PostgreSQL is missing: installing it from the OS packages" >&2
    SUDO=()
    if [ "$(id -u)" -ne 0 ]; then
      command -v sudo >/dev/null || { echo "PostgreSQL is missing and this user cannot install it: install the package postgresql, or run as root" >&2; return 1; }
      SUDO=(sudo)
    fi
    ("${SUDO[@]}" apt-get update -q && DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -q postgresql) >/dev/null \
      || { echo "could not install postgresql" >&2; return 1; }
    find_pg_bin
    [ -n "$PG_BIN" ] || { echo "postgresql was installed but initdb was not found under /usr/lib/postgresql" >&2; return 1; }
  fi
  PG_DIR="$(mktemp -d /tmp/selfsame-pg.XXXXXX)"
  # A free loopback port: one that nothing answers on.
  PG_PORT=0
  for _ in $(seq 1 50); do
    candidate=$(( 20000 + RANDOM % 30000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then PG_PORT=$candidate; break; fi
  done
  [ "$PG_PORT" -ne 0 ] || { echo "no free loopback port for PostgreSQL" >&2; return 1; }
  # PostgreSQL refuses to run as root: as root, the cluster belongs to the OS user postgres.
  PG_AS=()
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$PG_DIR"
    PG_AS=(runuser -u postgres --)
  fi
  "${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U selfsame --auth=trust -E UTF8 >/dev/null \
    || { echo "initdb failed" >&2; return 1; }
  # fsync is off for the tests' throwaway data; SELFSAME_PG_DURABLE=1 keeps it on (the benchmarks).
  PG_OPTIONS="-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=300"
  [ "${SELFSAME_PG_DURABLE:-0}" = "1" ] || PG_OPTIONS="$PG_OPTIONS -c fsync=off"
  "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 60 -o "$PG_OPTIONS" start >/dev/null \
    || { echo "PostgreSQL did not start; its log:" >&2; cat "$PG_DIR/log" >&2; return 1; }
  export SELFSAME_TEST_POSTGRES="Host=127.0.0.1;Port=$PG_PORT;Username=selfsame;Database=postgres"
  # For the fault test, which stops and starts the cluster.
  export SELFSAME_TEST_PG_BIN="$PG_BIN" SELFSAME_TEST_PG_DATA="$PG_DIR/data" SELFSAME_TEST_PG_OPTIONS="$PG_OPTIONS"
}

stop_test_postgres() {
  if [ -n "${PG_DIR:-}" ]; then
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1
    rm -rf "$PG_DIR"
  fi
}
