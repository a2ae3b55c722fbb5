from django.urls import path

from apps.feedback import views

app_name = "feedback"

urlpatterns = [
    path("feedback/review/", views.review, name="review"),
    path("feedback/outcomes/<int:pk>/", views.outcome_detail, name="outcome"),
    path("feedback/outcomes/<int:pk>/rate/", views.rate, name="rate"),
    path("feedback/summary/", views.summary, name="summary"),
    path("feedback/export/", views.export, name="export"),
    path("feedback/learnings/", views.learnings, name="learnings"),
    path("feedback/learnings/<int:pk>/active/", views.learning_active, name="learning-active"),
]
