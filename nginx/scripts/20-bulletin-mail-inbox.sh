#!/bin/sh
# The development mail inbox (MailDev) at /maildev/ on the https server,
# written as snippets/mail-inbox.conf before the templates are rendered:
#
#   MAIL_INBOX   host:port of MailDev's web interface, e.g. maildev:1080, set
#                by docker-compose.override.yml only. Unset (production,
#                Swarm, Kubernetes): an empty snippet, so no inbox is reachable.
#
# So a phone on the LAN that trusts the local CA reads its confirmation mail
# over the same TLS as the site and follows the link.
set -eu

output="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}/snippets"
mkdir -p "$output"

if [ -z "${MAIL_INBOX:-}" ]; then
  : >"$output/mail-inbox.conf"
  echo "mail inbox: none (MAIL_INBOX unset)"
  exit 0
fi

cat >"$output/mail-inbox.conf" <<CONF
# MailDev serves itself under /maildev (MAILDEV_BASE_PATHNAME), its live
# list over a WebSocket.
location /maildev/ {
    proxy_pass http://$MAIL_INBOX;
    proxy_http_version 1.1;
    proxy_set_header Host \$host;
    proxy_set_header Upgrade \$http_upgrade;
    proxy_set_header Connection \$http_connection;
    proxy_read_timeout 1h;
}
CONF
echo "mail inbox: /maildev/ from $MAIL_INBOX"
