"""webargs' request parser, with errors that tell the client what to fix."""

from __future__ import annotations

from typing import NoReturn

import marshmallow as ma
from webargs.flaskparser import FlaskParser

from ..errors import api_error


def _field_names(messages: dict, prefix: str = "") -> list[str]:
    names = []
    for key, value in messages.items():
        name = f"{prefix}{key}"
        names.extend(_field_names(value, f"{name}.") if isinstance(value, dict) else [name])
    return names


class Parser(FlaskParser):
    def _handle_invalid_json_error(self, error, req, *args, **kwargs) -> NoReturn:
        raise api_error(400, f"The request body is not valid JSON: {error}.")

    def handle_error(
        self, error: ma.ValidationError, req, schema, *, error_status_code, error_headers
    ) -> NoReturn:
        messages = error.messages if isinstance(error.messages, dict) else {"_": error.messages}
        fields = ", ".join(_field_names(messages))
        raise api_error(error_status_code or 422, f"Fix these fields: {fields}.", details=messages)
