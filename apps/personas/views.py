"""Persona pages: the clone list and the persona editor with live preview and history."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Max, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.agents.models import SLIDERS
from apps.personas.forms import PersonaForm
from apps.personas.rendering import PersonaSettings, instruction_text, sample_chat, sample_email
from apps.personas.selectors import (
    clone_can_edit,
    clone_current_version,
    clone_get_for,
    clones_visible_to,
    persona_history,
)
from apps.personas.services import persona_revert, persona_update
from apps.users.permissions import capability_required


@require_GET
@capability_required("personas.read")
def clone_list(request):
    clones = clones_visible_to(request.user).annotate(
        version=Coalesce(Max("versions__number"), Value(1)),
        version_saved_at=Max("versions__created_at"),
    )
    return render(request, "personas/list.html", {"clones": clones})


def _preview(clone, settings: PersonaSettings) -> dict:
    owner = clone.owner.get_full_name() or clone.owner.username
    return {
        "email": sample_email(settings, sender=clone.owner.first_name or owner),
        "chat": sample_chat(settings),
        "instructions": instruction_text(settings, clone_name=clone.name, owner_name=owner),
    }


def _page(request, clone, form: PersonaForm, *, status: int = 200, preview_settings=None):
    context = {
        "clone": clone,
        "form": form,
        "can_edit": clone_can_edit(request.user, clone),
        "current_version": clone_current_version(clone),
        "history": persona_history(clone),
        "preview": _preview(clone, preview_settings or PersonaSettings.of(clone)),
        "is_draft": preview_settings is not None,
    }
    return render(request, "personas/detail.html", context, status=status)


@require_http_methods(["GET", "POST"])
@capability_required("personas.read")
def clone_detail(request, external_id: str):
    """The persona editor. POST saves the settings as a new version."""
    clone = clone_get_for(request.user, external_id, edit=request.method == "POST")
    if request.method == "GET":
        return _page(request, clone, PersonaForm.for_clone(clone))
    form = PersonaForm.for_clone(clone, data=request.POST)
    if not form.is_valid():
        return _page(request, clone, form, status=400)
    data = form.cleaned_data
    try:
        version, changed = persona_update(
            clone=clone,
            user=request.user,
            sliders={slider: data[slider] for slider in SLIDERS},
            region=data["region"],
            custom_instructions=data["custom_instructions"],
        )
    except ValidationError as error:
        for field, problems in error.message_dict.items():
            form.add_error(field if field in form.fields else None, problems)
        return _page(request, clone, form, status=400)
    if changed:
        messages.success(request, f"Saved as version {version.number}.")
    else:
        messages.info(request, "Nothing changed, so no new version was saved.")
    return redirect("personas:detail", external_id=clone.external_id)


@require_GET
@capability_required("personas.read")
def clone_preview(request, external_id: str):
    """The sample email and chat for unsaved slider values.

    With HTMX it answers the preview fragment; without, the whole editor showing the draft.
    """
    clone = clone_get_for(request.user, external_id)
    form = PersonaForm.for_clone(clone, data=request.GET)
    if not form.is_valid():
        if request.htmx:
            context = {"form": form, "clone": clone}
            return render(request, "personas/detail.html#preview-errors", context, status=400)
        return _page(request, clone, form, status=400)
    settings = form.settings()
    if request.htmx:
        context = {"preview": _preview(clone, settings), "is_draft": True, "clone": clone}
        return render(request, "personas/detail.html#preview", context)
    return _page(request, clone, form, preview_settings=settings)


@require_POST
@capability_required("personas.read")
def clone_revert(request, external_id: str, number: int):
    """Bring back an old version's settings as a new version."""
    clone = clone_get_for(request.user, external_id, edit=True)
    version = get_object_or_404(clone.versions, number=number)
    new_version, changed = persona_revert(clone=clone, version=version, user=request.user)
    if not changed:
        messages.info(request, f"The settings of version {version.number} are already current.")
    else:
        messages.success(
            request,
            f"Reverted to version {version.number} (saved as version {new_version.number}).",
        )
    return redirect("personas:detail", external_id=clone.external_id)
