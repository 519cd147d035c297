#!/bin/sh
# Let's Encrypt for Bulletin: run by the `certbot` compose service (profile
# `letsencrypt`). Obtains a certificate for SERVER_NAME and LETSENCRYPT_DOMAINS
# by the HTTP-01 webroot challenge that nginx serves on port 80, then checks
# twice a day and renews only when it is due (30 days before expiry), so
# Let's Encrypt's rate limits are never spent on a valid certificate.
# nginx notices the new files and reloads itself (nginx/scripts/40-bulletin-tls.sh).
#
#   certbot.sh          obtain or renew now, then again every LETSENCRYPT_INTERVAL
#   certbot.sh once     one attempt; the exit status says whether it worked
#
# Settings: SERVER_NAME, LETSENCRYPT_DOMAINS (more names, comma separated),
# LETSENCRYPT_EMAIL, LETSENCRYPT_STAGING=1 (Let's Encrypt's staging server),
# ACME_SERVER (any other ACME directory URL, e.g. Pebble's in the tests).
set -u

say() { echo "letsencrypt: $*"; }
run_mode="${1:-loop}"

domains="${SERVER_NAME:-}"
if [ -z "$domains" ] || [ "$domains" = localhost ]; then
  say "SERVER_NAME is '${SERVER_NAME:-}': set it in .env to the public domain that points at this server"
  exit 2
fi
domains="$domains,${LETSENCRYPT_DOMAINS:-}"

set -- certonly --non-interactive --webroot --webroot-path "${ACME_WEBROOT:-/var/www/acme}" \
  --cert-name bulletin --keep-until-expiring --expand --agree-tos --key-type ecdsa
names=""
for domain in $(echo "$domains" | tr ',' ' '); do
  set -- "$@" --domain "$domain"
  names="${names:+$names }$domain"
done
if [ -n "${LETSENCRYPT_EMAIL:-}" ]; then
  set -- "$@" --email "$LETSENCRYPT_EMAIL" --no-eff-email
else
  set -- "$@" --register-unsafely-without-email
fi
if [ -n "${ACME_SERVER:-}" ]; then
  set -- "$@" --server "$ACME_SERVER"
  where="$ACME_SERVER"
elif [ "${LETSENCRYPT_STAGING:-0}" = 1 ]; then
  set -- "$@" --staging
  where="Let's Encrypt's staging server"
else
  where="Let's Encrypt"
fi

attempt() {
  certbot "$@"
  status=$?
  if [ "$status" -eq 0 ]; then
    say "certificate for $names is current (from $where)"
    return 0
  fi
  say "could not obtain a certificate for $names from $where" \
      "(certbot exit $status; its reason is above). nginx keeps serving its current certificate." \
      "Check that DNS points these names at this server and that port 80 is reachable."
  return "$status"
}

if [ "$run_mode" = once ]; then
  attempt "$@"
  exit $?
fi

while :; do
  attempt "$@" || true
  sleep "${LETSENCRYPT_INTERVAL:-12h}"
done
