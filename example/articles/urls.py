"""URLs of the articles app."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.article_list, name="article_list"),
    path("articles/<int:pk>/", views.article_detail, name="article_detail"),
]
