"""The raw floor for the benchmark: the smallest Flask views that do the work of
Bulletin's hot signed-in routes and nothing else, under the same
gunicorn.conf.py (`gunicorn -c ../services/web/gunicorn.conf.py floor:app`).

- GET /api/v1/tasks: the token's signature, then one round trip for the
  caller's check and their first 20 tasks, orjson out.
- POST /api/v1/tasks: the token's signature, then one round trip that checks
  the caller and inserts the task, returning the row, orjson out.
- GET /: the signed-in home page, the session cookie read by Flask, one
  round trip for the login session and the 20 newest posts with their
  authors, one plain Jinja template.

The same settings as the app (bulletin.config: DATABASE_URL, SECRET_KEY and
their _FILE forms), one psycopg2 connection per thread in autocommit. No
validation beyond what a crash would need, no limits, no metrics: what is
left is what the stack itself costs, the practical limit for the app.
"""

from __future__ import annotations

import os
import threading
import uuid
from datetime import UTC, datetime

import jwt
import orjson
import psycopg2
from flask import Flask, Response, abort, request, session

from bulletin.config import load_config
from bulletin.services.api_tokens import ALGORITHM, AUDIENCE, signing_key

settings = load_config(None, os.environ)
app = Flask(__name__)
app.config["SECRET_KEY"] = settings.SECRET_KEY
KEY = signing_key(settings.SECRET_KEY)
connections = threading.local()

TASK_PAGE = """
SELECT t.id, t.title, t.description, t.done, t.created_at, t.updated_at FROM users u
CROSS JOIN LATERAL (SELECT * FROM tasks WHERE owner_id = u.id ORDER BY id LIMIT 21) t
WHERE u.public_id = %s AND u.token_version = %s AND u.confirmed
"""
NEW_TASK = """
INSERT INTO tasks (owner_id, title, description, done, created_at, updated_at)
SELECT u.id, %s, %s, %s, %s, %s FROM users u
WHERE u.public_id = %s AND u.token_version = %s AND u.confirmed
RETURNING id, title, description, done, created_at, updated_at
"""
HOME_PAGE = """
SELECT p.id, p.body_html, p.timestamp, a.username FROM login_sessions s
CROSS JOIN LATERAL (SELECT * FROM posts ORDER BY timestamp DESC, id DESC LIMIT 21) p
JOIN users a ON a.id = p.author_id
WHERE s.id = %s ORDER BY p.timestamp DESC, p.id DESC
"""
HOME = """<!doctype html><title>Bulletin</title><ul>
{% for id, body_html, timestamp, author in posts %}
<li><a href="/user/{{ author }}">{{ author }}</a> <span>{{ timestamp.isoformat() }}</span>
<div>{{ body_html | safe }}</div><a href="/post/{{ id }}">Permalink and comments</a></li>
{% endfor %}</ul>"""
home_template = app.jinja_env.from_string(HOME)  # compiled once, as Flask keeps templates


def cursor():
    connection = getattr(connections, "connection", None)
    if connection is None or connection.closed:
        connection = connections.connection = psycopg2.connect(settings.SQLALCHEMY_DATABASE_URI)
        connection.autocommit = True
    return connection.cursor()


def caller() -> tuple[uuid.UUID, int]:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    try:
        claims = jwt.decode(token, KEY, algorithms=[ALGORITHM], audience=AUDIENCE)
        return uuid.UUID(claims["sub"]), claims["ver"]
    except (jwt.InvalidTokenError, KeyError, ValueError):
        abort(401)


def task(row: tuple) -> dict:
    id_, title, description, done, created_at, updated_at = row
    return {
        "id": id_,
        "title": title,
        "description": description,
        "done": done,
        "created_at": created_at,
        "updated_at": updated_at,
        "uri": f"{request.host_url}api/v1/tasks/{id_}",
    }


def json(body: dict, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, mimetype="application/json")


@app.get("/api/v1/tasks")
def list_tasks() -> Response:
    public_id, version = caller()
    with cursor() as rows:
        rows.execute(TASK_PAGE, (str(public_id), version))
        found = rows.fetchall()
    items = [task(row) for row in found[:20]]
    return json({"items": items, "per_page": 20, "links": {"next": len(found) > 20}})


@app.post("/api/v1/tasks")
def create_task() -> Response:
    public_id, version = caller()
    data = orjson.loads(request.get_data())
    now = datetime.now(UTC)
    values = (data["title"], data.get("description", ""), data.get("done", False), now, now)
    with cursor() as rows:
        rows.execute(NEW_TASK, (*values, str(public_id), version))
        row = rows.fetchone()
    if row is None:
        abort(401)
    return json(task(row), 201)


@app.get("/")
def home() -> str:
    with cursor() as rows:
        rows.execute(HOME_PAGE, (session.get("_user_id"),))
        posts = rows.fetchall()
    if not posts:
        abort(401)
    return home_template.render(posts=posts[:20])


@app.get("/healthz")
def healthz() -> str:
    """For the benchmark to know it answers (``/`` wants a signed-in cookie)."""
    return "ok"
