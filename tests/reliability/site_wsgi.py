"""WSGI entry point of the load and fault tests' site (``tests.reliability.site_settings``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.reliability.site_settings")
application = get_wsgi_application()
