app_name = "goals"

urlpatterns: list = []
