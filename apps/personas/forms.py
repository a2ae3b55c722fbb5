"""The persona form: four sliders, a region and custom instructions."""

from __future__ import annotations

from django import forms

from apps.agents.models import SLIDERS, RegionProfile
from apps.personas.rendering import SLIDER_LABELS, PersonaSettings
from apps.personas.services import CUSTOM_INSTRUCTIONS_MAX


class PersonaForm(forms.Form):
    formal_casual = forms.IntegerField(min_value=0, max_value=100)
    concise_detailed = forms.IntegerField(min_value=0, max_value=100)
    technical_business = forms.IntegerField(min_value=0, max_value=100)
    proactive_reactive = forms.IntegerField(min_value=0, max_value=100)
    region = forms.ModelChoiceField(
        queryset=RegionProfile.objects.all(), required=False, empty_label="No region"
    )
    custom_instructions = forms.CharField(
        required=False,
        max_length=CUSTOM_INSTRUCTIONS_MAX,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": CUSTOM_INSTRUCTIONS_MAX}),
    )

    @classmethod
    def for_clone(cls, clone, data=None) -> PersonaForm:
        initial = {slider: getattr(clone, slider) for slider in SLIDERS}
        initial.update(region=clone.region_id, custom_instructions=clone.custom_instructions)
        return cls(data=data, initial=initial)

    def slider_rows(self) -> list[dict]:
        """What the template needs per slider: the field, both end labels, the value."""
        rows = []
        for slider in SLIDERS:
            left, right = SLIDER_LABELS[slider]
            bound = self[slider]
            value = bound.value()
            rows.append(
                {"field": bound, "left": left, "right": right, "value": value, "name": slider}
            )
        return rows

    def settings(self) -> PersonaSettings:
        data = self.cleaned_data
        return PersonaSettings(
            **{slider: data[slider] for slider in SLIDERS},
            region=data["region"],
            custom_instructions=data["custom_instructions"],
        )
