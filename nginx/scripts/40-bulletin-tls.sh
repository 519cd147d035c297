#!/bin/sh
# shellcheck disable=SC2046  # `set -- $(chosen)` splits two space-free paths on purpose
# Which certificate nginx serves, and reloading nginx when it changes.
# Run by the nginx image's entrypoint (from /docker-entrypoint.d) after the
# templates are rendered and before nginx starts.
#
#   TLS_CERTIFICATES=local        the local CA's certificate (certs/local)
#   TLS_CERTIFICATES=letsencrypt  Let's Encrypt's once certbot has one; the local
#                                 certificate until then, so the first challenge
#                                 can be answered over port 80
# Compose passes COMPOSE_PROFILES here, so the one switch in .env is
# COMPOSE_PROFILES=letsencrypt (a list such as "letsencrypt,other" works too).
#
# nginx reads $TLS_CERTIFICATE / $TLS_CERTIFICATE_KEY, two links made here.
# Every TLS_WATCH_INTERVAL seconds the chosen files are compared with what
# nginx loaded; on a change the links move and nginx reloads gracefully
# (no dropped connection), but only if `nginx -t` accepts the new files.
set -eu

case ",${TLS_CERTIFICATES:-local}," in
  *,letsencrypt,*) mode=letsencrypt ;;
  *) mode=local ;;
esac
local_cert="${LOCAL_CERTIFICATE:-/certs/local/server.crt}"   # certs/local/server/ on the host
local_key="${LOCAL_CERTIFICATE_KEY:-/certs/local/server.key}"
le_live="${LETSENCRYPT_LIVE:-/etc/letsencrypt/live/bulletin}"
interval="${TLS_WATCH_INTERVAL:-60}"

say() { echo "bulletin-tls: $*"; }

# Prints "certificate key" for the files to serve now.
chosen() {
  if [ "$mode" = letsencrypt ] && [ -s "$le_live/fullchain.pem" ] && [ -s "$le_live/privkey.pem" ]; then
    echo "$le_live/fullchain.pem $le_live/privkey.pem"
  else
    echo "$local_cert $local_key"
  fi
}

# What the files say now: a change in either means a new certificate.
fingerprint() { cat "$1" "$2" 2>/dev/null | sha256sum | cut -d' ' -f1; }

link() { # certificate key
  mkdir -p "$(dirname "$TLS_CERTIFICATE")" "$(dirname "$TLS_CERTIFICATE_KEY")"
  ln -sfn "$1" "$TLS_CERTIFICATE"
  ln -sfn "$2" "$TLS_CERTIFICATE_KEY"
}

set -- $(chosen)
link "$1" "$2"
say "serving $1"
if [ "$mode" = letsencrypt ] && [ "$1" = "$local_cert" ]; then
  say "no Let's Encrypt certificate in $le_live yet: serving the local one until certbot has one"
fi

watch() {
  set +e  # a failed reload is reported and tried again at the next change
  set -- $(chosen)
  served="$1 $2 $(fingerprint "$1" "$2")"
  while sleep "$interval"; do
    set -- $(chosen)
    now="$1 $2 $(fingerprint "$1" "$2")"
    [ "$now" = "$served" ] && continue
    previous_cert=$(readlink "$TLS_CERTIFICATE"); previous_key=$(readlink "$TLS_CERTIFICATE_KEY")
    link "$1" "$2"
    if nginx -t -q 2>/dev/null; then
      nginx -s reload
      say "certificate changed: reloaded nginx with $1"
      served="$now"
    else
      link "$previous_cert" "$previous_key"
      say "certificate changed but nginx -t rejects $1; still serving $previous_cert"
      served="$now"  # say it once per change, not every interval
    fi
  done
}

watch &
