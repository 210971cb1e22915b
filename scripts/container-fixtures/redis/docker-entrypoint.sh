#!/bin/bash
# `redis-server [config file] [options]`: as the redis user, protected mode off (other
# containers connect without a password, as with the official image).
set -euo pipefail
if [[ "${1:-}" == -* || "${1:-}" == *.conf ]]; then
    set -- redis-server "$@"
fi
if [[ "${1:-}" == redis-server ]]; then
    shift
    config=()
    if [[ $# -gt 0 && "$1" != -* ]]; then
        config=("$1")
        shift
    fi
    set -- redis-server "${config[@]}" --protected-mode no "$@"
    if [[ "$(id -u)" == 0 ]]; then
        find . \! -user redis -exec chown redis: '{}' +
        exec setpriv --reuid=redis --regid=redis --init-groups "$@"
    fi
fi
exec "$@"
