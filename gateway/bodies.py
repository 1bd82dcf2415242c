"""The request class of the app: JSON bodies are refused, with a clear 4xx, when they would
otherwise reach the handler as something Postgres or Python cannot take.

* Nesting deep enough to exhaust the decoder's recursion (``[[[[…`` 100,000 deep) is 400
  ``invalid_json`` instead of a ``RecursionError`` (a 500).
* A NUL character anywhere in a string or key is 422 ``invalid_text``: Postgres ``text`` cannot
  hold one, and refusing it here, before any handler runs, means nothing is half-written (a
  confirm used to take the hold into ``confirming`` and then fail on the INSERT).
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from gateway.errors import GatewayError, ValidationFailed


class InvalidJson(GatewayError):
    status = 400
    code = "invalid_json"


def refuse_nul(value: Any) -> None:
    """Raise when any string (value or key) in a decoded JSON document contains NUL.

    Iterative, so that it never recurses however deep the document is.

    Raises:
        ValidationFailed: ``invalid_text``.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise ValidationFailed("Text may not contain NUL characters (\\u0000).", code="invalid_text")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


class GatewayRequest(Request[Any, Any, Any]):
    """Litestar's request with the body checks above."""

    async def json(self) -> Any:
        """The decoded JSON body.

        Raises:
            InvalidJson: the body nests too deeply to decode.
            ValidationFailed: ``invalid_text`` for a NUL character in any string.
        """
        try:
            value = await super().json()
        except RecursionError:
            raise InvalidJson("The body is not valid JSON: it nests too deeply.") from None
        refuse_nul(value)
        return value
