"""Member.lapsed_at: when the membership lapsed, for the lapsed-member retention window.

Members already lapsed get their ``updated_at``: the status last changed no later than that, so the
window never starts earlier than the lapse itself (their data is never erased too soon).
"""

from django.db import migrations, models
from django.db.models import F


def lapsed_since_last_update(apps, schema_editor):
    Member = apps.get_model("register", "Member")
    Member.objects.filter(status="lapsed", lapsed_at__isnull=True, erased_at__isnull=True).update(
        lapsed_at=F("updated_at")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("register", "0002_privacy"),
    ]

    operations = [
        migrations.AddField(
            model_name="member",
            name="lapsed_at",
            field=models.DateTimeField(blank=True, help_text="membership lapsed (first seen so) at", null=True),
        ),
        migrations.RunPython(lapsed_since_last_update, migrations.RunPython.noop),
    ]
