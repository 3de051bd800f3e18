#!/usr/bin/env bash
# Make sure Postgres and Redis answer on their standard local ports: start them when
# they are installed but stopped, and say how to get them when they are not.
# Used by `make services` (and so by `make run`, `make test` and .ci/run).
set -u
PGHOST=${PGHOST:-127.0.0.1}
pg_up() { pg_isready -q -h "$PGHOST" -p 5432 2>/dev/null || (command -v psql >/dev/null && psql -h "$PGHOST" -U postgres -c 'select 1' >/dev/null 2>&1); }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

ok=1
if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "services: starting PostgreSQL"
    for v in $(ls /etc/postgresql); do pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>&1 || true; done
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  fi
  if ! pg_up; then
    ok=0
    cat >&2 <<'MSG'
services: PostgreSQL is not answering on 127.0.0.1:5432 and could not be started.
  Debian/Ubuntu:  sudo apt-get update && sudo apt-get install -y postgresql
                  (then allow local trust auth for user postgres, or set COATTAIL_DATABASE_URL)
  Docker:         docker compose -f deploy/docker-compose.yml up -d postgres redis
MSG
  fi
fi
if ! redis_up; then
  if command -v redis-server >/dev/null 2>&1; then
    echo "services: starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no >/dev/null 2>&1 || \
      redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null 2>&1 || true
    for _ in $(seq 1 30); do redis_up && break; sleep 0.2; done
  fi
  if ! redis_up; then
    ok=0
    cat >&2 <<'MSG'
services: Redis is not answering on 127.0.0.1:6379 and could not be started.
  Debian/Ubuntu:  sudo apt-get update && sudo apt-get install -y redis-server
  Docker:         docker compose -f deploy/docker-compose.yml up -d postgres redis
MSG
  fi
fi
[ "$ok" = 1 ] && echo "services: PostgreSQL and Redis are up" || exit 1
