import factory
from django.utils import timezone

from apps.insights.models import AlertFeedback, Insight
from tests.factories.crm import AccountFactory


class InsightFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Insight

    account = factory.SubFactory(AccountFactory)
    pattern_type = "risk_indicator"
    signal = "negative_sentiment_streak"
    title = factory.Sequence(lambda n: f"3 negative interactions in a row (#{n})")
    confidence = 0.8
    severity = "high"
    evidence = factory.LazyFunction(lambda: {"streak_length": 3})
    detected_at = factory.LazyFunction(timezone.now)


class AlertFeedbackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AlertFeedback

    insight = factory.SubFactory(InsightFactory)
    useful = True
    comment = ""
