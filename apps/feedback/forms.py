from __future__ import annotations

from django import forms

from apps.feedback.models import (
    AspectPolarity,
    ErrorCategory,
    FeedbackAspect,
    LearningCategory,
)
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


def _aspects(label: str) -> forms.MultipleChoiceField:
    """Tick boxes of aspect codes; the form fills the choices from the stored aspects."""
    return forms.MultipleChoiceField(
        label=label, required=False, widget=forms.CheckboxSelectMultiple
    )


def _notes(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
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

    positive_aspects = _aspects("What was good")
    positive_notes = _notes("Good, in your words")
    negative_aspects = _aspects("What was poor")
    negative_notes = _notes("Poor, in your words")
    feature_requests = forms.CharField(
        label="Feature requests",
        required=False,
        max_length=3000,
        help_text="One per line, at most 10.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    error_category = forms.ChoiceField(
        label="Did something go wrong?",
        required=False,
        choices=[("", "No"), *ErrorCategory.choices],
    )
    error_details = forms.CharField(
        label="What went wrong",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, aspects: list[FeedbackAspect] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["would_recommend"].widget.choices = [
            ("unknown", "—"),
            ("true", "Yes"),
            ("false", "No"),
        ]
        for polarity, field in (
            (AspectPolarity.POSITIVE, "positive_aspects"),
            (AspectPolarity.NEGATIVE, "negative_aspects"),
        ):
            self.fields[field].choices = [
                (a.code, a.label) for a in aspects if a.polarity == polarity
            ]

    def clean_feature_requests(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["feature_requests"].splitlines()]
        requests = [line for line in lines if line]
        if len(requests) > 10:
            raise forms.ValidationError("At most 10 feature requests, one per line.")
        if any(len(line) > 300 for line in requests):
            raise forms.ValidationError("Keep each feature request under 300 characters.")
        return requests


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


class LearningCreateForm(forms.Form):
    """A manager's own learning: what the agent should do, and when it applies."""

    title = forms.CharField(max_length=200, error_messages={"required": "Give it a title."})
    guidance = forms.CharField(
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What the agent should do, in a sentence or two.",
        error_messages={"required": "Say what the agent should do."},
    )
    category = forms.ChoiceField(choices=LearningCategory.choices, initial="general")
    action_type = forms.ChoiceField(required=False, choices=[("", "Any action")])
    relevance_score = forms.FloatField(
        label="Relevance (0–1)", min_value=0, max_value=1, initial=0.5
    )

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
