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
