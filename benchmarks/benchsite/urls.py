"""One URL per contender, from ``contenders.CONTENDERS``."""

from django.urls import path

from . import views
from .contenders import CONTENDERS, SIGNED_IN

urlpatterns = [
    path(contender.path.lstrip("/"), getattr(views, contender.view), name=contender.key)
    for contender in (*CONTENDERS, *SIGNED_IN)
]
