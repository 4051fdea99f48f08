"""A small news site: authors write articles, articles carry tags."""

from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)
    bio = models.CharField(max_length=300)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)
    slug = models.SlugField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Article(models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="articles")
    tags = models.ManyToManyField(Tag, related_name="articles")
    summary = models.TextField()
    published = models.DateTimeField()

    class Meta:
        ordering = ["-published", "-id"]

    def __str__(self) -> str:
        return self.title


class Visit(models.Model):
    """A table the page never reads: writes to it test per-table mode (section 6)."""

    path = models.CharField(max_length=200)
    at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.path
