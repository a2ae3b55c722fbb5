from apps.feedback import email_views, views
from apps.web.routes import pages

urlpatterns = pages(
    "feedback/",
    {
        "review/": views.review,
        "outcomes/<int:pk>/": (views.outcome_detail, "outcome"),
        "outcomes/<int:pk>/rate/": views.rate,
        "rate/<str:token>/": (email_views.email_rate, "email-rate"),
        "summary/": views.summary,
        "export/": views.export,
        "learnings/": views.learnings,
        "learnings/new/": (views.learning_new, "learning-new"),
        "learnings/<int:pk>/": (views.learning_detail, "learning"),
        "learnings/<int:pk>/active/": (views.learning_active, "learning-active"),
        "learnings/<int:pk>/keep/": (views.learning_keep_view, "learning-keep"),
    },
)
