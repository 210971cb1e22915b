#!/bin/sh
# When the command is nginx: sources the executable /docker-entrypoint.d/*.envsh and runs the
# executable *.sh, in name order, then starts nginx. Any other command runs as it is.
set -e

log() {
    if [ -z "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ]; then
        echo "$@"
    fi
}

if [ "$1" = nginx ] || [ "$1" = nginx-debug ]; then
    if find /docker-entrypoint.d/ -mindepth 1 -maxdepth 1 -type f -print -quit 2>/dev/null | read -r _; then
        log "$0: running the files in /docker-entrypoint.d/"
        for f in $(find /docker-entrypoint.d/ -follow -type f -print | sort -V); do
            case "$f" in
                *.envsh)
                    if [ -x "$f" ]; then
                        log "$0: sourcing $f"
                        . "$f"
                    else
                        log "$0: ignoring $f, not executable"
                    fi
                    ;;
                *.sh)
                    if [ -x "$f" ]; then
                        log "$0: running $f"
                        "$f"
                    else
                        log "$0: ignoring $f, not executable"
                    fi
                    ;;
                *) log "$0: ignoring $f" ;;
            esac
        done
        log "$0: configuration complete; ready for start up"
    fi
fi

exec "$@"
