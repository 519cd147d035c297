from flask import Blueprint

bp = Blueprint("main", __name__)

from . import reports, routes  # noqa: E402,F401  (views attach themselves to bp)
