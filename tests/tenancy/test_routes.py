"""URLs resolved by their first segment (apps.web.routes.by_first_segment) resolve as
Django's own in-order resolving would: every named URL, and what matches nothing."""

import pytest
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.converters import IntConverter

from apps.web.routes import by_first_segment


def _named_urls(patterns, namespace=""):
    """(view name, kwargs to reverse it with) of every named pattern below ``patterns``."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _named_urls(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}", _sample_kwargs(pattern)


def _sample_kwargs(pattern: URLPattern) -> dict:
    converters = getattr(pattern.pattern, "converters", {})
    if converters:
        return {
            name: 7 if isinstance(converter, IntConverter) else "x-7"
            for name, converter in converters.items()
        }
    return {name: "7" for name in pattern.pattern.regex.groupindex}


# Django's admin keeps its own layout (and app labels no sample value fits).
NAMED = sorted(
    (name, kwargs)
    for name, kwargs in dict(_named_urls(get_resolver().url_patterns)).items()
    if not name.startswith("admin:")
)


def test_every_named_url_of_the_site_is_found():
    names = [name for name, _ in NAMED]
    # The API's routers and the apps' pages are behind segment resolvers.
    assert {"api-actions-decision", "api-feedback-list", "api-insights-stream"} <= set(names)
    assert {"approvals:decide", "feedback:rate", "insights:account"} <= set(names)


@pytest.mark.parametrize(("name", "kwargs"), NAMED, ids=[name for name, _ in NAMED])
def test_a_named_url_resolves_to_its_own_view(name, kwargs):
    url = reverse(name, kwargs=kwargs)
    assert resolve(url).view_name == name, url


def test_a_segment_tries_its_own_patterns_in_order_before_a_broader_one():
    # The stream's own path comes before the router's detail route, whose id would take it.
    assert resolve("/api/v1/insights/stream/").view_name == "api-insights-stream"
    assert resolve("/api/v1/insights/7/").view_name == "api-insights-detail"
    # One app (insights) has pages under two segments: each finds its own.
    assert resolve("/accounts/7/").view_name == "insights:account"
    assert resolve("/insights/7/").view_name == "insights:detail"


@pytest.mark.parametrize(
    "url", ["/api/v1/nothing/", "/api/v1/", "/nothing/7/", "/approvalsx/", "/api/v1/actions"]
)
def test_a_url_no_pattern_matches_is_not_found(url):
    with pytest.raises(Resolver404):
        resolve(url)


def test_a_pattern_without_a_literal_first_segment_is_tried_for_every_url():
    from django.urls import path

    def any_slug(request, slug):  # pragma: no cover - resolved, not called
        return None

    def listing(request):  # pragma: no cover
        return None

    resolver = by_first_segment(
        "", [path("things/", listing, name="things"), path("<slug:slug>/", any_slug, name="any")]
    )
    assert resolver.resolve("things/").url_name == "things"
    assert resolver.resolve("other/").url_name == "any"
    assert resolver.resolve("other/").kwargs == {"slug": "other"}
