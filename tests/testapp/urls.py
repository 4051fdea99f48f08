from django.urls import path

from . import views

urlpatterns = [
    path("page/", views.page),
    path("first/", views.first),
    path("second/", views.second),
    path("slug/<slug:slug>/", views.with_kwargs),
    path("template/", views.template_page),
    path("async/", views.async_page),
    path("class/", views.ClassPage.as_view()),
    path("vary/", views.vary_page),
    path("authz/", views.authz_page),
    path("csrf/", views.csrf_page),
    path("csrf-template/", views.csrf_template_page),
    path("cookie/", views.cookie_page),
    path("headers/", views.headers_page),
    path("streaming/", views.streaming_page),
    path("messages/", views.messages_page),
    path("add-message/", views.add_message),
    path("adds-message/", views.adds_message),
    path("cart/", views.cart),
    path("cart/put/<str:item>/", views.put_in_cart),
    path("changing/", views.changing),
    path("tags/", views.tags_page),
    path("books/", views.books_page),
    path("shelved/", views.shelved_page),
    path("shelves/", views.shelves_page),
    path("static/", views.static_page),
    path("declared/", views.declared_page),
]
