# nginx for Guildhall: the stock image plus the console and what /docs and /openapi.yaml serve (see
# nginx/guildhall.conf.template): the contract, its page, and Swagger UI's files from PyPI's
# swagger-ui-bundle-v2, the same version scripts/lib.sh installs for the local stack.
#
# Build from the package root (the compose file does this):
#   docker build -f compose/nginx.Dockerfile -t guildhall-nginx:latest .

# ---- Swagger UI ---------------------------------------------------------------------------
FROM python:3.12-slim-bookworm AS swagger-ui
ARG SWAGGER_UI_VERSION=5.31.0
RUN python -m pip install --no-cache-dir --disable-pip-version-check --no-deps --target /opt/swagger \
        "swagger-ui-bundle-v2==${SWAGGER_UI_VERSION}" \
    && mv "/opt/swagger/swagger_ui_bundle/vendor/swagger-ui-${SWAGGER_UI_VERSION}" /opt/swagger-ui

# ---- nginx --------------------------------------------------------------------------------
FROM nginx:1.27-bookworm
# The folder GUILDHALL_DOCS_ROOT names (the compose file sets it).
COPY --from=swagger-ui /opt/swagger-ui/ /usr/share/guildhall/docs/swagger-ui/
COPY nginx/docs/index.html openapi.yaml /usr/share/guildhall/docs/
# The console (its page at /, its files under /console/): the repository's console/ as it is.
COPY console/ /usr/share/guildhall/console/
# CORS_ALLOWED_ORIGINS → GUILDHALL_CORS_ORIGINS, before the templates are rendered.
COPY nginx/cors.sh /usr/share/guildhall/cors.sh
COPY compose/nginx-cors.envsh /docker-entrypoint.d/19-guildhall-cors.envsh
# GUILDHALL_RESOLVER, when unset: the container's nameserver (Docker's or podman's DNS).
COPY compose/nginx-resolver.envsh /docker-entrypoint.d/18-guildhall-resolver.envsh
# GUILDHALL_CACHE_DIR's folder: nginx creates the cache folders inside it, not it.
RUN install -d /var/cache/nginx/guildhall
