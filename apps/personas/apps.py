from django.apps import AppConfig


class PersonasConfig(AppConfig):
    name = "apps.personas"
    label = "personas"
