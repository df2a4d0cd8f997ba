"""The exceptions the client raises: every API error is a MoxxyError with the server's code and HTTP status."""
from __future__ import annotations

import json
from typing import Any, Dict, Mapping, Optional


class MoxxyError(Exception):
    """An error answer from the server (or no answer at all: status 0).

    ``code`` is the API error code (``AGENT_NOT_FOUND``, ``VALIDATION_ERROR``...), ``status`` the HTTP status,
    ``details`` the error's details (e.g. ``details["issues"]`` for a validation error).
    """

    def __init__(
        self,
        code: str,
        status: int,
        message: str,
        details: Optional[Dict[str, Any]] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.code = code
        self.status = status
        self.message = message
        self.details: Dict[str, Any] = dict(details or {})
        self.headers: Dict[str, str] = dict(headers or {})

    @property
    def retry_after(self) -> Optional[float]:
        """Seconds to wait before retrying, when the server said so (429)."""
        value = {k.lower(): v for k, v in self.headers.items()}.get("retry-after")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, status={self.status}, message={self.message!r})"


class BadRequestError(MoxxyError):
    """400: the request did not validate (VALIDATION_ERROR, INVALID_JSON...)."""


class AuthenticationError(MoxxyError):
    """401: missing or wrong credentials."""


class PermissionDeniedError(MoxxyError):
    """403: the token lacks the scope this operation needs."""


class NotFoundError(MoxxyError):
    """404: the thing does not exist (AGENT_NOT_FOUND, RUN_NOT_FOUND...)."""


class ConflictError(MoxxyError):
    """409: it already exists, or is busy (AGENT_EXISTS, SESSION_BUSY...)."""


class RateLimitError(MoxxyError):
    """429: too many requests; see ``retry_after``."""


class ServerError(MoxxyError):
    """5xx: the server or a provider behind it failed."""


class MoxxyConnectionError(MoxxyError):
    """The server could not be reached (status 0, code CONNECTION_ERROR)."""


class MoxxyTimeoutError(MoxxyConnectionError):
    """No answer (or no stream data) within the timeout (status 0, code TIMEOUT)."""


_BY_STATUS = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def error_from_response(status: int, body: bytes, headers: Optional[Mapping[str, str]] = None) -> MoxxyError:
    """Reads an error answer: the API envelope, the HTTP channel's ``{"error", "message"}`` body, or anything else."""
    code, message, details = f"HTTP_{status}", body.decode("utf-8", "replace").strip() or f"HTTP {status}", {}
    try:
        parsed = json.loads(body.decode("utf-8")) if body else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        error = parsed.get("error")
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            code = error["code"]
            message = str(error.get("message", code))
            details = error.get("details") if isinstance(error.get("details"), dict) else {}
        elif isinstance(error, str):
            code = error.upper()
            message = str(parsed.get("message", error))
            details = {k: v for k, v in parsed.items() if k not in ("error", "message")}
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else MoxxyError)
    return cls(code, status, message, details, headers)
