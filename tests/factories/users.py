import factory

from apps.users.models import User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    role = "rep"
    password = factory.django.Password("pw-for-tests")
    is_staff = factory.LazyAttribute(lambda u: u.role == "admin")
    is_superuser = factory.LazyAttribute(lambda u: u.role == "admin")
