# shellcheck shell=bash
# Shared by scripts/dev, scripts/test and scripts/bench: installing what is missing, and
# starting and stopping PostgreSQL, Redis, the five services and nginx on loopback.
#
# Everything a run starts is recorded under its run folder ($GH_RUN): pid files, logs, data.
# gh_stop_all stops exactly what is recorded there.

set -euo pipefail

GH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# CORS_ALLOWED_ORIGINS → nginx map entries (shared with compose's nginx image).
source "$GH_ROOT/nginx/cors.sh"
# Durable unless a script says its servers are throwaway (scripts/test and scripts/bench set
# GH_THROWAWAY=1): PostgreSQL with its default fsync, synchronous commit and full-page writes,
# and Redis with its append-only file, as in compose/. Only throwaway data trades them for speed.
GH_THROWAWAY="${GH_THROWAWAY:-0}"
GH_SERVICES=(auth booking tickets leveling notify)

gh_log() { printf '%s\n' "guildhall: $*" >&2; }
gh_die() { printf '%s\n' "guildhall: error: $*" >&2; exit 1; }

# ---- packages ----------------------------------------------------------------------------

gh_find_pg_bin() {
    local candidate
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v initdb)")"
        return 0
    fi
    for candidate in /usr/lib/postgresql/*/bin; do
        if [[ -x "$candidate/initdb" && -x "$candidate/pg_ctl" ]]; then
            printf '%s\n' "$candidate"
            return 0
        fi
    done
    return 1
}

# Installs the Debian packages that are missing (needs root when something is missing).
gh_install_packages() {
    local missing=()
    command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
    command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
    command -v curl >/dev/null 2>&1 || missing+=(curl)
    command -v jq >/dev/null 2>&1 || missing+=(jq)
    command -v perl >/dev/null 2>&1 || missing+=(perl)
    [[ -f /usr/include/hiredis/hiredis.h ]] || missing+=(libhiredis-dev)
    [[ -f /usr/include/openssl/ssl.h ]] || missing+=(libssl-dev)
    gh_find_pg_bin >/dev/null || missing+=(postgresql)
    if [[ "${1:-}" == "--with-wrk" ]]; then
        command -v wrk >/dev/null 2>&1 || missing+=(wrk)
    fi
    command -v swift >/dev/null 2>&1 || gh_die "swift is not on the PATH (Swift 6.2 or later is needed; see README)"
    gh_install_swagger_ui
    if ((${#missing[@]} == 0)); then
        return 0
    fi
    [[ "$(id -u)" == 0 ]] || gh_die "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})"
    gh_log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The Debian packages start system-wide servers; the stack runs its own.
    if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
        systemctl disable --now redis-server nginx >/dev/null 2>&1 || true
    else
        service redis-server stop >/dev/null 2>&1 || true
        service nginx stop >/dev/null 2>&1 || true
    fi
}

# Swagger UI for /docs (nginx/guildhall.conf.template), from PyPI: the files only, kept under var/.
GH_SWAGGER_UI_VERSION=5.31.0
gh_swagger_ui_dir() {
    printf '%s\n' "$GH_ROOT/var/swagger-ui-$GH_SWAGGER_UI_VERSION/swagger_ui_bundle/vendor/swagger-ui-$GH_SWAGGER_UI_VERSION"
}
gh_install_swagger_ui() {
    local target="$GH_ROOT/var/swagger-ui-$GH_SWAGGER_UI_VERSION" staging
    if [[ ! -f "$(gh_swagger_ui_dir)/swagger-ui-bundle.js" ]]; then
        gh_log "installing Swagger UI $GH_SWAGGER_UI_VERSION (PyPI: swagger-ui-bundle-v2)"
        mkdir -p "$GH_ROOT/var"
        staging="$(mktemp -d "$GH_ROOT/var/.swagger-ui.XXXXXX")"
        python3 -m pip install -q --disable-pip-version-check --no-deps --target "$staging" "swagger-ui-bundle-v2==$GH_SWAGGER_UI_VERSION" >/dev/null 2>&1 \
            || { rm -rf "$staging"; gh_die "could not install swagger-ui-bundle-v2==$GH_SWAGGER_UI_VERSION (pip)"; }
        # Another run may have finished first; either copy will do.
        mv -T "$staging" "$target" 2>/dev/null || rm -rf "$staging"
        [[ -f "$(gh_swagger_ui_dir)/swagger-ui-bundle.js" ]] || gh_die "Swagger UI is not in $(gh_swagger_ui_dir)"
    fi
    # nginx's workers read it (as another user when nginx starts as root; mktemp made it 0700).
    chmod -R a+rX "$target"
}

# ---- ports -------------------------------------------------------------------------------

gh_port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# gh_free_port VAR: sets VAR to a loopback port nobody listens on and that this run has not
# handed out yet (no subshell, so the run's list of taken ports stays up to date).
GH_TAKEN_PORTS=" "
GH_PORT_LOW=10000
GH_PORT_HIGH="$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)"
((GH_PORT_HIGH > GH_PORT_LOW + 1000)) || GH_PORT_HIGH=32768
gh_free_port() {
    local _gh_candidate _gh_tries=0
    while ((_gh_tries < 200)); do
        # Below the kernel's ephemeral range, where no outgoing connection can hold the port.
        _gh_candidate=$((GH_PORT_LOW + RANDOM % (GH_PORT_HIGH - GH_PORT_LOW)))
        _gh_tries=$((_gh_tries + 1))
        [[ "$GH_TAKEN_PORTS" == *" $_gh_candidate "* ]] && continue
        gh_port_in_use "$_gh_candidate" && continue
        GH_TAKEN_PORTS+="$_gh_candidate "
        printf -v "$1" '%s' "$_gh_candidate"
        return 0
    done
    gh_die "no free loopback port found"
}

# Uses the requested port, failing clearly when something already listens on it.
gh_require_port() {
    local port="$1" what="$2"
    [[ "$port" =~ ^[0-9]+$ ]] && ((port > 0 && port < 65536)) || gh_die "$what: '$port' is not a port number"
    if gh_port_in_use "$port"; then
        gh_die "$what: port $port is already in use (choose another with the variable named in README)"
    fi
    GH_TAKEN_PORTS+="$port "
}

# ---- waiting -----------------------------------------------------------------------------

# gh_wait_http URL SECONDS: waits for a 200.
gh_wait_http() {
    local url="$1" seconds="$2" i
    for ((i = 0; i < seconds * 10; i++)); do
        if [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)" == 200 ]]; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# ---- PostgreSQL --------------------------------------------------------------------------

# Runs a PostgreSQL tool as the cluster's owner: `postgres` when we are root.
gh_pg() {
    local bin
    bin="$(gh_find_pg_bin)" || gh_die "PostgreSQL's initdb and pg_ctl were not found"
    local tool="$1"
    shift
    if [[ "$(id -u)" == 0 ]]; then
        runuser -u postgres -- "$bin/$tool" "$@"
    else
        "$bin/$tool" "$@"
    fi
}

# gh_start_postgres NAME PORT: a throwaway cluster with superuser `guildhall` and database
# `guildhall`. Its files live in $GH_RUN/NAME, or in a private temp folder linked from there
# when the postgres user cannot reach the run folder.
gh_start_postgres() {
    local name="$1" port="$2" dir="$GH_RUN/$1"
    if [[ ! -e "$dir" ]]; then
        mkdir -p "$dir"
        if [[ "$(id -u)" == 0 ]]; then
            chown postgres: "$dir"
            chmod 700 "$dir"
            if ! runuser -u postgres -- test -w "$dir"; then
                rmdir "$dir"
                local private
                private="$(mktemp -d "${TMPDIR:-/tmp}/guildhall-$name.XXXXXX")"
                chown postgres: "$private"
                ln -s "$private" "$dir"
            fi
        fi
    fi
    if [[ ! -f "$dir/data/PG_VERSION" ]]; then
        gh_pg initdb -D "$dir/data" -U guildhall -A trust -E UTF8 --no-locale >"$GH_RUN/logs/$name-initdb.log" 2>&1 \
            || { cat "$GH_RUN/logs/$name-initdb.log" >&2; gh_die "initdb failed for $name"; }
    fi
    local options="-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300"
    if [[ "$GH_THROWAWAY" == 1 ]]; then
        options+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    fi
    gh_pg pg_ctl -D "$dir/data" -l "$dir/postgres.log" -w -t 60 -o "$options" start >/dev/null || { tail -20 "$dir/postgres.log" >&2; gh_die "PostgreSQL ($name) did not start on port $port"; }
    printf '%s\n' "$dir" >"$GH_RUN/pids/postgres-$name.dir"
    local database
    for database in guildhall "${@:3}"; do
        if ! gh_pg createdb -h "$dir" -p "$port" -U guildhall "$database" 2>"$GH_RUN/logs/$name-createdb.log"; then
            grep -q "already exists" "$GH_RUN/logs/$name-createdb.log" \
                || { cat "$GH_RUN/logs/$name-createdb.log" >&2; gh_die "could not create database $database"; }
        fi
    done
}

gh_stop_postgres() {
    local file="$1" dir
    dir="$(cat "$file")"
    if [[ -f "$dir/data/postmaster.pid" ]]; then
        gh_pg pg_ctl -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
    fi
    rm -f "$file"
}

# ---- Redis -------------------------------------------------------------------------------

# gh_start_redis NAME PORT
gh_start_redis() {
    local name="$1" port="$2" dir="$GH_RUN/$1"
    mkdir -p "$dir"
    local persistence=(--save "" --appendonly yes --appendfsync everysec)
    if [[ "$GH_THROWAWAY" == 1 ]]; then
        persistence=(--save "" --appendonly no)
    fi
    redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" "${persistence[@]}" \
        --daemonize yes --pidfile "$dir/redis.pid" --logfile "$GH_RUN/logs/$name.log" \
        || gh_die "redis-server ($name) did not start on port $port"
    local i
    # Up to 30 s: milliseconds on an idle machine, longer on a busy one.
    for ((i = 0; i < 600; i++)); do
        [[ -s "$dir/redis.pid" ]] && gh_port_in_use "$port" && break
        sleep 0.05
    done
    gh_port_in_use "$port" || gh_die "redis-server ($name) is not listening on port $port"
    cp "$dir/redis.pid" "$GH_RUN/pids/redis-$name.pid"
}

# ---- the services ------------------------------------------------------------------------

gh_bin_path() {
    (cd "$GH_ROOT" && swift build -c "${GUILDHALL_BUILD_CONFIGURATION:-debug}" --show-bin-path)
}

# gh_start_service NAME REPLICA PORT INTERNAL_PORT: runs one replica with the run's settings
# (the GH_* variables set by the caller) plus the caller's own environment.
gh_start_service() {
    local name="$1" replica="$2" port="$3" internal_port="$4" verify_port="${5:-}"
    local log="$GH_RUN/logs/$name-$replica.log"
    (
        cd "$GH_ROOT"
        export HOST=127.0.0.1 PORT="$port" INTERNAL_PORT="$internal_port"
        [[ -n "$verify_port" ]] && export VERIFY_PORT="$verify_port"
        # notify's socket.io sids start with it; nginx routes them back here (gh_start_stack).
        [[ "$name" == notify ]] && export NOTIFY_REPLICA_ID="$replica"
        export DATABASE_URL="$GH_DATABASE_URL" REDIS_URL="$GH_REDIS_URL"
        export INTERNAL_API_SECRET="$GH_INTERNAL_SECRET"
        export JWKS_URL="http://127.0.0.1:$GH_AUTH_PORT/api/auth/jwks"
        # Every replica's private listener, tried in turn.
        export AUTH_INTERNAL_URL="$GH_AUTH_INTERNAL_URLS"
        export TICKETS_INTERNAL_URL="${GH_TICKETS_INTERNAL_URLS:-http://127.0.0.1:8183}"
        [[ "$name" == auth ]] && export STACK_HEALTH_URLS="$GH_STACK_HEALTH_URLS"
        export DATA_DIR="$GH_RUN/auth-data"
        export ADMIN_USERNAME="$GH_ADMIN_USERNAME" ADMIN_PASSWORD="$GH_ADMIN_PASSWORD"
        export LOG_LEVEL="${LOG_LEVEL:-info}"
        # The service is this shell's child, so its exit status is known (gh_stop_pid checks it).
        rm -f "$GH_RUN/pids/service-$name-$replica.status"
        "$GH_BIN/$name" >"$log" 2>&1 &
        printf '%s\n' "$!" >"$GH_RUN/pids/service-$name-$replica.pid"
        local code=0
        wait "$!" || code=$?
        printf '%s\n' "$code" >"$GH_RUN/pids/service-$name-$replica.status"
    ) &
    # The pid file is the service's own (written by the subshell): wait for it.
    local i
    for ((i = 0; i < 50; i++)); do
        [[ -s "$GH_RUN/pids/service-$name-$replica.pid" ]] && break
        sleep 0.1
    done
}

# gh_start_stack: PostgreSQL, Redis, every service (GH_REPLICAS_<NAME> replicas each) and nginx.
# Reads GH_RUN, GH_BIN, GH_NGINX_PORT and optional fixed ports; writes $GH_RUN/env.
gh_start_stack() {
    mkdir -p "$GH_RUN/logs" "$GH_RUN/pids" "$GH_RUN/auth-data"
    [[ -n "${GH_PG_PORT:-}" ]] || gh_free_port GH_PG_PORT
    [[ -n "${GH_REDIS_PORT:-}" ]] || gh_free_port GH_REDIS_PORT
    GH_INTERNAL_SECRET="${GH_INTERNAL_SECRET:-$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')}"
    GH_ADMIN_USERNAME="${GH_ADMIN_USERNAME:-admin}"
    GH_ADMIN_PASSWORD="${GH_ADMIN_PASSWORD:-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')}"

    gh_log "PostgreSQL on 127.0.0.1:$GH_PG_PORT"
    gh_start_postgres postgres "$GH_PG_PORT" "${GH_EXTRA_DATABASES[@]}"
    GH_DATABASE_URL="postgres://guildhall@127.0.0.1:$GH_PG_PORT/guildhall"
    gh_log "Redis on 127.0.0.1:$GH_REDIS_PORT"
    gh_start_redis redis "$GH_REDIS_PORT"
    GH_REDIS_URL="redis://127.0.0.1:$GH_REDIS_PORT"

    # Every replica's ports first, so each service starts knowing all the others' addresses;
    # then auth first: it creates the schema's first admin and the development signing key that
    # the other auth replicas read.
    local name replica count port internal verify servers var verify_servers=""
    GH_AUTH_VERIFY_PORTS=""
    GH_AUTH_INTERNAL_URLS=""
    GH_TICKETS_INTERNAL_URLS=""
    # auth's GET /api/health asks every service's replicas (STACK_HEALTH_URLS).
    GH_STACK_HEALTH_URLS=""
    # nginx's map from a socket.io sid's prefix (the notify replica's id) to that replica.
    GH_NOTIFY_SID_ROUTES=""
    : >"$GH_RUN/services"
    for name in "${GH_SERVICES[@]}"; do
        var="GH_REPLICAS_${name^^}"
        count="${!var:-1}"
        servers=""
        local health=""
        for ((replica = 1; replica <= count; replica++)); do
            var="GH_${name^^}_PORT"
            if [[ $replica == 1 && -n "${!var:-}" ]]; then
                port="${!var}"
            else
                gh_free_port port
            fi
            gh_free_port internal
            verify=""
            if [[ $name == auth ]]; then
                gh_free_port verify
                verify_servers+="server 127.0.0.1:$verify max_fails=1 fail_timeout=2s; "
                GH_AUTH_VERIFY_PORTS+="$verify "
            fi
            [[ $replica == 1 ]] && printf -v "$var" '%s' "$port"
            if [[ $name == auth && $replica == 1 ]]; then
                GH_AUTH_PORT="$port"
                GH_AUTH_INTERNAL_PORT="$internal"
            fi
            if [[ $name == tickets && $replica == 1 ]]; then GH_TICKETS_INTERNAL_PORT="$internal"; fi
            [[ $name == auth ]] && GH_AUTH_INTERNAL_URLS+="${GH_AUTH_INTERNAL_URLS:+,}http://127.0.0.1:$internal"
            [[ $name == tickets ]] && GH_TICKETS_INTERNAL_URLS+="${GH_TICKETS_INTERNAL_URLS:+,}http://127.0.0.1:$internal"
            printf '%s %s %s %s %s\n' "$name" "$replica" "$port" "$internal" "$verify" >>"$GH_RUN/services"
            servers+="server 127.0.0.1:$port max_fails=1 fail_timeout=2s; "
            health+="${health:+|}http://127.0.0.1:$port"
            [[ $name == notify ]] && GH_NOTIFY_SID_ROUTES+="\"~^$replica\\.\" 127.0.0.1:$port; "
        done
        GH_STACK_HEALTH_URLS+="${GH_STACK_HEALTH_URLS:+,}$name=$health"
        printf -v "GH_${name^^}_SERVERS" '%s' "$servers"
    done
    GH_AUTH_VERIFY_SERVERS="$verify_servers"
    while read -r name replica port internal verify; do
        gh_start_service "$name" "$replica" "$port" "$internal" "$verify"
        if [[ $name == auth && $replica == 1 ]]; then
            gh_wait_service auth 1 "$port" || return 1
        fi
    done <"$GH_RUN/services"
    while read -r name replica port internal verify; do
        gh_wait_service "$name" "$replica" "$port" || return 1
    done <"$GH_RUN/services"

    gh_start_nginx
    gh_write_env
}

gh_wait_service() {
    local name="$1" replica="$2" port="$3"
    if ! gh_wait_http "http://127.0.0.1:$port/api/$name/health" "${GH_START_TIMEOUT:-120}"; then
        tail -30 "$GH_RUN/logs/$name-$replica.log" >&2 || true
        gh_log "$name (replica $replica) did not become healthy on port $port; its log: $GH_RUN/logs/$name-$replica.log"
        return 1
    fi
}

# Renders ${GUILDHALL_*} placeholders from the environment; an unset one is an error.
gh_render() {
    perl -pe 's/\$\{(GUILDHALL_[A-Z_]+)\}/exists $ENV{$1} ? $ENV{$1} : die "unset $1\n"/ge' "$1" >"$2"
}

# What nginx's workers may open: two per connection, within the hard limit of this shell.
gh_open_files_for_nginx() {
    local wanted=$(( ${GH_NGINX_WORKER_CONNECTIONS:-4096} * 2 + 1024 )) hard
    hard="$(ulimit -Hn)"
    [[ "$hard" != unlimited && "$hard" -lt "$wanted" ]] && wanted="$hard"
    printf '%s\n' "$wanted"
}

# The local stack's browser origins: a Vite dev server's unless CORS_ALLOWED_ORIGINS says otherwise.
GH_DEFAULT_CORS_ORIGINS="http://localhost:5173,http://127.0.0.1:5173"

gh_start_nginx() {
    local dir="$GH_RUN/nginx" cors
    cors="$(guildhall_cors_map_entries "${CORS_ALLOWED_ORIGINS-$GH_DEFAULT_CORS_ORIGINS}")" || gh_die "CORS_ALLOWED_ORIGINS is not a list of origins"
    mkdir -p "$dir/tmp" "$dir/cache"
    chmod 0777 "$dir/tmp" "$dir/cache"
    # /docs and /openapi.yaml: links to the working tree's files, so an edit shows at once.
    mkdir -p "$dir/docs"
    ln -sfn "$GH_ROOT/nginx/docs/index.html" "$dir/docs/index.html"
    ln -sfn "$GH_ROOT/openapi.yaml" "$dir/docs/openapi.yaml"
    ln -sfn "$(gh_swagger_ui_dir)" "$dir/docs/swagger-ui"
    # / and /console/: the console's files, the working tree's (an edit shows at the next load).
    ln -sfn "$GH_ROOT/console" "$dir/console"
    GUILDHALL_NGINX_DIR="$dir" \
    GUILDHALL_NGINX_WORKERS="${GH_NGINX_WORKERS:-auto}" \
    GUILDHALL_NGINX_WORKER_CONNECTIONS="${GH_NGINX_WORKER_CONNECTIONS:-4096}" \
    GUILDHALL_NGINX_OPEN_FILES="$(gh_open_files_for_nginx)" \
    GUILDHALL_NGINX_ACCESS_LOG="${GH_NGINX_ACCESS_LOG:-$GH_RUN/logs/nginx-access.log}" \
        gh_render "$GH_ROOT/nginx/nginx.conf.template" "$dir/nginx.conf"
    GUILDHALL_LISTEN="127.0.0.1:$GH_NGINX_PORT${GH_NGINX_LISTEN_OPTIONS:+ $GH_NGINX_LISTEN_OPTIONS}" \
    GUILDHALL_RESOLVER="# upstreams are loopback addresses" \
    GUILDHALL_AUTH_SERVERS="$GH_AUTH_SERVERS" \
    GUILDHALL_AUTH_VERIFY_SERVERS="$GH_AUTH_VERIFY_SERVERS" \
    GUILDHALL_BOOKING_SERVERS="$GH_BOOKING_SERVERS" \
    GUILDHALL_TICKETS_SERVERS="$GH_TICKETS_SERVERS" \
    GUILDHALL_LEVELING_SERVERS="$GH_LEVELING_SERVERS" \
    GUILDHALL_NOTIFY_SERVERS="$GH_NOTIFY_SERVERS" \
    GUILDHALL_NOTIFY_SID_ROUTES="${GH_NOTIFY_SID_ROUTES:-}" \
    GUILDHALL_RATE_LIMIT="${GUILDHALL_RATE_LIMIT:-50r/s}" \
    GUILDHALL_RATE_BURST="${GUILDHALL_RATE_BURST:-200}" \
    GUILDHALL_LOGIN_RATE_LIMIT="${GUILDHALL_LOGIN_RATE_LIMIT:-5r/s}" \
    GUILDHALL_LOGIN_RATE_BURST="${GUILDHALL_LOGIN_RATE_BURST:-20}" \
    GUILDHALL_DOCS_ROOT="$dir/docs" \
    GUILDHALL_CONSOLE_ROOT="$dir/console" \
    GUILDHALL_CACHE_DIR="$dir/cache" \
    GUILDHALL_CORS_ORIGINS="$cors" \
        gh_render "$GH_ROOT/nginx/guildhall.conf.template" "$dir/guildhall.conf"
    nginx -t -q -p "$dir" -c "$dir/nginx.conf" 2>"$GH_RUN/logs/nginx-check.log" \
        || { cat "$GH_RUN/logs/nginx-check.log" >&2; gh_die "the generated nginx configuration is invalid"; }
    nginx -p "$dir" -c "$dir/nginx.conf" || gh_die "nginx did not start on port $GH_NGINX_PORT"
    local i
    for ((i = 0; i < 600; i++)); do
        [[ -s "$dir/nginx.pid" ]] && break
        sleep 0.05
    done
    cp "$dir/nginx.pid" "$GH_RUN/pids/nginx.pid"
    gh_wait_http "http://127.0.0.1:$GH_NGINX_PORT/api/edge/health" 10 || gh_die "nginx does not answer on port $GH_NGINX_PORT"
    local name
    for name in "${GH_SERVICES[@]}"; do
        gh_wait_http "http://127.0.0.1:$GH_NGINX_PORT/api/$name/health" 120 || gh_die "$name is not reachable through nginx"
    done
}

# Writes the run's addresses for other tools (`source var/dev/env`).
gh_write_env() {
    cat >"$GH_RUN/env" <<EOF
GUILDHALL_BASE_URL=http://127.0.0.1:$GH_NGINX_PORT
DATABASE_URL=$GH_DATABASE_URL
REDIS_URL=$GH_REDIS_URL
INTERNAL_API_SECRET=$GH_INTERNAL_SECRET
ADMIN_USERNAME=$GH_ADMIN_USERNAME
ADMIN_PASSWORD=$GH_ADMIN_PASSWORD
AUTH_SIGNING_KEY_FILE=$GH_RUN/auth-data/auth-signing-key.pem
EOF
    local name replica port internal verify
    while read -r name replica port internal verify; do
        printf '%s_%s_URL=http://127.0.0.1:%s\n%s_%s_INTERNAL_URL=http://127.0.0.1:%s\n' \
            "${name^^}" "$replica" "$port" "${name^^}" "$replica" "$internal" >>"$GH_RUN/env"
        [[ -n "$verify" ]] && printf '%s_%s_VERIFY_URL=http://127.0.0.1:%s\n' "${name^^}" "$replica" "$verify" >>"$GH_RUN/env"
    done <"$GH_RUN/services"
    chmod 600 "$GH_RUN/env"
}

# ---- benchmark figures ---------------------------------------------------------------------

# gh_figure WHAT VALUE UNIT BASE_NAME BASE_VALUE GOAL: one row of `scripts/bench all`'s table,
# when it asked for them (GUILDHALL_BENCH_FIGURES names the file; otherwise nothing). The figure
# is measured against BASE_VALUE (the static 200 of the same run, or another figure of it, named
# BASE_NAME); GOAL is `ratio>=X` (VALUE / BASE_VALUE at least X), `<=X` or `>=X` (VALUE itself),
# or empty (reported, no goal).
gh_figure() {
    [[ -n "${GUILDHALL_BENCH_FIGURES:-}" ]] || return 0
    printf '%s|%s|%s|%s|%s|%s\n' "$1" "$2" "$3" "$4" "$5" "$6" >>"$GUILDHALL_BENCH_FIGURES"
}

# ---- stopping ----------------------------------------------------------------------------

# gh_stop_pid FILE: SIGTERM, wait up to 10 s, then SIGKILL. For a service (its exit status in
# FILE's .status), a stop that needed the SIGKILL or did not exit 0 is an unclean stop: said
# loudly, with the end of its log, and recorded in $GH_RUN/pids/unclean for gh_stop_all.
gh_stop_pid() {
    local file="$1" pid i name status unclean=""
    name="$(basename "$file" .pid)"
    pid="$(cat "$file" 2>/dev/null || true)"
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            unclean="did not stop within 10 s of SIGTERM; killed"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    if [[ "$name" == service-* && -z "$unclean" ]]; then
        # Written by the shell that started it, once it has exited.
        for ((i = 0; i < 50; i++)); do
            [[ -s "${file%.pid}.status" ]] && break
            sleep 0.1
        done
        status="$(cat "${file%.pid}.status" 2>/dev/null || echo unknown)"
        [[ "$status" == 0 ]] || unclean="exited with status $status after SIGTERM"
    fi
    if [[ -n "$unclean" ]]; then
        local log="$GH_RUN/logs/${name#service-}.log"
        gh_log "UNCLEAN STOP: ${name#service-} $unclean; the end of its log ($log):"
        tail -5 "$log" >&2 2>/dev/null || true
        printf '%s %s\n' "${name#service-}" "$unclean" >>"$GH_RUN/pids/unclean"
    fi
    rm -f "$file" "${file%.pid}.status"
}

# gh_finish_run STATUS: the end of a run (scripts/test, bench, drills): stops everything it
# started, then removes its folder, unless STATUS is not 0 or KEEP is set. A service that did
# not stop cleanly fails the run, loudly. Exits with the run's status.
gh_finish_run() {
    local status="$1" dir
    trap - EXIT INT TERM
    if ! gh_stop_all >>"$GH_RUN/logs/stop.log" 2>&1; then
        gh_log "error: a service did not stop cleanly, so the run fails: $(tr '\n' ';' <"$GH_RUN/logs/unclean-stops.txt" 2>/dev/null)"
        tail -20 "$GH_RUN/logs/stop.log" >&2 || true
        [[ $status == 0 ]] && status=1
    fi
    if [[ $status == 0 && -z "${KEEP:-}" ]]; then
        for dir in "$GH_RUN"/*; do
            [[ -L "$dir" ]] && rm -rf "$(readlink "$dir")"
        done
        rm -rf "$GH_RUN"
    else
        gh_log "the run's folder is kept: $GH_RUN"
    fi
    exit "$status"
}

# Stops everything recorded under $GH_RUN/pids: nginx, then the services, then the servers.
gh_stop_all() {
    local file
    [[ -d "$GH_RUN/pids" ]] || return 0
    [[ -f "$GH_RUN/pids/nginx.pid" ]] && gh_stop_pid "$GH_RUN/pids/nginx.pid"
    for file in "$GH_RUN"/pids/service-*.pid; do
        [[ -e "$file" ]] && gh_stop_pid "$file" &
    done
    wait
    for file in "$GH_RUN"/pids/redis-*.pid; do
        [[ -e "$file" ]] && gh_stop_pid "$file"
    done
    for file in "$GH_RUN"/pids/postgres-*.dir; do
        [[ -e "$file" ]] && gh_stop_postgres "$file"
    done
    rm -f "$GH_RUN/services"
    # A service that crashed or hung on its stop fails the caller.
    if [[ -s "$GH_RUN/pids/unclean" ]]; then
        gh_log "services that did not stop cleanly: $(tr '\n' ';' <"$GH_RUN/pids/unclean")"
        mv "$GH_RUN/pids/unclean" "$GH_RUN/logs/unclean-stops.txt"
        return 1
    fi
}
