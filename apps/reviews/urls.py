from apps.reviews import views
from apps.web.routes import pages

urlpatterns = pages(
    "reviews/",
    {
        "": views.queues,
        "queues/new/": (views.queue_edit, "queue-new"),
        "queues/<int:pk>/": (views.queue_detail, "queue"),
        "queues/<int:pk>/edit/": (views.queue_edit, "queue-edit"),
        "queues/<int:pk>/review/": views.review,
        "queues/<int:pk>/items/<int:item_pk>/": (views.review_item, "review-item"),
        "items/<int:item_pk>/settle/": views.settle,
        "rubrics/": views.rubrics,
        "rubrics/<int:pk>/": (views.rubrics, "rubric"),
        "outcomes/<int:pk>/correct/": views.correct,
        "export/": views.export,
    },
)
