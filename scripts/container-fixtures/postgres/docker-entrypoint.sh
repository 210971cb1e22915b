#!/bin/bash
# `postgres [options]`: on first start (no PG_VERSION in $PGDATA) initialises the cluster with
# POSTGRES_USER as its superuser (password POSTGRES_PASSWORD, scram-sha-256 over TCP, trust
# on the socket inside the container) and creates POSTGRES_DB; then runs the server as the
# postgres user, listening on every address.
set -euo pipefail
if [[ "${1:-}" == -* ]]; then
    set -- postgres "$@"
fi
if [[ "${1:-}" != postgres ]]; then
    exec "$@"
fi

if [[ "$(id -u)" == 0 ]]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 0700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

user="${POSTGRES_USER:-postgres}"
db="${POSTGRES_DB:-$user}"
if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
    if [[ -z "${POSTGRES_PASSWORD:-}" ]]; then
        echo "postgres: POSTGRES_PASSWORD is not set" >&2
        exit 1
    fi
    initdb --username="$user" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 \
        -D "$PGDATA" >/dev/null
    printf '%s\n' 'host all all all scram-sha-256' >> "$PGDATA/pg_hba.conf"
    printf '%s\n' "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
    # A server on the socket only while the database is created.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    if [[ "$db" != postgres ]]; then
        psql -v ON_ERROR_STOP=1 --username="$user" --dbname=postgres -q \
            -c "CREATE DATABASE \"$db\"" >/dev/null
    fi
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    echo "postgres: initialised $PGDATA (database $db, user $user)" >&2
fi
exec "$@"
