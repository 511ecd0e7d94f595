"""WSGI entry point, used by gunicorn as ``sentryagent.wsgi:application``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sentryagent.settings")

application = get_wsgi_application()
