#!/usr/bin/env bash
# Make sure a local PostgreSQL server with PostGIS runs and the test database exists.
# Installs Debian's packages when they are missing and starts the cluster when it is down;
# safe to run again and again. Used by `make test`.
set -euo pipefail

PGVER="${PGVER:-15}"
DB="${GRIDWATCH_TEST_DB:-gridwatch_test}"
SOCKET_DIR=/var/run/postgresql
ME="$(id -un)"

if [ "$(id -u)" -eq 0 ]; then
    as_root() { "$@"; }
    as_postgres() { runuser -u postgres -- "$@"; }
else
    as_root() { sudo -n "$@"; }
    as_postgres() { sudo -n -u postgres "$@"; }
fi

missing=()
dpkg -s "postgresql-$PGVER" >/dev/null 2>&1 || missing+=("postgresql-$PGVER")
dpkg -s "postgresql-$PGVER-postgis-3" >/dev/null 2>&1 || missing+=("postgresql-$PGVER-postgis-3")
if [ "${#missing[@]}" -gt 0 ]; then
    echo "ensure-postgis: installing ${missing[*]} from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq || echo "ensure-postgis: apt-get update failed; trying the cached lists"
    as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! pg_lsclusters -h 2>/dev/null | awk '{print $1, $2}' | grep -qx "$PGVER main"; then
    echo "ensure-postgis: creating cluster $PGVER/main"
    as_root pg_createcluster "$PGVER" main >/dev/null
fi
if ! pg_isready -q -h "$SOCKET_DIR"; then
    echo "ensure-postgis: starting PostgreSQL $PGVER"
    as_root pg_ctlcluster --skip-systemctl-redirect "$PGVER" main start
fi
for _ in $(seq 1 30); do
    pg_isready -q -h "$SOCKET_DIR" && break
    sleep 1
done
pg_isready -h "$SOCKET_DIR" >/dev/null || { echo "ensure-postgis: PostgreSQL did not start" >&2; exit 1; }

if ! as_postgres psql -h "$SOCKET_DIR" -d postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname='$ME'" | grep -q 1; then
    echo "ensure-postgis: creating role $ME"
    as_postgres createuser -h "$SOCKET_DIR" -s "$ME"
fi
if ! psql -h "$SOCKET_DIR" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$DB'" | grep -q 1; then
    echo "ensure-postgis: creating database $DB"
    createdb -h "$SOCKET_DIR" "$DB"
fi
psql -q -h "$SOCKET_DIR" -d "$DB" -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
echo "ensure-postgis: PostgreSQL $PGVER with PostGIS $(psql -h "$SOCKET_DIR" -d "$DB" -tAc 'SELECT postgis_lib_version()') ready, database $DB"
