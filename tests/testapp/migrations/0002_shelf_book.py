from django.db import migrations, models

from tests.testapp.models import ON_DELETE_IN_DATABASE


class Migration(migrations.Migration):
    dependencies = [("testapp", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="Shelf",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=50)),
            ],
        ),
        migrations.CreateModel(
            name="Book",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False)),
                ("title", models.CharField(max_length=100)),
                (
                    "shelf",
                    models.ForeignKey(on_delete=ON_DELETE_IN_DATABASE, to="testapp.shelf"),
                ),
            ],
        ),
    ]
