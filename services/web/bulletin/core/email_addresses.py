"""What an email address is: one rule for every place that takes one (the
forms, and the services behind the API and the command line).

email_validator checks the syntax, never DNS: a LAN's mail server need not be
in public DNS. It refuses IANA's special-use names by default, but a stack
run on a LAN has people at admin@corp.local or ops@nas.home.arpa, so those
are allowed; `.invalid` and `.onion`, which never receive mail, are not.
"""

from __future__ import annotations

import email_validator
from email_validator import EmailNotValidError, validate_email

from ..models.user import normalize_email

MAX_LENGTH = 254  # RFC 5321's limit on a whole address, as email_validator checks it
LAN_DOMAINS = ("local", "arpa", "test", "localhost")


def allow_lan_domains() -> None:
    """Accept LAN_DOMAINS from now on, in this process (create_app calls it).

    email_validator's documented switch is its module-wide list of refused
    names, so the change is the whole process's; calling it again changes nothing.
    """
    for name in LAN_DOMAINS:
        if name in email_validator.SPECIAL_USE_DOMAIN_NAMES:
            email_validator.SPECIAL_USE_DOMAIN_NAMES.remove(name)


def checked_email(value: str) -> str:
    """``value`` as stored (trimmed, lower-cased), or ValueError saying what to fix."""
    value = value.strip()
    try:  # the length (MAX_LENGTH) included
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as error:
        raise ValueError(f"Invalid email address: {error}") from None
    return normalize_email(value)
