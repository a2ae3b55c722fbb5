from django.db import models


class SimulationReport(models.Model):
    """The result of one ``simulate`` run in this organisation: per simulated week, the
    loop-on and control rates with the lift's interval over seeds, the traits the learnings
    found against the planted truth, and the targets with pass or fail (``report.summarise``
    says the shape). The managers' simulation page shows the latest one."""

    summary = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Simulation of {self.created_at:%Y-%m-%d %H:%M}"
