from __future__ import annotations

from django import forms

from apps.feedback.models import LearningCategory
from apps.outcomes.models import OutcomeStatus

INLINE_CHOICES = [(-1, "−1"), (0, "0"), (1, "+1")]
FIVE = [(n, str(n)) for n in range(1, 6)]
TEN = [(n, str(n)) for n in range(1, 11)]


class InlineRatingForm(forms.Form):
    rating = forms.TypedChoiceField(
        choices=INLINE_CHOICES,
        coerce=int,
        error_messages={"invalid_choice": "Choose −1, 0 or +1."},
    )


def _optional_scale(label: str, choices: list, help_text: str = "") -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=[("", "—"), *choices],
        coerce=int,
        empty_value=None,
        required=False,
        help_text=help_text,
    )


class DetailedFeedbackForm(forms.Form):
    """The detailed (dashboard) rating: 1–5 with comment and optional dimensions."""

    rating = forms.TypedChoiceField(
        label="Overall rating",
        choices=FIVE,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose an overall rating from 1 to 5.",
            "invalid_choice": "The overall rating must be between 1 and 5.",
        },
    )
    comment = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    usefulness = _optional_scale("Usefulness", FIVE)
    quality = _optional_scale("Quality", FIVE)
    clarity = _optional_scale("Clarity", FIVE)
    likelihood_to_reuse = _optional_scale("Reuse (1–10)", TEN, "likelihood: 1 never · 10 as is")
    would_recommend = forms.NullBooleanField(
        label="Would recommend this output to a colleague",
        required=False,
        widget=forms.NullBooleanSelect,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["would_recommend"].widget.choices = [
            ("unknown", "—"),
            ("true", "Yes"),
            ("false", "No"),
        ]


class ReviewFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *OutcomeStatus.choices])
    action_type = forms.ChoiceField(required=False, choices=[("", "Any action")])
    rated = forms.ChoiceField(
        required=False,
        choices=[("", "All"), ("unrated", "Not rated by me"), ("rated", "Rated by me")],
        label="Rated",
    )
    page = forms.IntegerField(required=False, min_value=1)

    def __init__(self, *args, action_types: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action_type"].choices = [("", "Any action"), *action_types]


class SummaryFilterForm(forms.Form):
    days = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=30,
        choices=[
            (7, "Last 7 days"),
            (30, "Last 30 days"),
            (90, "Last 90 days"),
            (365, "Last year"),
        ],
        label="Period",
        initial=30,  # what an unfiltered page shows: the menu must say so
    )


class LearningFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False,
        choices=[("active", "Active"), ("inactive", "Inactive"), ("all", "All")],
    )
    category = forms.ChoiceField(
        required=False, choices=[("", "Any category"), *LearningCategory.choices]
    )
    action_type = forms.ChoiceField(required=False, choices=[("", "Any action")])

    def __init__(self, *args, action_types: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action_type"].choices = [("", "Any action"), *action_types]


class LearningActiveForm(forms.Form):
    is_active = forms.TypedChoiceField(
        choices=[("1", "Active"), ("0", "Inactive")], coerce=lambda value: value == "1"
    )


class ExportForm(forms.Form):
    format = forms.ChoiceField(choices=[("csv", "CSV"), ("jsonl", "JSON Lines")])
    days = forms.IntegerField(required=False, min_value=1, max_value=3650)
    action_type = forms.CharField(required=False, max_length=50)
    kind = forms.ChoiceField(
        required=False, choices=[("", "Both"), ("inline", "Inline"), ("dashboard", "Detailed")]
    )
