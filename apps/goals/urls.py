from apps.goals import views
from apps.web.routes import pages

urlpatterns = pages("goals/", {"<int:goal_id>/": views.detail})
