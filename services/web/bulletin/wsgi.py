"""WSGI entry point: ``gunicorn bulletin.wsgi:app``.

``application`` is the name that hosts such as PythonAnywhere look for.
"""

from dotenv import load_dotenv

from . import create_app

load_dotenv()  # the flask command does this itself; WSGI servers do not
app = application = create_app()
