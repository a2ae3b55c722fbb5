from __future__ import annotations

from django import forms

from apps.dashboards.periods import BUCKET_PERIODS, DEFAULT_PERIOD, PERIOD_DAYS, PERIOD_LABELS
from apps.dashboards.selectors import TREND_METRICS

PERIOD_CHOICES = [(code, PERIOD_LABELS[code]) for code in PERIOD_DAYS]


class DashboardForm(forms.Form):
    """The query string of a dashboard: date range, fresh numbers, and (rep page) whose."""

    period = forms.ChoiceField(choices=PERIOD_CHOICES, required=False)
    refresh = forms.BooleanField(required=False)
    rep = forms.CharField(max_length=150, required=False)

    def clean_period(self) -> str:
        return self.cleaned_data["period"] or DEFAULT_PERIOD


class TrendForm(forms.Form):
    """``period`` is a range (30d, 90d, 365d) or the bucket wanted (day, week, month)."""

    metric = forms.ChoiceField(choices=list(TREND_METRICS.items()))
    period = forms.ChoiceField(
        choices=PERIOD_CHOICES + [(bucket, f"per {bucket}") for bucket in BUCKET_PERIODS],
        required=False,
    )
    refresh = forms.BooleanField(required=False)
    rep = forms.CharField(max_length=150, required=False)

    def clean_period(self) -> str:
        period = self.cleaned_data["period"] or DEFAULT_PERIOD
        return BUCKET_PERIODS.get(period, period)
