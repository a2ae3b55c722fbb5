from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "apps.insights"
    label = "insights"

    def ready(self) -> None:
        from apps.insights import email_rating  # noqa: F401  (registers the digest's links)
