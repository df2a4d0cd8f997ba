"""HTTP for the generated client, with urllib only: credentials, query strings, JSON bodies, the envelope and errors."""
from __future__ import annotations

import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Mapping, Optional, Sequence

from ._serde import decode, encode
from .errors import MoxxyConnectionError, MoxxyTimeoutError, error_from_response
from .sse import EventStream

DEFAULT_BASE_URL = "http://127.0.0.1:17890"


def csv(value: Optional[Sequence[Any]]) -> Optional[str]:
    """A list query parameter sent comma-separated (OpenAPI ``style: form, explode: false``)."""
    if value is None or isinstance(value, str):
        return value
    return ",".join(_query_text(v) for v in value)


def body_of(fields: Mapping[str, Any], required: Sequence[str] = ()) -> Dict[str, Any]:
    """A JSON body from keyword arguments: optional ones left as None are not sent."""
    return {k: encode(v) for k, v in fields.items() if v is not None or k in required}


def _query_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Transport:
    """Sends one request and reads its answer; shared by every operation namespace of a client."""

    def __init__(
        self,
        base_url: str,
        token: Optional[str],
        internal_token: Optional[str],
        timeout: float,
        headers: Optional[Mapping[str, str]],
        user_agent: str,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.headers: Dict[str, str] = {"User-Agent": user_agent, "Accept": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        if internal_token:
            self.headers["X-Moxxy-Internal-Token"] = internal_token
        self.headers.update(headers or {})

    def call(
        self,
        method: str,
        path: str,
        *,
        kind: str,
        result: Any = Any,
        path_params: Optional[Mapping[str, Any]] = None,
        query: Optional[Mapping[str, Any]] = None,
        headers: Optional[Mapping[str, Optional[str]]] = None,
        json_body: Any = None,
        content: Optional[bytes] = None,
        content_type: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> Any:
        """``kind`` says how to read a success: envelope (unwrap ``data``), json, sse, text, bytes or empty."""
        url = self.base_url + _fill_path(path, path_params or {}) + _query_string(query or {})
        request_headers = dict(self.headers)
        if kind == "sse":
            request_headers["Accept"] = "text/event-stream"
        elif kind in ("text", "bytes"):
            request_headers["Accept"] = "*/*"
        for name, value in (headers or {}).items():
            if value is not None:
                request_headers[name] = value
        data: Optional[bytes] = None
        if json_body is not None:
            data = json.dumps(encode(json_body), ensure_ascii=False).encode("utf-8")
            request_headers["Content-Type"] = "application/json"
        elif content is not None:
            data = content
            request_headers["Content-Type"] = content_type or "application/octet-stream"
        elif method in ("POST", "PUT", "PATCH"):
            data = b""
        response = self._open(urllib.request.Request(url, data=data, method=method, headers=request_headers), timeout)
        if kind == "sse":
            return EventStream(response, lambda value: decode(value, result), response.status)
        with response:
            body = self._read(response)
        if kind == "empty" or (not body and kind != "text" and kind != "bytes"):
            return None
        if kind == "bytes":
            return body
        if kind == "text":
            return body.decode("utf-8", "replace")
        parsed = json.loads(body.decode("utf-8"))
        if kind == "envelope" and isinstance(parsed, dict) and parsed.get("success") is True:
            parsed = parsed.get("data")
        return decode(parsed, result)

    def _open(self, request: urllib.request.Request, timeout: Optional[float]) -> Any:
        try:
            return urllib.request.urlopen(request, timeout=self.timeout if timeout is None else timeout)
        except urllib.error.HTTPError as error:
            body = error.read()
            error.close()
            raise error_from_response(error.code, body, dict(error.headers.items())) from None
        except socket.timeout as error:
            raise MoxxyTimeoutError("TIMEOUT", 0, f"No answer from {request.full_url} within the timeout") from error
        except urllib.error.URLError as error:
            if isinstance(error.reason, socket.timeout):
                raise MoxxyTimeoutError("TIMEOUT", 0, f"No answer from {request.full_url} within the timeout") from error
            raise MoxxyConnectionError("CONNECTION_ERROR", 0, f"Cannot reach {request.full_url}: {error.reason}") from error

    def _read(self, response: Any) -> bytes:
        try:
            return response.read()
        except socket.timeout as error:
            raise MoxxyTimeoutError("TIMEOUT", 0, "The answer did not arrive within the timeout") from error


def _fill_path(path: str, params: Mapping[str, Any]) -> str:
    for name, value in params.items():
        if value is None:
            raise ValueError(f"path parameter {name!r} is required")
        path = path.replace("{" + name + "}", urllib.parse.quote(_query_text(value), safe=""))
    return path


def _query_string(query: Mapping[str, Any]) -> str:
    pairs = []
    for name, value in query.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            pairs.extend((name, _query_text(v)) for v in value)
        else:
            pairs.append((name, _query_text(value)))
    return "?" + urllib.parse.urlencode(pairs) if pairs else ""
