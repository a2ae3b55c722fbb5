from __future__ import annotations

from django import forms

from apps.insights.models import AlertChannel, DismissReason, InsightStatus, PatternType, Severity


def _with_any(choices, label: str = "Any") -> list[tuple[str, str]]:
    return [("", label), *choices]


class InboxFilterForm(forms.Form):
    """The inbox filters; the account list holds only accounts the user can see."""

    type = forms.ChoiceField(choices=_with_any(PatternType.choices), required=False)
    severity = forms.ChoiceField(choices=_with_any(Severity.choices), required=False)
    status = forms.ChoiceField(
        choices=[*InsightStatus.choices, ("all", "All")], required=False, initial="pending"
    )
    # An id, not a choice list: the page offers the accounts with open insights, and the
    # insights queryset is already limited to what the user may see.
    account = forms.IntegerField(required=False, min_value=1)

    def apply(self, insights):
        data = self.cleaned_data
        status = data.get("status") or "pending"
        if status != "all":
            insights = insights.filter(status=status)
        if data.get("severity"):
            insights = insights.filter(severity=data["severity"])
        return self.narrow(insights)

    def narrow(self, insights):
        """The type and account filters alone: the scope the severity cards count in."""
        data = self.cleaned_data
        if data.get("type"):
            insights = insights.filter(pattern_type=data["type"])
        if data.get("account"):
            insights = insights.filter(account_id=data["account"])
        return insights


class ActForm(forms.Form):
    note = forms.CharField(required=False, max_length=2000)


class DismissForm(forms.Form):
    reason = forms.ChoiceField(choices=DismissReason.choices)
    note = forms.CharField(required=False, max_length=2000)


class BulkDismissForm(forms.Form):
    ids = forms.ModelMultipleChoiceField(
        queryset=None, error_messages={"required": "Select at least one insight."}
    )
    reason = forms.ChoiceField(choices=DismissReason.choices)

    def __init__(self, *args, insights, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ids"].queryset = insights


class FeedbackForm(forms.Form):
    useful = forms.TypedChoiceField(
        choices=[("yes", "Useful"), ("no", "Not useful")], coerce=lambda value: value == "yes"
    )
    comment = forms.CharField(required=False, max_length=2000, widget=forms.Textarea)


class AlertPreferencesForm(forms.Form):
    """One radio group per severity, most severe first: how the person hears of it."""

    def __init__(self, *args, current: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        for severity in reversed(Severity.values):
            self.fields[severity] = forms.ChoiceField(
                label=Severity(severity).label,
                choices=AlertChannel.choices,
                initial=current[severity],
                widget=forms.RadioSelect,
            )
