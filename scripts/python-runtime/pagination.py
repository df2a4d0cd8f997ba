"""Walks a paginated list operation (``limit``/``offset`` in, ``pagination.next_offset`` out) page by page."""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterator, List


def pages(operation: Callable[..., Any], **kwargs: Any) -> Iterator[Any]:
    """Yields each page of ``operation`` (e.g. ``client.agents.list``), from ``offset`` (default 0) to the last."""
    offset = kwargs.pop("offset", None) or 0
    while True:
        page = operation(offset=offset, **kwargs)
        yield page
        pagination = getattr(page, "pagination", None)
        next_offset = getattr(pagination, "next_offset", None)
        if next_offset is None or next_offset <= offset:
            return
        offset = next_offset


def items(operation: Callable[..., Any], **kwargs: Any) -> Iterator[Any]:
    """Yields every item of every page: the page's one list field (``agents``, ``memories``...)."""
    for page in pages(operation, **kwargs):
        yield from _page_items(page)


def _page_items(page: Any) -> List[Any]:
    for f in dataclasses.fields(page):
        value = getattr(page, f.name)
        if f.name != "pagination" and isinstance(value, list):
            return value
    return []
