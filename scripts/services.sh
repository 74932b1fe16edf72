#!/usr/bin/env bash
# Makes sure the Postgres and Redis servers the test suite talks to are running on this machine.
# The project's CI machines start both before a session; a fresh laptop may have neither, so we start
# (and if needed install) them from the distribution's packages. Sourced by scripts/test.sh.
set -euo pipefail

pg_ready() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
redis_ready() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

ensure_redis() {
  redis_ready && return 0
  command -v redis-server >/dev/null || { apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends redis-server >/dev/null; }
  echo "[services] starting redis-server on 127.0.0.1:6379"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/zopoc-test.log
  for _ in $(seq 50); do redis_ready && return 0; sleep 0.1; done
  echo "[services] redis did not start" >&2; return 1
}

ensure_postgres() {
  pg_ready && return 0
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql >/dev/null
    # Trust auth on loopback, as on the project's machines: tests create and drop their own databases.
    hba=$(ls /etc/postgresql/*/main/pg_hba.conf)
    sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
    sed -i -E 's/^(local\s+all\s+(postgres|all)\s+)\S+/\1trust/' "$hba"
  fi
  echo "[services] starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  for _ in $(seq 100); do pg_ready && return 0; sleep 0.1; done
  echo "[services] PostgreSQL did not start" >&2; return 1
}
