"""Settings of the processes that tests start: web servers (gunicorn) and task workers.

They are the test settings, pointed at the databases the pytest process created
(``JIMMYPAGE_SERVER_DATABASES``: a JSON object of alias to database name) and at the same cache,
with a urlconf that adds the views of ``tests.server_views``.
"""

import json
import os

from tests.settings import *  # noqa: F403
from tests.settings import ALLOWED_HOSTS, DATABASES, MIDDLEWARE

for _alias, _name in json.loads(os.environ.get("JIMMYPAGE_SERVER_DATABASES", "{}")).items():
    DATABASES[_alias] = {**DATABASES[_alias], "NAME": _name}

ROOT_URLCONF = "tests.server_urls"
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "127.0.0.1", "localhost"]
MIDDLEWARE = ["tests.server_views.process_id_header", *MIDDLEWARE]
JIMMY_PAGE_STATUS_HEADER = "X-Jimmy-Page"
# Renders are counted as rows of testapp_hit, which must not make pages stale.
JIMMY_PAGE_EXPIRATION_WHITELIST = ["django_session", "auth_user", "testapp_hit"]
JIMMY_PAGE_REFRESH_EXECUTOR = os.environ.get("JIMMYPAGE_SERVER_EXECUTOR", "thread")
# "1": the status header tells a local hit ("hit-local") from a remote one.
JIMMY_PAGE_DEBUG_CACHE = os.environ.get("JIMMYPAGE_SERVER_DEBUG_CACHE") == "1"
# Settings a test gives the servers it starts: a JSON object of setting names to values.
globals().update(json.loads(os.environ.get("JIMMYPAGE_SERVER_SETTINGS", "{}")))
