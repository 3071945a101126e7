# Notice.case, Notice.member, Appeal.case and Appeal.decision repeated notice → decision → case
# (→ member): dropped.
#
# Nothing to move forwards (the facts stay in Notice.decision, Decision.case and Case.member).
# Backwards, the columns come back nullable, are filled from notice → decision → case, then made
# NOT NULL again, so the migration reverses on a database with notices and appeals in it.

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def _refill(apps, schema_editor):
    """Backwards: put back the copies the older code reads, from the one place they now live."""
    Notice = apps.get_model("review", "Notice")
    Appeal = apps.get_model("review", "Appeal")
    Decision = apps.get_model("review", "Decision")
    db = schema_editor.connection.alias
    decision_case = Decision.objects.using(db).filter(pk=OuterRef("decision_id")).values("case_id")[:1]
    Notice.objects.using(db).update(case_id=Subquery(decision_case))
    case_member = Decision.objects.using(db).filter(pk=OuterRef("decision_id")).values("case__member_id")[:1]
    Notice.objects.using(db).update(member_id=Subquery(case_member))
    notice_decision = Notice.objects.using(db).filter(pk=OuterRef("notice_id")).values("decision_id")[:1]
    Appeal.objects.using(db).update(decision_id=Subquery(notice_decision))
    notice_case = Notice.objects.using(db).filter(pk=OuterRef("notice_id")).values("case_id")[:1]
    Appeal.objects.using(db).update(case_id=Subquery(notice_case))
    # PostgreSQL: fire the deferred foreign-key checks now, or SET NOT NULL next finds pending triggers.
    schema_editor.connection.check_constraints(table_names=[Notice._meta.db_table, Appeal._meta.db_table])


def _made_nullable(model_name, name, related_name, to):
    field = models.ForeignKey(
        null=True, on_delete=django.db.models.deletion.PROTECT, related_name=related_name, to=to
    )
    return migrations.AlterField(model_name=model_name, name=name, field=field)


class Migration(migrations.Migration):

    dependencies = [
        ('review', '0004_evidence_packs'),
        ('register', '0001_initial'),
    ]

    operations = [
        # nullable first, so that backwards the columns can be re-added empty and refilled
        _made_nullable('notice', 'case', 'notices', 'review.case'),
        _made_nullable('notice', 'member', 'notices', 'register.member'),
        _made_nullable('appeal', 'case', 'appeals', 'review.case'),
        _made_nullable('appeal', 'decision', 'appeals', 'review.decision'),
        migrations.RunPython(migrations.RunPython.noop, _refill),
        migrations.RemoveField(
            model_name='appeal',
            name='case',
        ),
        migrations.RemoveField(
            model_name='appeal',
            name='decision',
        ),
        migrations.RemoveField(
            model_name='notice',
            name='case',
        ),
        migrations.RemoveField(
            model_name='notice',
            name='member',
        ),
        migrations.AlterField(
            model_name='notice',
            name='first_viewed_at',
            field=models.DateTimeField(blank=True, help_text='cache: the first notice.viewed event', null=True),
        ),
        migrations.AlterField(
            model_name='notice',
            name='last_viewed_at',
            field=models.DateTimeField(blank=True, help_text='cache: the last notice.viewed event', null=True),
        ),
        migrations.AlterField(
            model_name='notice',
            name='views',
            field=models.PositiveIntegerField(default=0, help_text='cache: how many notice.viewed events'),
        ),
    ]
