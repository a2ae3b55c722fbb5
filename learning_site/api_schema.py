"""OpenAPI schema additions shared by every app's API.

Imported by drf-spectacular through ``PREPROCESSING_HOOKS`` before it inspects any view,
which registers the bearer-key security scheme below.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """``Authorization: Bearer <key>`` (see ``apps.users.authentication``)."""

    target_class = "apps.users.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An agent key or a personal key: `Authorization: Bearer ll_…`.",
        }


def preprocess_endpoints(endpoints):
    """Every endpoint as discovered; the hook exists so this module is imported in time."""
    return endpoints
