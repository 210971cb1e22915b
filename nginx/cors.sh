# CORS_ALLOWED_ORIGINS → the entries of nginx's `$guildhall_cors_origin` map
# (nginx/guildhall.conf.template). Sourced by scripts/lib.sh for the local stack and by the
# nginx image's entrypoint under compose (/docker-entrypoint.d/19-guildhall-cors.envsh), so one
# setting drives every deployment.
#
# CORS_ALLOWED_ORIGINS is a comma-separated list of exact origins: scheme (http or https), host
# and an optional port, nothing after (`http://localhost:5173,https://app.example.com`). Empty
# allows none. `*` and anything that is not such an origin stop the start with a message: the
# answers allow credentials, so a wildcard would let any site act as its visitors.

# Prints one map entry per origin of "$1" (nothing for an empty list); fails, naming the bad
# value and printing nothing, on anything that is not an exact origin.
guildhall_cors_map_entries() {
    local list="$1" origin entries=""
    local -a origins
    IFS=',' read -r -a origins <<<"$list"
    for origin in "${origins[@]}"; do
        origin="${origin#"${origin%%[![:space:]]*}"}"
        origin="${origin%"${origin##*[![:space:]]}"}"
        [[ -z "$origin" ]] && continue
        if [[ "$origin" == *"*"* ]]; then
            echo "CORS_ALLOWED_ORIGINS: '$origin' is a wildcard; list each origin (credentials are allowed, so * would be unsafe)" >&2
            return 1
        fi
        if ! [[ "$origin" =~ ^https?://[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(:[0-9]{1,5})?$ || "$origin" =~ ^https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$ ]]; then
            echo "CORS_ALLOWED_ORIGINS: '$origin' is not an origin (scheme://host[:port], http or https, no path)" >&2
            return 1
        fi
        origin="${origin,,}"
        entries+="\"$origin\" \"$origin\";"$'\n'
    done
    printf '%s' "$entries"
}
