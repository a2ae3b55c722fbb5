from django.urls import path

from apps.goals import views

app_name = "goals"

urlpatterns = [
    path("goals/<int:goal_id>/", views.detail, name="detail"),
]
