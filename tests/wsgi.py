"""The WSGI application that tests serve with gunicorn (settings: ``tests.server_settings``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.server_settings")
application = get_wsgi_application()
