#!/bin/sh
# The web container's first step: wait for the database and migrate it, then
# run the command (gunicorn by default, see the Dockerfile's CMD).
#   APP_DIR=/app         where the code is (compose's development stack mounts
#                        the checkout at /src for reloading)
#   MIGRATE_ON_START=0   skip migrations (run `flask db upgrade` yourself)
#   DATABASE_WAIT=60     seconds to wait for the database before giving up
set -eu
cd "${APP_DIR:-/app}"

if [ "${MIGRATE_ON_START:-1}" = "0" ]; then
  flask --app bulletin prepare-database --wait "${DATABASE_WAIT:-60}" --no-migrate
else
  flask --app bulletin prepare-database --wait "${DATABASE_WAIT:-60}"
fi

exec "$@"
