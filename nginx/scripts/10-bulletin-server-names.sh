#!/bin/sh
# The host names this site answers to, written as an nginx server_name line
# before the templates are rendered (the templates include it). A request for
# any other Host reaches the default server, which closes the connection (444),
# so a forged Host header never gets to the app.
#
#   always                localhost, *.localhost, 127.0.0.1 (health checks)
#   SERVER_NAME           the public name
#   CERT_EXTRA_SANS       the local certificate's extra names (LAN addresses)
#   LETSENCRYPT_DOMAINS   more names on the Let's Encrypt certificate
#   ALLOWED_HOSTS         anything else; a leading dot takes the subdomains too
# Lists are comma or space separated; ports are dropped. The app's
# TRUSTED_HOSTS comes from the same variables (bulletin/config.py).
set -eu

output="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}/snippets/server-names.conf"
names="localhost *.localhost 127.0.0.1"
for name in $(printf '%s' "${SERVER_NAME:-} ${CERT_EXTRA_SANS:-} ${LETSENCRYPT_DOMAINS:-} ${ALLOWED_HOSTS:-}" | tr ',A-Z' ' a-z'); do
  case "$name" in
    \[*) ;;                  # an IPv6 literal keeps its colons
    *:*) name="${name%:*}" ;; # host:port
  esac
  case " $names " in
    *" $name "*) ;;
    *) names="$names $name" ;;
  esac
done
mkdir -p "$(dirname "$output")"
printf 'server_name %s;\n' "$names" >"$output"
echo "$0: answering for: $names"
