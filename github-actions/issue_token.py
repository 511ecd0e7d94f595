"""Entry point of the issue-token action; launch.sh runs it."""

import sys

from sentryagent_action import issue

if __name__ == "__main__":
    sys.exit(issue.main())
