# The web image: gunicorn serving the Bulletin Flask app.
# Two stages: dependencies are installed into a virtual environment in the
# builder, and only that environment and the app's code reach the runtime.

FROM python:3.12-slim-bookworm AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY services/web/requirements.txt /tmp/requirements.txt
# Every file checked against the hashes pinned in requirements.txt.
RUN /opt/venv/bin/pip install --require-hashes -r /tmp/requirements.txt

FROM python:3.12-slim-bookworm
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH \
    FLASK_APP=bulletin
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /app bulletin \
    && install -d -o 10001 -g 10001 -m 0700 /var/lib/bulletin
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
COPY --chown=root:root services/web/ /app/
RUN chmod 0755 /app/entrypoint.sh
# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
EXPOSE 8000
# urllib is in the standard library: no curl needed in the image.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
ENTRYPOINT ["/app/entrypoint.sh"]
# Which build this is: /healthz and error reports name it. Last, so a new
# commit rebuilds one tiny layer (deploy/swarm/swarm-deploy passes the commit).
ARG BULLETIN_RELEASE=unknown
ENV BULLETIN_RELEASE=${BULLETIN_RELEASE}
# gunicorn.conf.py is read from the working directory (APP_DIR).
CMD ["gunicorn", "--config", "gunicorn.conf.py", "bulletin.wsgi:app"]
