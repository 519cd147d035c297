"""What gunicorn's master does with the preloaded app before the first fork
(bulletin/runtime/forking.py): workers inherit compiled templates, and the
collector leaves the app's objects alone."""

from __future__ import annotations

import gc

from bulletin.runtime.forking import prepare_for_fork


def test_every_template_is_compiled_and_the_apps_objects_frozen(app):
    app.jinja_env.cache.clear()
    try:
        prepare_for_fork(app)
        compiled = {name for _loader, name in app.jinja_env.cache}
        assert set(app.jinja_env.list_templates()) <= compiled
        assert "main/index.html" in compiled
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()  # the rest of the suite collects as usual
