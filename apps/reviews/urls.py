from django.urls import path

from apps.reviews import views

app_name = "reviews"

urlpatterns = [
    path("reviews/", views.queues, name="queues"),
    path("reviews/queues/new/", views.queue_edit, name="queue-new"),
    path("reviews/queues/<int:pk>/", views.queue_detail, name="queue"),
    path("reviews/queues/<int:pk>/edit/", views.queue_edit, name="queue-edit"),
    path("reviews/queues/<int:pk>/review/", views.review, name="review"),
    path("reviews/queues/<int:pk>/items/<int:item_pk>/", views.review_item, name="review-item"),
    path("reviews/items/<int:item_pk>/settle/", views.settle, name="settle"),
    path("reviews/rubrics/", views.rubrics, name="rubrics"),
    path("reviews/rubrics/<int:pk>/", views.rubrics, name="rubric"),
    path("reviews/outcomes/<int:pk>/correct/", views.correct, name="correct"),
    path("reviews/export/", views.export, name="export"),
]
