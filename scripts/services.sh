#!/usr/bin/env bash
# Test services on loopback, each with its own data dir under .test-services/ and a non-default port:
# MariaDB (Debian's mariadb-server) and Redis (Debian's redis-server), and Chromium for the web UI's
# browser tests. Installs them when missing.
# Usage: scripts/services.sh start|stop|env
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${KNOT_TEST_SERVICES_DIR:-$ROOT/.test-services}"
MYSQL_PORT="${KNOT_TEST_MYSQL_PORT:-13306}"
REDIS_PORT="${KNOT_TEST_REDIS_PORT:-16379}"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

find_bin() { command -v "$1" 2>/dev/null || { [ -x "/usr/sbin/$1" ] && echo "/usr/sbin/$1"; } || true; }

ensure_packages() {
  local missing=()
  [ -n "$(find_bin mariadbd)" ] || missing+=(mariadb-server)
  [ -n "$(find_bin redis-server)" ] || missing+=(redis-server)
  # the web UI's browser tests drive Debian's Chromium (Playwright's own browser download is not used)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  # scp/sftp through the agent's SSH server run OpenSSH's sftp-server, as sshd does
  [ -x /usr/lib/openssh/sftp-server ] || missing+=(openssh-sftp-server)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "services: installing ${missing[*]} from Debian packages" >&2
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

start_mariadb() {
  local d="$DIR/mariadb"
  mkdir -p "$d"
  if [ -f "$d/mysqld.pid" ] && kill -0 "$(cat "$d/mysqld.pid")" 2>/dev/null; then return 0; fi
  if [ ! -d "$d/data/mysql" ]; then
    "$(find_bin mariadb-install-db)" --no-defaults --datadir="$d/data" --user="$(id -un)" \
      --auth-root-authentication-method=normal --skip-test-db >"$d/install.log" 2>&1
  fi
  "$(find_bin mariadbd)" --no-defaults --datadir="$d/data" --socket="$d/mysqld.sock" --port="$MYSQL_PORT" \
    --bind-address=127.0.0.1 --pid-file="$d/mysqld.pid" --user="$(id -un)" --skip-name-resolve \
    --innodb-buffer-pool-size=256M --innodb-flush-log-at-trx-commit=2 --max-connections=500 \
    --log-error="$d/error.log" >/dev/null 2>&1 &
  for _ in $(seq 1 150); do
    if mariadb-admin --no-defaults --socket="$d/mysqld.sock" -uroot ping >/dev/null 2>&1; then break; fi
    sleep 0.2
  done
  mariadb-admin --no-defaults --socket="$d/mysqld.sock" -uroot ping >/dev/null || { cat "$d/error.log" >&2; exit 1; }
  mariadb --no-defaults --socket="$d/mysqld.sock" -uroot -e \
    "CREATE USER IF NOT EXISTS 'knot'@'127.0.0.1' IDENTIFIED BY 'knot'; GRANT ALL ON *.* TO 'knot'@'127.0.0.1'; FLUSH PRIVILEGES;"
}

start_redis() {
  local d="$DIR/redis"
  mkdir -p "$d"
  if [ -f "$d/redis.pid" ] && kill -0 "$(cat "$d/redis.pid")" 2>/dev/null; then return 0; fi
  "$(find_bin redis-server)" --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --pidfile "$d/redis.pid" --logfile "$d/redis.log" --dir "$d"
  for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  cat "$d/redis.log" >&2; exit 1
}

stop_pidfile() {
  local f="$1"
  [ -f "$f" ] || return 0
  local pid; pid="$(cat "$f")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$f"
}

print_env() {
  echo "export KNOT_TEST_MYSQL=mysql://knot:knot@127.0.0.1:$MYSQL_PORT"
  echo "export KNOT_TEST_REDIS=redis://127.0.0.1:$REDIS_PORT"
  echo "export KNOT_TEST_MARIADB_PIDFILE=$DIR/mariadb/mysqld.pid"
}

case "${1:-}" in
  start) ensure_packages; start_mariadb; start_redis; print_env ;;
  stop) stop_pidfile "$DIR/mariadb/mysqld.pid"; stop_pidfile "$DIR/redis/redis.pid" ;;
  env) print_env ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
