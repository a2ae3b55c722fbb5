from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "apps.users"
    label = "users"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from apps.users.models import ApiKey, User
        from apps.users.services import keys_by_hash

        # A revoked key, a deactivated person or a changed role: no cached key outlives it.
        for model in (ApiKey, User):
            post_save.connect(keys_by_hash.clear_now_and_on_commit, sender=model, weak=False)
            post_delete.connect(keys_by_hash.clear_now_and_on_commit, sender=model, weak=False)
