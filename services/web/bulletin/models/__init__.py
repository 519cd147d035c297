"""The data model; import models from here."""

from .blog import Comment, Post
from .exports import DataExport
from .factors import Passkey, RecoveryCode, TotpFactor
from .mail import SentMail
from .task import Task
from .types import utcnow
from .user import DEFAULT_ROLE, ROLE_PERMISSIONS, Follow, LoginSession, Permission, Role, User

__all__ = [
    "DEFAULT_ROLE",
    "ROLE_PERMISSIONS",
    "Comment",
    "DataExport",
    "Follow",
    "LoginSession",
    "Passkey",
    "Permission",
    "Post",
    "RecoveryCode",
    "Role",
    "SentMail",
    "Task",
    "TotpFactor",
    "User",
    "utcnow",
]
