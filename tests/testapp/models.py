from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)


class Tag(models.Model):
    name = models.CharField(max_length=50)


class Article(models.Model):
    title = models.CharField(max_length=200)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, null=True)
    tags = models.ManyToManyField(Tag, blank=True)


class Hit(models.Model):
    """A table on the whitelist in tests: writes to it never make pages stale."""

    path = models.CharField(max_length=200)

    class Meta:
        db_table = "testapp_hit"
