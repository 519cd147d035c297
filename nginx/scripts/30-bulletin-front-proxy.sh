#!/bin/sh
# TLS ended in front of nginx (a host's reverse proxy, Cloudflare, a cloud load
# balancer), written as three snippets before the templates are rendered:
#
#   NGINX_FRONT_PROXIES      the proxies' addresses or CIDR ranges, comma
#                            separated. Unset: nginx is the edge, and these
#                            snippets only say so.
#   NGINX_FRONT_PROXY_LISTEN what the proxies connect to: plain HTTP, as they
#                            ended TLS already (8080)
#   NGINX_FRONT_PROXY_PROTOCOL=1  they send the PROXY protocol header
#                            (HAProxy's send-proxy, AWS NLB) instead of X-Forwarded-For
#
# On that port nginx answers only connections from those addresses (others
# are closed, 444), takes the client's address from them (real_ip) for its
# limits, its log and the app, and tells the app the browser's scheme is
# https. The https port and the port 80 redirect stay as they are.
set -eu

output="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}/snippets"
mkdir -p "$output"
http="$output/front-proxy-http.conf"
edge="$output/front-proxy-default.conf"
site="$output/front-proxy.conf"

if [ -z "${NGINX_FRONT_PROXIES:-}" ]; then
  cat >"$http" <<'CONF'
# No proxy in front (NGINX_FRONT_PROXIES unset): the scheme is nginx's own.
map $scheme $bulletin_scheme {
    default $scheme;
}
CONF
  : >"$edge"
  : >"$site"
  echo "front proxy: none (nginx ends TLS itself)"
  exit 0
fi

listen="${NGINX_FRONT_PROXY_LISTEN:-8080}"
port="${listen##*:}"
case "$port" in '' | *[!0-9]*) echo "front proxy: NGINX_FRONT_PROXY_LISTEN=$listen has no port number" >&2; exit 1 ;; esac
if [ "${NGINX_FRONT_PROXY_PROTOCOL:-0}" = 1 ]; then
  options=" proxy_protocol" header=proxy_protocol
else
  options="" header=X-Forwarded-For
fi
ranges=$(printf '%s' "$NGINX_FRONT_PROXIES" | tr ',' ' ')
for range in $ranges; do
  case "$range" in
    *[!0-9a-fA-F:./]*) echo "front proxy: '$range' in NGINX_FRONT_PROXIES is no address or CIDR range" >&2; exit 1 ;;
  esac
done

{
  echo "# Connections to port $port from the proxies in front (NGINX_FRONT_PROXIES)."
  echo "geo \$realip_remote_addr \$bulletin_from_front_proxy {"
  echo "    default 0;"
  for range in $ranges; do echo "    $range 1;"; done
  echo "}"
  echo "# Anyone else on that port is refused; on it the browser spoke https to the proxy."
  echo "map \"\$server_port:\$bulletin_from_front_proxy\" \$bulletin_front_refused {"
  echo "    default 0;"
  echo "    \"$port:0\" 1;"
  echo "}"
  echo "map \$server_port \$bulletin_scheme {"
  echo "    default \$scheme;"
  echo "    $port https;"
  echo "}"
} >"$http"

{
  echo "# The proxies' port, closed (444) for Host names the site does not answer."
  echo "listen $listen default_server$options;"
} >"$edge"

{
  echo "listen $listen;"
  echo "# The client's address as the proxies report it, believed from them only."
  for range in $ranges; do echo "set_real_ip_from $range;"; done
  echo "real_ip_header $header;"
  echo "real_ip_recursive on;"
  echo "if (\$bulletin_front_refused) {"
  echo "    return 444;"
  echo "}"
} >"$site"
echo "front proxy: plain HTTP on $listen from $NGINX_FRONT_PROXIES (client address from $header)"
