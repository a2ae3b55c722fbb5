"""Forms of the reviews pages. Rules live in the services; forms only parse input."""

from __future__ import annotations

from django import forms

from apps.outcomes.models import ActionType, OutcomeStatus
from apps.reviews.models import Origin, ReviewQueue, Rubric, RubricKind
from apps.users.models import User
from apps.users.roles import Role


class RubricForm(forms.Form):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=RubricKind.choices, label="Type")
    description = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown to reviewers beside the score.",
    )
    min_value = forms.FloatField(required=False, label="Minimum (numeric)")
    max_value = forms.FloatField(required=False, label="Maximum (numeric)")
    step = forms.FloatField(required=False, label="Step (numeric)")
    labels = forms.CharField(
        required=False,
        label="Labels (categorical)",
        help_text="One per line, in the order reviewers see them.",
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Active")

    def clean_labels(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["labels"].splitlines() if line.strip()]


def _percent(value: int) -> str:
    return f"{value / 100:g}"


class QueueForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    rubrics = forms.ModelMultipleChoiceField(
        queryset=Rubric.objects.filter(is_active=True),
        widget=forms.CheckboxSelectMultiple,
        help_text="What reviewers score.",
    )
    action_types = forms.ModelMultipleChoiceField(
        queryset=ActionType.objects.order_by("code"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every action type.",
    )
    clones = forms.ModelMultipleChoiceField(
        queryset=ReviewQueue.clones.field.related_model.objects.order_by("name"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
        help_text="None selected: every clone.",
    )
    min_confidence = forms.FloatField(required=False, min_value=0, max_value=1)
    max_confidence = forms.FloatField(required=False, min_value=0, max_value=1)
    outcome_status = forms.ChoiceField(
        choices=[("", "Any status")] + list(OutcomeStatus.choices),
        required=False,
        help_text="E.g. every expired outcome.",
    )
    origin = forms.ChoiceField(
        choices=[("", "Any origin")] + list(Origin.choices),
        required=False,
        help_text="Autonomous: actions the agent took without a proposal.",
    )
    sample_percent = forms.DecimalField(
        min_value=0,
        max_value=100,
        decimal_places=2,
        initial=100,
        label="Sampling rate (%)",
        help_text="The share of matching outputs that enter, e.g. 10.",
    )
    reviewers = forms.ModelMultipleChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("username"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 5}),
    )
    reviewer_roles = forms.MultipleChoiceField(
        choices=[(Role.REP, "Every rep"), (Role.MANAGER, "Every manager")],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    reviews_needed = forms.TypedChoiceField(
        choices=[(1, "1"), (2, "2"), (3, "3")], coerce=int, initial=1, label="Reviews per item"
    )
    disagreement_threshold = forms.FloatField(
        min_value=0,
        max_value=1,
        initial=0.25,
        help_text="Reviewers further apart than this share of the scale go to you to settle.",
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action_types"].label_from_instance = lambda action: action.name
        self.fields["clones"].label_from_instance = lambda clone: clone.name
        self.fields["reviewers"].label_from_instance = lambda user: (
            f"{user.get_full_name() or user.username} ({user.username})"
        )

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        data["sample_rate_bp"] = round(float(data.pop("sample_percent")) * 100)
        return data

    @classmethod
    def initial_for(cls, queue: ReviewQueue) -> dict:
        return {
            "name": queue.name,
            "description": queue.description,
            "rubrics": list(queue.rubrics.all()),
            "action_types": list(queue.action_types.all()),
            "clones": list(queue.clones.all()),
            "min_confidence": queue.min_confidence,
            "max_confidence": queue.max_confidence,
            "outcome_status": queue.outcome_status,
            "origin": queue.origin,
            "sample_percent": _percent(queue.sample_rate_bp),
            "reviewers": list(queue.reviewers.all()),
            "reviewer_roles": queue.reviewer_roles,
            "reviews_needed": queue.reviews_needed,
            "disagreement_threshold": queue.disagreement_threshold,
            "is_active": queue.is_active,
        }


class CorrectionForm(forms.Form):
    correction = forms.CharField(
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 10}),
        label="What the agent should have written",
    )


class ExportForm(forms.Form):
    file = forms.ChoiceField(choices=[("jsonl", "JSON Lines"), ("csv", "CSV")], label="Format")
    queue = forms.ModelChoiceField(
        queryset=ReviewQueue.objects.order_by("name"), required=False, empty_label="All queues"
    )
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    action_type = forms.ChoiceField(required=False)
    clone = forms.ChoiceField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action_type"].choices = [("", "All action types")] + list(
            ActionType.objects.order_by("code").values_list("code", "name")
        )
        clones = ReviewQueue.clones.field.related_model.objects.order_by("name")
        self.fields["clone"].choices = [("", "All clones")] + list(
            clones.values_list("external_id", "name")
        )
