from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)

    def __str__(self):
        return self.name


class Tag(models.Model):
    name = models.CharField(max_length=50)

    def __str__(self):
        return self.name


class Article(models.Model):
    title = models.CharField(max_length=200)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, null=True)
    tags = models.ManyToManyField(Tag, blank=True)

    def __str__(self):
        return self.title


class Hit(models.Model):
    """A table on the whitelist in tests: writes to it never make pages stale."""

    path = models.CharField(max_length=200)

    class Meta:
        db_table = "testapp_hit"

    def __str__(self):
        return self.path


# Django 6.1 can leave a deletion's consequences to the database (on_delete=DB_CASCADE): no
# statement then names the referring table. Older versions cascade in Python, by statement.
ON_DELETE_IN_DATABASE = getattr(models, "DB_CASCADE", models.CASCADE)


class Shelf(models.Model):
    name = models.CharField(max_length=50)

    def __str__(self):
        return self.name


class Book(models.Model):
    title = models.CharField(max_length=100)
    shelf = models.ForeignKey(Shelf, on_delete=ON_DELETE_IN_DATABASE)

    def __str__(self):
        return self.title


# Unmanaged models over SQL views (migration 0003): per-table mode resolves a view to the
# tables it reads, through views on views.


class ShelfView(models.Model):
    """Over ``testapp_shelf``; updatable on PostgreSQL and MySQL."""

    name = models.CharField(max_length=50)

    class Meta:
        managed = False
        db_table = "testapp_shelfview"

    def __str__(self):
        return self.name


class ShelvedBook(models.Model):
    """Over ``testapp_book`` and the view ``testapp_shelfview``."""

    title = models.CharField(max_length=100)
    shelf = models.CharField(max_length=50)

    class Meta:
        managed = False
        db_table = "testapp_shelvedbook"

    def __str__(self):
        return self.title
