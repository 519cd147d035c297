"""The framework floor for the benchmark: the smallest Flask view, served by
the same gunicorn.conf.py as Bulletin (`gunicorn -c ../services/web/gunicorn.conf.py hello:app`)."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, World!"
