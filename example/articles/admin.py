"""Admin pages for editing the demo content."""

from django.contrib import admin

from .models import Article, Author, Tag


@admin.register(Author)
class AuthorAdmin(admin.ModelAdmin):
    """Admin page of authors."""

    search_fields = ["name"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    """Admin page of tags."""

    search_fields = ["name"]


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    """Admin page of articles."""

    list_display = ["title", "author", "published"]
    list_filter = ["author", "tags"]
    search_fields = ["title", "body"]
    filter_horizontal = ["tags"]
    date_hierarchy = "published"
