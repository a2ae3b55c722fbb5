from django.urls import path

from apps.goals import views

urlpatterns = [
    path("goals/<int:goal_id>/", views.detail, name="detail"),
]
