"""An app's pages under one URL prefix, written as a table of route → view.

``urlpatterns = pages("approvals/", {"": views.queue, "<int:pk>/": views.detail})`` is
``path("approvals/", views.queue, name="queue")`` and so on: a page's URL name is its view's
own name, or the second of a ``(view, name)`` pair where the two differ.
"""

from __future__ import annotations

from collections.abc import Callable

from django.urls import URLPattern, path

View = Callable[..., object]


def pages(prefix: str, table: dict[str, View | tuple[View, str]]) -> list[URLPattern]:
    """The URL patterns of ``table`` below ``prefix``, tried in the table's order."""
    patterns = []
    for route, entry in table.items():
        view, name = entry if isinstance(entry, tuple) else (entry, entry.__name__)
        patterns.append(path(prefix + route, view, name=name))
    return patterns
