from django.urls import path

from apps.feedback import email_views, views

app_name = "feedback"

urlpatterns = [
    path("feedback/review/", views.review, name="review"),
    path("feedback/outcomes/<int:pk>/", views.outcome_detail, name="outcome"),
    path("feedback/outcomes/<int:pk>/rate/", views.rate, name="rate"),
    path("feedback/rate/<str:token>/", email_views.email_rate, name="email-rate"),
    path("feedback/summary/", views.summary, name="summary"),
    path("feedback/export/", views.export, name="export"),
    path("feedback/learnings/", views.learnings, name="learnings"),
    path("feedback/learnings/new/", views.learning_new, name="learning-new"),
    path("feedback/learnings/<int:pk>/", views.learning_detail, name="learning"),
    path("feedback/learnings/<int:pk>/active/", views.learning_active, name="learning-active"),
    path("feedback/learnings/<int:pk>/keep/", views.learning_keep_view, name="learning-keep"),
]
