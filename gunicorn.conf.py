"""gunicorn settings for production: ``gunicorn sentryagent.wsgi:application``.

gunicorn reads this file from the working directory. Every value can be
overridden on the command line or through GUNICORN_CMD_ARGS.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# The exchange is CPU-bound (RSA verify and sign), so one sync worker per core.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count()))
worker_class = "sync"
# A request that takes longer than this is killed and the worker restarted.
timeout = 30  # s
graceful_timeout = 30  # s
keepalive = 5  # s
# Recycle workers now and then, so a slow leak cannot grow without bound.
max_requests = 10_000
max_requests_jitter = 1_000
# Request lines and headers are small for every endpoint of this service.
limit_request_line = 4094
limit_request_fields = 50
accesslog = "-"
errorlog = "-"
# The access log leaves out query strings and bodies, which never carry
# tokens here, and records the request id.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(L)ss id=%({x-request-id}o)s'
# Proxies whose X-Forwarded-* headers gunicorn trusts; set to the load
# balancer's address.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
