"""Clone and RegionProfile move here from personas: state only, the tables stay.

The models keep their tables (``db_table`` personas_clone, personas_regionprofile), so no
row moves: the database operations are empty. Content types follow the models, so admin
history and permissions keep pointing at them.
"""

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


MOVED = ["clone", "regionprofile"]


def _content_types_to_agents(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="personas", model__in=MOVED).update(app_label="agents")


def _content_types_to_personas(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="agents", model__in=MOVED).update(app_label="personas")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('personas', '0003_seed_region_profiles'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='RegionProfile',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('code', models.SlugField(max_length=20, unique=True)),
                        ('name', models.CharField(max_length=100)),
                        ('greeting_style', models.CharField(default='Hi {first_name},', max_length=100)),
                        ('formality_baseline', models.PositiveSmallIntegerField(default=50, validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(100)])),
                        ('date_format', models.CharField(default='%d %b %Y', max_length=20)),
                        ('sign_off', models.CharField(default='Best regards,', max_length=100)),
                    ],
                    options={
                        'db_table': 'personas_regionprofile',
                        'ordering': ['name'],
                        'constraints': [models.CheckConstraint(condition=models.Q(('formality_baseline__gte', 0), ('formality_baseline__lte', 100)), name='region_formality_range')],
                    },
                ),
                migrations.CreateModel(
                    name='Clone',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('external_id', models.CharField(max_length=100, unique=True)),
                        ('name', models.CharField(max_length=100)),
                        ('is_active', models.BooleanField(default=True)),
                        ('formal_casual', models.PositiveSmallIntegerField(default=50, help_text='0 = formal, 100 = casual', validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(100)])),
                        ('concise_detailed', models.PositiveSmallIntegerField(default=50, help_text='0 = concise, 100 = detailed', validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(100)])),
                        ('technical_business', models.PositiveSmallIntegerField(default=50, help_text='0 = technical, 100 = business', validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(100)])),
                        ('proactive_reactive', models.PositiveSmallIntegerField(default=50, help_text='0 = proactive, 100 = reactive', validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(100)])),
                        ('custom_instructions', models.TextField(blank=True, max_length=2000)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('owner', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='clones', to=settings.AUTH_USER_MODEL)),
                        ('region', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='clones', to='agents.regionprofile')),
                    ],
                    options={
                        'db_table': 'personas_clone',
                        'ordering': ['name'],
                        'indexes': [models.Index(fields=['owner', 'is_active'], name='personas_cl_owner_i_3ab62c_idx')],
                        'constraints': [models.CheckConstraint(condition=models.Q(('formal_casual__gte', 0), ('formal_casual__lte', 100)), name='clone_formal_casual_range'), models.CheckConstraint(condition=models.Q(('concise_detailed__gte', 0), ('concise_detailed__lte', 100)), name='clone_concise_detailed_range'), models.CheckConstraint(condition=models.Q(('technical_business__gte', 0), ('technical_business__lte', 100)), name='clone_technical_business_range'), models.CheckConstraint(condition=models.Q(('proactive_reactive__gte', 0), ('proactive_reactive__lte', 100)), name='clone_proactive_reactive_range')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(_content_types_to_agents, _content_types_to_personas),
    ]
