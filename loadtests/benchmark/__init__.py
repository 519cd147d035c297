"""The benchmark: how close Bulletin comes to what this machine allows.

    make bench                    # the production compose stack (Docker)
    make bench STACK=loopback     # nginx, gunicorn and PostgreSQL on this host
    .venv/bin/python -m loadtests.benchmark --stack compose --seconds 10 --large 1000000

Starts the stack, a hello-world Flask app and the raw floor
(loadtests/floor.py: the hot routes' work and nothing else, on the stack's
database) under the same gunicorn config
(for compose: docker-compose.yml, the production stack, plus
loadtests/bench.compose.yml, as its own project, removed afterwards; wrk
reaches nginx, gunicorn and the hello app
at their containers' addresses, as traffic from outside would, not through
Docker's userland port proxy), then measures with wrk, 50 connections:

  a. nginx serving a small static file over TLS       the ceiling
  b. hello-world Flask under our gunicorn config       the framework floor
     the raw floor: the task list, task creation and the signed-in home page
  c. the same three from the app, then GET /api/v1/tasks and the home page
     for visitors, to gunicorn (and with one connection,
     where latency is the work of one request rather than the queue), and
     with one connection the first page and a page half the posts deep, of
     the home page and of GET /api/v1/posts
  d. the same through nginx and TLS (the home page for visitors: nginx's
     page cache, PAGE_CACHE_SECONDS)
  e. GET /search, one connection
  f. the task list and the signed-in home page through nginx and TLS at a constant
     70 % of the peak rate just measured (wrk, 25 connections paced by
     paced.lua): the latency people get at a load the machine can carry

with 1 thousand and then 1 million rows in posts and tasks. Prints a table
and the ratios with their targets, met or missed, the resident memory of each
gunicorn worker afterwards, and writes it all to loadtests/RESULTS.md (between
the stack's markers, so the notes around them stay). Each run is appended to
loadtests/history.jsonl, and loadtests/ratios.svg charts the ratios of every
run so far (matplotlib).

Needs wrk (apt-get install wrk) and, for compose, a Docker engine with the
base images; for loopback, nginx (apt-get install nginx-light) and a
PostgreSQL server: BENCH_DATABASE_URL or TEST_DATABASE_URL names a database
whose role may create databases (the benchmark makes its own beside it).
"""
