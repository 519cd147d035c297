"""webargs' request parser, with errors that tell the client what to fix."""

from __future__ import annotations

from typing import NoReturn

import marshmallow as ma
from flask import current_app
from webargs.core import missing
from webargs.flaskparser import FlaskParser, is_json_request

from ..errors import api_error


def _field_names(messages: dict, prefix: str = "") -> list[str]:
    names = []
    for key, value in messages.items():
        name = f"{prefix}{key}"
        names.extend(_field_names(value, f"{name}.") if isinstance(value, dict) else [name])
    return names


class Parser(FlaskParser):
    def _raw_load_json(self, req):
        """The body through the app's JSON provider (orjson), not webargs' own
        json.loads: orjson refuses what the database cannot take or Python
        cannot hold (a lone surrogate, nesting past 1,024, a number of
        thousands of digits): a 400 that says so, where json.loads let them
        through to a 500."""
        if not is_json_request(req):
            return missing
        data = req.get_data(cache=True)
        if not data:
            return missing
        try:
            return current_app.json.loads(data)
        except ValueError as error:  # orjson's JSONDecodeError, bytes that are not UTF-8 too
            self._handle_invalid_json_error(error, req)

    def _handle_invalid_json_error(self, error, req, *args, **kwargs) -> NoReturn:
        raise api_error(400, f"The request body is not valid JSON: {error}.")

    def handle_error(
        self, error: ma.ValidationError, req, schema, *, error_status_code, error_headers
    ) -> NoReturn:
        messages = error.messages if isinstance(error.messages, dict) else {"_": error.messages}
        fields = ", ".join(_field_names(messages))
        raise api_error(error_status_code or 422, f"Fix these fields: {fields}.", details=messages)
