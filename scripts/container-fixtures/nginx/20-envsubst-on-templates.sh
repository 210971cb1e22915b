#!/bin/sh
# Renders every /etc/nginx/templates/**/*.template into /etc/nginx/conf.d/ (same relative
# path, suffix dropped) with envsubst, replacing only the variables whose names match the
# regular expression NGINX_ENVSUBST_FILTER (all variables when it is unset).
set -e

template_dir="${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}"
suffix="${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}"
output_dir="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}"
filter="${NGINX_ENVSUBST_FILTER:-}"

[ -d "$template_dir" ] || exit 0
if [ ! -w "$output_dir" ]; then
    echo "$0: $output_dir is not writable; templates not rendered" >&2
    exit 0
fi

variables="$(awk -v filter="$filter" 'END { for (name in ENVIRON) if (name ~ filter) printf "${%s} ", name }' </dev/null)"

find "$template_dir" -follow -type f -name "*$suffix" -print | while read -r template; do
    relative="${template#"$template_dir/"}"
    output="$output_dir/${relative%"$suffix"}"
    mkdir -p "$(dirname "$output")"
    echo "$0: rendering $template to $output"
    envsubst "$variables" < "$template" > "$output"
done
