"""Two SQL views, read by unmanaged models: one over a table (updatable on PostgreSQL and
MySQL), and one over that view and another table (a view on a view)."""

from django.db import migrations, models

SHELF_VIEW = "CREATE VIEW testapp_shelfview AS SELECT id, name FROM testapp_shelf"
SHELVED_BOOK = (
    "CREATE VIEW testapp_shelvedbook AS SELECT b.id AS id, b.title AS title, s.name AS shelf "
    "FROM testapp_book b INNER JOIN testapp_shelfview s ON s.id = b.shelf_id"
)


class Migration(migrations.Migration):
    dependencies = [("testapp", "0002_shelf_book")]

    operations = [
        migrations.RunSQL(SHELF_VIEW, "DROP VIEW testapp_shelfview"),
        migrations.RunSQL(SHELVED_BOOK, "DROP VIEW testapp_shelvedbook"),
        migrations.CreateModel(
            name="ShelfView",
            fields=[
                ("id", models.AutoField(primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=50)),
            ],
            options={"db_table": "testapp_shelfview", "managed": False},
        ),
        migrations.CreateModel(
            name="ShelvedBook",
            fields=[
                ("id", models.AutoField(primary_key=True, serialize=False)),
                ("title", models.CharField(max_length=100)),
                ("shelf", models.CharField(max_length=50)),
            ],
            options={"db_table": "testapp_shelvedbook", "managed": False},
        ),
    ]
