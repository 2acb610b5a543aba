#!/usr/bin/env bash
# Starts the departmental database servers the integration tests use, if they are not running.
set -uo pipefail
pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
my_up() { mariadb-admin -h 127.0.0.1 -uroot ping >/dev/null 2>&1 || mysqladmin -h 127.0.0.1 -uroot ping >/dev/null 2>&1; }
if ! pg_up; then
  echo "==> starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
if ! my_up; then
  echo "==> starting MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
fi
for _ in $(seq 1 30); do pg_up && my_up && break; sleep 1; done
pg_up && echo "PostgreSQL is up on 127.0.0.1:5432" || echo "WARNING: PostgreSQL is not reachable"
my_up && echo "MariaDB is up on 127.0.0.1:3306" || echo "WARNING: MariaDB is not reachable"
