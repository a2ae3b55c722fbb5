from __future__ import annotations

from django import forms

from apps.dashboards.periods import DEFAULT_PERIOD, PERIOD_DAYS, PERIOD_LABELS
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
    metric = forms.ChoiceField(choices=list(TREND_METRICS.items()))
    period = forms.ChoiceField(choices=PERIOD_CHOICES, required=False)
    refresh = forms.BooleanField(required=False)
    rep = forms.CharField(max_length=150, required=False)

    def clean_period(self) -> str:
        return self.cleaned_data["period"] or DEFAULT_PERIOD
