"""Entry point of the register-agent action; launch.sh runs it."""

import sys

from sentryagent_action import register

if __name__ == "__main__":
    sys.exit(register.main())
