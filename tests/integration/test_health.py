"""Health probes: /healthz never needs the database, /readyz checks it and the schema."""

from __future__ import annotations

from sqlalchemy import event, text

from bulletin import create_app
from bulletin.extensions import db
from bulletin.runtime.revisions import head_revisions


def test_healthz_answers_without_a_database(tmp_path):
    app = create_app(
        "testing", {"SQLALCHEMY_DATABASE_URI": "postgresql://nobody:wrong@127.0.0.1:1/none"}
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "release": "unknown"}


def test_readyz_is_ok_at_the_head_revision(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["status"] == "ok"


def test_readyz_is_503_when_the_database_is_unreachable():
    app = create_app(
        "testing", {"SQLALCHEMY_DATABASE_URI": "postgresql://nobody:wrong@127.0.0.1:1/none"}
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "database unreachable" in response.json["reason"]
    assert "wrong" not in response.get_data(as_text=True)  # no credentials leak


def test_readyz_is_503_before_migrations(tmp_path):
    app = create_app(
        "testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.sqlite'}"}
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "flask db upgrade" in response.json["reason"]


def test_readyz_is_503_when_behind_the_head(app, client):
    with app.app_context():
        db.session.execute(text("UPDATE alembic_version SET version_num = 'old'"))
        db.session.commit()
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert "old" in response.json["reason"]
    finally:
        with app.app_context():
            (head,) = head_revisions()
            db.session.execute(
                text("UPDATE alembic_version SET version_num = :head"), {"head": head}
            )
            db.session.commit()


def test_health_probes_do_not_load_the_signed_in_user(app, client, auth, make_user):
    make_user("pat")
    auth.login("pat@example.com")
    statements = []
    with app.app_context():
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get("/healthz").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
    assert statements == []
