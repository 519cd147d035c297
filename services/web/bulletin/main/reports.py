"""/admin/reports: activity and the busiest authors and posts, for
administrators and moderators (bulletin/services/reports.py makes the tables)."""

from __future__ import annotations

from flask import Response, abort, render_template

from ..models import Permission
from ..services import reports
from ..web.permissions import permission_required
from . import bp


@bp.get("/admin/reports")
@permission_required(Permission.MODERATE)
def reports_page():
    """The three tables and a chart of posts per day, drawn on the server."""
    activity = reports.activity()
    return render_template(
        "main/reports.html",
        days=reports.DAYS,
        chart=reports.chart(activity),
        tables={
            "activity": reports.as_html(activity),
            "authors": reports.as_html(reports.active_authors()),
            "posts": reports.as_html(reports.most_commented()),
        },
    )


@bp.get("/admin/reports/<name>.csv")
@permission_required(Permission.MODERATE)
def report_csv(name: str):
    """One table as CSV, for a spreadsheet."""
    make = reports.TABLES.get(name)
    if make is None:
        abort(404, description=f"There is no report {name!r}: try {', '.join(reports.TABLES)}.")
    return Response(
        reports.as_csv(make()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="bulletin-{name}.csv"'},
    )
