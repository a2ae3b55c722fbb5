from django.urls import path

from apps.outcomes import views

urlpatterns = [
    path("outcomes/", views.outcome_list, name="list"),
    path("outcomes/calibration/", views.calibration, name="calibration"),
    path("outcomes/<int:pk>/", views.outcome_detail, name="detail"),
]
