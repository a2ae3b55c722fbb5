from apps.simulator import views
from apps.web.routes import pages

urlpatterns = pages("simulator/", {"": views.report})
