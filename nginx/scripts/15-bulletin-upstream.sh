#!/bin/sh
# How nginx reaches gunicorn, written as two snippets before the templates are
# rendered (default.conf includes them):
#   snippets/upstream.conf        http level: the upstream group (and resolver)
#   snippets/upstream-pass.conf   location level: the proxy_pass line
#   snippets/static.conf          location level: where /static/ comes from
#
#   UPSTREAM         host:port of gunicorn, e.g. web:8000
#   NGINX_RESOLVER   a DNS server to ask again and again (Docker's: 127.0.0.11),
#                    so replicas that come, go or change address are followed.
#                    Empty: resolve once at start (a fixed address, as on loopback).
#   STATIC_ROOT      the folder holding the app's static/ (the checkout, mounted):
#                    nginx serves the files from disk. Empty (Swarm, where nginx
#                    runs on a node without the checkout): from the app, through
#                    the upstream, so each file always matches the release that
#                    links to it.
#
# Following the name costs upstream keep-alive on nginx before 1.27.3, which
# cannot re-resolve a server inside an upstream block: there, proxy_pass names
# the host in a variable, which nginx resolves through the resolver on each
# request (cached for `valid`), spreading requests over every address found.
# From 1.27.3 on, `server ... resolve` keeps both.
set -eu

output="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}/snippets"
upstream="${UPSTREAM:?set UPSTREAM to gunicorn host:port, e.g. web:8000}"
resolver="${NGINX_RESOLVER:-}"
mkdir -p "$output"

# Whether this nginx is at least 1.27.3: "nginx version: nginx/1.22.1" on stderr.
version=$(nginx -v 2>&1 | sed -n 's|.*nginx/\([0-9.]*\).*|\1|p')
resolve_in_upstream() {
  [ -n "$version" ] && [ "$(printf '%s\n1.27.3\n' "$version" | sort -V | head -n1)" = "1.27.3" ]
}

# DNS answers are trusted for 5 s: a replica that leaves stops getting new
# requests within that time (and nginx retries the ones it refuses).
resolver_line="resolver $resolver valid=5s ipv6=off;"

if [ -z "$resolver" ]; then
  mode="fixed address, keep-alive"
  cat >"$output/upstream.conf" <<CONF
upstream bulletin_app {
    server $upstream;
    keepalive 32;
}
CONF
  echo 'proxy_pass http://bulletin_app;' >"$output/upstream-pass.conf"
elif resolve_in_upstream; then
  mode="re-resolved through $resolver, keep-alive"
  cat >"$output/upstream.conf" <<CONF
$resolver_line
upstream bulletin_app {
    zone bulletin_app 64k;
    server $upstream resolve;
    keepalive 32;
}
CONF
  echo 'proxy_pass http://bulletin_app;' >"$output/upstream-pass.conf"
else
  mode="re-resolved through $resolver (nginx $version: no upstream keep-alive)"
  echo "$resolver_line" >"$output/upstream.conf"
  cat >"$output/upstream-pass.conf" <<CONF
set \$bulletin_upstream $upstream;
proxy_pass http://\$bulletin_upstream;
CONF
fi

# URLs carry ?v=<content hash> (bulletin/runtime/assets.py), so a year of caching is safe.
cache_forever='add_header Cache-Control "public, max-age=31536000, immutable";'
if [ -n "${STATIC_ROOT:-}" ]; then
  static="from $STATIC_ROOT"
  cat >"$output/static.conf" <<CONF
root $STATIC_ROOT;
try_files \$uri =404;
$cache_forever
include conf.d/snippets/security-headers.conf;
CONF
else
  static="from the app"  # which sends its own security headers
  { echo 'include conf.d/snippets/proxy.conf;'
    cat "$output/upstream-pass.conf"
    echo 'proxy_hide_header Cache-Control;'
    echo "$cache_forever"
  } >"$output/static.conf"
fi
echo "$0: upstream $upstream: $mode; static files $static"
