"""Code that the register-agent and issue-token actions run on the runner.

It uses only the standard library of Python 3.9 or newer, because it runs on
whatever Python the runner has, and it talks to SentryAgent over HTTP only.
"""

VERSION = "0.1.0"
