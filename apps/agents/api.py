"""Serializer fields for the agent entities (no endpoints: clones are edited on personas)."""

from __future__ import annotations

from apps.agents.models import Clone
from apps.web.api_fields import ModelRef


class CloneRef(ModelRef):
    """A clone referenced by the agent's external id (``"clone": "clone-7"``)."""

    model = Clone
