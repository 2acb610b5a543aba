#!/usr/bin/env bash
# Starts the servers the integration tests use, if they are not running: PostgreSQL and MariaDB (the
# departmental databases; PostgreSQL also holds the Celery test's Airflow metadata) and Redis (the
# Celery broker of the distributed Airflow test). A server whose program is missing is installed
# from Debian's packages first (a fresh machine); one that cannot be had is reported and the script
# exits non-zero, so `make test` stops before the suite.
set -uo pipefail
pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
my_up() { mariadb-admin -h 127.0.0.1 -uroot ping >/dev/null 2>&1 || mysqladmin -h 127.0.0.1 -uroot ping >/dev/null 2>&1; }
# a PING over bash's /dev/tcp: no Redis client needed to ask
redis_up() {
  (exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 && read -r -t 2 reply <&3 && [[ "$reply" == +PONG* ]]) 2>/dev/null
}
apt_updated=""
install() {  # install Debian packages when a server's program is missing (root with apt-get only)
  command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ] || { echo "WARNING: cannot install $*"; return 1; }
  [ -n "$apt_updated" ] || { apt-get update -qq >/dev/null 2>&1; apt_updated=1; }
  echo "==> installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! pg_up; then
  echo "==> starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
if ! my_up; then
  echo "==> starting MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
fi
if ! redis_up; then
  command -v redis-server >/dev/null 2>&1 || install redis-server
  echo "==> starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi
for _ in $(seq 1 30); do pg_up && my_up && redis_up && break; sleep 1; done
# A server that is not up fails the run here (and `make test` with it): the tests that need it would
# otherwise be the only sign, and a suite that cannot reach its databases proves nothing.
down=0
pg_up && echo "PostgreSQL is up on 127.0.0.1:5432" || { echo "ERROR: PostgreSQL is not reachable on 127.0.0.1:5432" >&2; down=1; }
my_up && echo "MariaDB is up on 127.0.0.1:3306" || { echo "ERROR: MariaDB is not reachable on 127.0.0.1:3306" >&2; down=1; }
redis_up && echo "Redis is up on 127.0.0.1:6379" || { echo "ERROR: Redis is not reachable on 127.0.0.1:6379" >&2; down=1; }
exit "$down"
