"""Tests over real HTTP: a gunicorn server, a real client, and a real Varnish in front."""
