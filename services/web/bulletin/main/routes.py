"""The blog's pages: feeds, posts, profiles, follows and moderation."""

from __future__ import annotations

import uuid
from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select

from ..auth.second_factor import requires_fresh_factor
from ..core.pagination import Listing, Page, paginate
from ..extensions import db, moment, search_limit
from ..models import Comment, Permission, Post, Role, User
from ..models.blog import POST_MAX
from ..runtime.pool import reads_alone
from ..services import accounts, blog, search
from ..web.forms import Form
from ..web.next_url import safe_next_path
from ..web.page_cache import for_visitors
from ..web.permissions import admin_required, permission_required
from . import bp
from .forms import (
    POST_PROMPT,
    AdminDeleteAccountForm,
    CommentForm,
    EditProfileAdminForm,
    EditProfileForm,
    PostForm,
)

FEED_COOKIE = "show_followed"
FEED_COOKIE_AGE = 30 * 24 * 3600


def requested_page(listing: Listing, per_page: int) -> Page[Any]:
    """The page at ``?cursor=``, or at an old ``?page=N`` link, or the first."""
    return paginate(
        listing,
        per_page=per_page,
        cursor=request.args.get("cursor"),
        number=request.args.get("page", type=int),
    )


def user_or_404(username: str) -> User:
    return db.one_or_404(
        select(User).where(User.username == username),
        description=f"There is no user named {username!r}.",
    )


def per_page(setting: str) -> int:
    return current_app.config[setting]


@bp.get("/search")
@search_limit
def search_page():
    """Posts and people matching ``?q=``, best first, paged like the feeds."""
    text = search.checked_query(request.args.get("q"))
    if not text:
        return render_template("main/search.html", q="", page=None, people=[], snippets={})
    everything = search.prepare(text)
    found = search.posts(text, everything=everything, cards=True)
    page = requested_page(found, per_page("POSTS_PER_PAGE"))
    found_people = [] if page.has_prev else search.people(text)
    return render_template(
        "main/search.html",
        q=text,
        page=page,
        people=found_people,
        snippets=search.snippets(page.items, text),
        recent_only=not everything,
        recent_window=search.RECENT_WINDOW,
    )


@bp.route("/", methods=["GET", "POST"])
@reads_alone
@for_visitors
def index():
    """Show the feed, newest first, with the write-a-post form for writers."""
    may_write = current_user.is_authenticated and current_user.can(Permission.WRITE)
    # The form is built only for a post sent: the page writes its markup, and
    # building it costs as much as a page of posts. Only writers get the form:
    # its CSRF token makes a session cookie, which readers do not need.
    form = None
    if request.method == "POST":
        if not may_write:
            abort(403, description="Your account does not have permission to write posts.")
        form = PostForm()
        if form.validate_on_submit():
            blog.create_post(author=current_user, body=form.body.data)
            flash("Your post is published.", "success")
            return redirect(url_for("main.index"))
    show_followed = current_user.is_authenticated and bool(request.cookies.get(FEED_COOKIE))
    feed = (
        blog.followed_posts(current_user, cards=True)
        if show_followed
        else blog.all_posts(cards=True)
    )
    page = requested_page(feed, per_page("POSTS_PER_PAGE"))
    return render_template(
        "main/index.html",
        may_write=may_write,
        form=form,
        prompt=POST_PROMPT,
        post_max=POST_MAX,
        page=page,
        show_followed=show_followed,
    )


def _feed_choice(show_followed: bool):
    response = make_response(redirect(url_for("main.index")))
    response.set_cookie(
        FEED_COOKIE,
        "1" if show_followed else "",
        max_age=FEED_COOKIE_AGE,
        httponly=True,
        samesite="Lax",
    )
    return response


@bp.get("/all")
@login_required
def show_all():
    """Show every author's posts on the home page."""
    return _feed_choice(False)


@bp.get("/followed")
@login_required
def show_followed():
    """Show only followed authors' posts on the home page."""
    return _feed_choice(True)


@bp.get("/user/<username>")
@for_visitors
def user(username: str):
    """Show a profile with the user's posts and follow counts."""
    profile = user_or_404(username)
    page = requested_page(blog.posts_by(profile, cards=True), per_page("POSTS_PER_PAGE"))
    followers, following = blog.follow_counts(profile)
    is_following = current_user.is_authenticated and blog.is_following(current_user, profile)
    return render_template(
        "main/user.html",
        user=profile,
        page=page,
        followers=followers,
        following=following,
        is_following=is_following,
        # Only signed-in readers get the follow button: its CSRF token would
        # give a visitor a session cookie, and the page could not be shared.
        form=Form() if current_user.is_authenticated else None,
    )


@bp.route("/edit-profile", methods=["GET", "POST"])
@login_required
def edit_profile():
    """Edit your own name, location and about-me."""
    form = EditProfileForm(obj=current_user)
    if form.validate_on_submit():
        accounts.update_profile(
            current_user,
            name=form.name.data,
            location=form.location.data,
            about_me=form.about_me.data,
        )
        flash("Your profile has been updated.", "success")
        return redirect(url_for("main.user", username=current_user.username))
    return render_template("main/edit_profile.html", form=form)


@bp.route("/edit-profile/<uuid:public_id>", methods=["GET", "POST"])
@admin_required
def edit_profile_admin(public_id: uuid.UUID):
    """Let an administrator edit any account."""
    profile = _profile_or_404(public_id)
    form = EditProfileAdminForm(obj=profile)
    form.role.choices = [
        (role.id, role.name) for role in db.session.scalars(select(Role).order_by(Role.name))
    ]
    if request.method == "GET":
        form.role.data = profile.role_id
    if form.validate_on_submit():
        accounts.admin_update_user(
            profile,
            email=form.email.data,
            username=form.username.data,
            confirmed=form.confirmed.data,
            role_id=form.role.data,
            name=form.name.data,
            location=form.location.data,
            about_me=form.about_me.data,
        )
        flash("The profile has been updated.", "success")
        return redirect(url_for("main.user", username=profile.username))
    return render_template(
        "main/edit_profile.html",
        form=form,
        user=profile,
        export_form=Form(),
        delete_form=AdminDeleteAccountForm(),
    )


def _profile_or_404(public_id: uuid.UUID) -> User:
    return db.one_or_404(
        select(User).where(User.public_id == public_id), description="There is no such user."
    )


@bp.post("/edit-profile/<uuid:public_id>/export")
@admin_required
def export_account_admin(public_id: uuid.UUID):
    """Export any account's data; the link is mailed to the administrator who asked."""
    profile = _profile_or_404(public_id)
    if Form().validate_on_submit():
        accounts.request_export(profile, requested_by=current_user)
        flash(f"The export of {profile.username} is on its way to your email.", "info")
    return redirect(url_for("main.edit_profile_admin", public_id=public_id))


@bp.post("/edit-profile/<uuid:public_id>/second-factors/reset")
@admin_required
@requires_fresh_factor
def reset_second_factors_admin(public_id: uuid.UUID):
    """For someone who lost every factor: remove them all (logged, for the audit)."""
    profile = _profile_or_404(public_id)
    if Form().validate_on_submit():
        accounts.reset_second_factors(profile, by=current_user)
        flash(f"Every second factor of {profile.username} is removed.", "info")
    return redirect(url_for("main.edit_profile_admin", public_id=public_id))


@bp.post("/edit-profile/<uuid:public_id>/delete")
@admin_required
def delete_account_admin(public_id: uuid.UUID):
    """Delete any account, after the administrator's own password."""
    profile = _profile_or_404(public_id)
    form = AdminDeleteAccountForm()
    if not form.validate_on_submit():
        flash("Enter your password to delete the account.", "danger")
        return redirect(url_for("main.edit_profile_admin", public_id=public_id))
    if profile.id == current_user.id:
        flash("Delete your own account from your menu, with your password.", "danger")
        return redirect(url_for("main.edit_profile_admin", public_id=public_id))
    username = profile.username
    accounts.delete_account(profile, password=form.password.data, checked_by=current_user)
    flash(f"The account {username} is deleted, and its data is being removed.", "info")
    return redirect(url_for("main.index"))


@bp.route("/post/<id:post_id>", methods=["GET", "POST"])
@for_visitors
def post(post_id: int):
    """Show one post with its comments and, for commenters, a comment form."""
    item = db.get_or_404(Post, post_id, description="There is no such post.")
    may_comment = current_user.is_authenticated and current_user.can(Permission.COMMENT)
    if request.method == "POST" and not may_comment:
        abort(403, description="Your account does not have permission to comment.")
    # Forms only for those who use them: their CSRF token means a session cookie.
    form = CommentForm() if may_comment else None
    if form is not None and form.validate_on_submit():
        blog.add_comment(post=item, author=current_user, body=form.body.data)
        flash("Your comment has been published.", "success")
        return redirect(url_for("main.post", post_id=item.id, _anchor="comments"))
    moderator = current_user.is_authenticated and current_user.can(Permission.MODERATE)
    comments = requested_page(
        blog.visible_comments(item, moderator=moderator), per_page("COMMENTS_PER_PAGE")
    )
    return render_template(
        "main/post.html",
        post=item,
        comments=comments,
        form=form,
        may_edit=current_user.is_authenticated and blog.may_edit(current_user, item),
        moderator=moderator,
        action_form=Form() if moderator else None,
    )


@bp.route("/edit/<id:post_id>", methods=["GET", "POST"])
@login_required
def edit_post(post_id: int):
    """Edit your own post (administrators may edit any)."""
    item = db.get_or_404(Post, post_id, description="There is no such post.")
    if not blog.may_edit(current_user, item):
        abort(403, description="Only the author or an administrator may edit this post.")
    form = PostForm(obj=item)
    if form.validate_on_submit():
        blog.update_post(item, editor=current_user, body=form.body.data)
        flash("The post has been updated.", "success")
        return redirect(url_for("main.post", post_id=item.id))
    return render_template("main/edit_post.html", form=form, post=item)


def _follow_action(username: str, *, start: bool):
    other = user_or_404(username)
    if not Form().validate_on_submit():
        abort(400, description="The form has expired; reload the page and try again.")
    changed = blog.follow(current_user, other) if start else blog.unfollow(current_user, other)
    if start:
        flash(
            f"You are now following {other.username}."
            if changed
            else f"You already follow {other.username}.",
            "info",
        )
    else:
        flash(
            f"You are no longer following {other.username}."
            if changed
            else f"You were not following {other.username}.",
            "info",
        )
    return redirect(url_for("main.user", username=other.username))


@bp.post("/follow/<username>")
@permission_required(Permission.FOLLOW)
def follow(username: str):
    """Follow a user."""
    return _follow_action(username, start=True)


@bp.post("/unfollow/<username>")
@permission_required(Permission.FOLLOW)
def unfollow(username: str):
    """Stop following a user."""
    return _follow_action(username, start=False)


@bp.get("/followers/<username>")
def followers(username: str):
    """List who follows a user."""
    profile = user_or_404(username)
    page = requested_page(blog.followers_of(profile), per_page("FOLLOWERS_PER_PAGE"))
    people = [(follow.follower, follow.timestamp) for follow in page.items]
    return render_template(
        "main/follows.html",
        user=profile,
        page=page,
        people=people,
        title=f"Followers of {profile.username}",
        endpoint="main.followers",
    )


@bp.get("/following/<username>")
def following(username: str):
    """List whom a user follows."""
    profile = user_or_404(username)
    page = requested_page(blog.followed_by(profile), per_page("FOLLOWERS_PER_PAGE"))
    people = [(follow.followed, follow.timestamp) for follow in page.items]
    return render_template(
        "main/follows.html",
        user=profile,
        page=page,
        people=people,
        title=f"{profile.username} follows",
        endpoint="main.following",
    )


@bp.get("/moderate")
@permission_required(Permission.MODERATE)
def moderate():
    """List recent comments with buttons to hide or show each."""
    page = requested_page(blog.all_comments(), per_page("COMMENTS_PER_PAGE"))
    return render_template("main/moderate.html", page=page, action_form=Form())


def _moderate(comment_id: int, *, disabled: bool):
    comment = db.get_or_404(Comment, comment_id, description="There is no such comment.")
    if not Form().validate_on_submit():
        abort(400, description="The form has expired; reload the page and try again.")
    blog.set_comment_disabled(comment, disabled)
    flash("The comment is hidden." if disabled else "The comment is visible again.", "info")
    return redirect(safe_next_path(request.form.get("next")) or url_for("main.moderate"))


@bp.post("/moderate/enable/<id:comment_id>")
@permission_required(Permission.MODERATE)
def moderate_enable(comment_id: int):
    """Show a hidden comment again."""
    return _moderate(comment_id, disabled=False)


@bp.post("/moderate/disable/<id:comment_id>")
@permission_required(Permission.MODERATE)
def moderate_disable(comment_id: int):
    """Hide a comment from everyone but moderators."""
    return _moderate(comment_id, disabled=True)


@bp.get("/flask-moment.js")
def moment_js():
    """Serve Flask-Moment's helper as a file, so the CSP needs no inline script."""
    response = make_response(moment.flask_moment_js())
    response.mimetype = "application/javascript"
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


@bp.app_context_processor
def inject_template_constants() -> dict[str, Any]:
    return {"Permission": Permission, "max_query_length": search.MAX_QUERY_LENGTH}
