import logging
import re

from django.apps import AppConfig

LINK_TOKEN = re.compile(r"(/approvals/email/)[^/\s'\"]+")


class RedactDecisionLinks(logging.Filter):
    """An email decision link is a credential while its action is pending: request logs
    (4xx warnings name the path) get ``/approvals/email/[link]/`` instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/approvals/email/" in message:
            record.msg, record.args = LINK_TOKEN.sub(r"\1[link]", message), ()
        return True


class ApprovalsConfig(AppConfig):
    name = "apps.approvals"
    label = "approvals"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from apps.approvals.models import ApprovalSettings
        from apps.approvals.selectors import webhook_urls

        for name in ("django.request", "django.server"):
            logging.getLogger(name).addFilter(RedactDecisionLinks())
        # A webhook set, changed or removed: no cached URL outlives it.
        post_save.connect(webhook_urls.clear_now_and_on_commit, sender=ApprovalSettings, weak=False)
        post_delete.connect(
            webhook_urls.clear_now_and_on_commit, sender=ApprovalSettings, weak=False
        )
