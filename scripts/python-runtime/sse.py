"""Server-Sent Events: a parser that follows the HTML standard, and the iterator the streaming operations return."""
from __future__ import annotations

import codecs
import json
import re
import socket
from dataclasses import dataclass
from typing import Any, Callable, Generic, Iterator, List, Optional, Tuple, TypeVar

from .errors import MoxxyConnectionError, MoxxyError, MoxxyTimeoutError

T = TypeVar("T")


@dataclass
class ServerSentEvent(Generic[T]):
    """One SSE message. ``value`` is ``data`` read as the operation's event model (None when data is not JSON, e.g. ``[DONE]``)."""

    data: str
    event: str = "message"
    id: Optional[str] = None
    retry: Optional[int] = None
    value: Optional[T] = None

    def json(self) -> Any:
        return json.loads(self.data)


class SSEDecoder:
    """Feeds text in, gets complete messages out. Handles CRLF/CR/LF line ends split across chunks,
    multi-line ``data``, comments, ``id`` (kept across messages, as the last event id) and ``retry``."""

    def __init__(self) -> None:
        self._buffer = ""
        self._pending_cr = False
        self._first = True
        self._data: List[str] = []
        self._event = ""
        self._retry: Optional[int] = None
        self.last_event_id: Optional[str] = None

    def feed(self, text: str) -> List[ServerSentEvent[Any]]:
        if self._first and text:
            self._first = False
            if text.startswith("\ufeff"):
                text = text[1:]
        if self._pending_cr and text.startswith("\n"):
            text = text[1:]
        self._pending_cr = False
        self._buffer += text
        messages: List[ServerSentEvent[Any]] = []
        while True:
            cut = _line_end(self._buffer)
            if cut is None:
                break
            index, width = cut
            line = self._buffer[:index]
            if width == 1 and self._buffer[index] == "\r" and index + 1 == len(self._buffer):
                self._pending_cr = True  # a CR at the end of the chunk may be the first half of CRLF
            self._buffer = self._buffer[index + width :]
            message = self._line(line)
            if message is not None:
                messages.append(message)
        return messages

    def _line(self, line: str) -> Optional[ServerSentEvent[Any]]:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self.last_event_id = value
        elif name == "retry":
            if value.isdigit():
                self._retry = int(value)
        return None

    def _dispatch(self) -> Optional[ServerSentEvent[Any]]:
        data, event, retry = self._data, self._event, self._retry
        self._data, self._event, self._retry = [], "", None
        if not data:
            return None
        return ServerSentEvent(data="\n".join(data), event=event or "message", id=self.last_event_id, retry=retry)


_LINE_END = re.compile(r"\r\n|\r|\n")


def _line_end(text: str) -> Optional[Tuple[int, int]]:
    match = _LINE_END.search(text)
    return None if match is None else (match.start(), match.end() - match.start())


class EventStream(Generic[T]):
    """Iterates over a streaming answer's messages as they arrive; use it in a ``with`` block or call ``close()``.

    ``last_event_id`` is the id of the last message read: pass it as ``last_event_id=`` to resume
    (operations that support resuming take that argument). A message with ``event: error`` and a JSON
    body holding ``code`` and ``message`` ends the stream by raising MoxxyError.
    """

    def __init__(self, response: Any, decode: Callable[[Any], T], status: int = 200) -> None:
        self._response = response
        self._decode = decode
        self._status = status
        self._decoder = SSEDecoder()
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._closed = False
        self._messages = self._read_messages()

    @property
    def last_event_id(self) -> Optional[str]:
        return self._decoder.last_event_id

    def __iter__(self) -> "EventStream[T]":
        return self

    def __next__(self) -> ServerSentEvent[T]:
        return next(self._messages)

    def _read_messages(self) -> Iterator[ServerSentEvent[T]]:
        try:
            while not self._closed:
                chunk = self._read()
                if not chunk:
                    break
                for message in self._decoder.feed(self._text.decode(chunk)):
                    yield self._typed(message)
            for message in self._decoder.feed(self._text.decode(b"", final=True)):
                yield self._typed(message)
        finally:
            self.close()

    def _read(self) -> bytes:
        try:
            return self._response.read1(65536)
        except socket.timeout as error:
            raise MoxxyTimeoutError("TIMEOUT", 0, "No stream data within the timeout") from error
        except (OSError, ValueError) as error:
            if self._closed:
                return b""
            raise MoxxyConnectionError("CONNECTION_ERROR", 0, f"The stream broke: {error}") from error

    def _typed(self, message: ServerSentEvent[Any]) -> ServerSentEvent[T]:
        try:
            parsed = json.loads(message.data)
        except ValueError:
            return message
        if message.event == "error" and isinstance(parsed, dict) and isinstance(parsed.get("code"), str):
            self.close()
            raise MoxxyError(parsed["code"], self._status, str(parsed.get("message", parsed["code"])), parsed)
        message.value = self._decode(parsed)
        return message

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._response.close()

    def __enter__(self) -> "EventStream[T]":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
