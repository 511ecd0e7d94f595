#!/usr/bin/env bash
# Run one of the actions' entry scripts with the runner's Python.
#
# Usage: launch.sh register_agent.py|issue_token.py
#
# The scripts need Python 3.9 or newer and nothing beyond its standard
# library. python3 is tried first, then python, the usual name on Windows.
# Until Python is found this script uses only bash builtins, so that it can
# report a missing Python on any runner.
set -euo pipefail

readonly docs_anchor="python-not-found"

script_dir=${BASH_SOURCE[0]%/*}
if [ "$script_dir" = "${BASH_SOURCE[0]}" ]; then
    script_dir=.
fi
case "${1:-}" in
    register_agent.py | issue_token.py) entry="$script_dir/$1" ;;
    *)
        echo "::error title=SentryAgent%3A launcher misused::Usage: launch.sh register_agent.py|issue_token.py"
        exit 2
        ;;
esac

python=""
for candidate in python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 &&
        "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 9))' \
            >/dev/null 2>&1; then
        python=$candidate
        break
    fi
done

if [ -z "$python" ]; then
    message="Neither python3 nor python on PATH is Python 3.9 or newer, which the"
    message+=" SentryAgent actions need.%0A%0AHow to fix it: add a step that"
    message+=" installs Python before this one, for example actions/setup-python"
    message+=" with python-version: '3.12'. GitHub-hosted runners already have it."
    message+="%0A%0ASee docs/troubleshooting.md#$docs_anchor in the SentryAgent"
    message+=" repository."
    echo "::error title=SentryAgent%3A Python not found::$message"
    if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
        summary="Neither python3 nor python on PATH is Python 3.9 or newer."
        summary+=" Install Python before this step, for example with"
        summary+=" actions/setup-python."
        printf '### %s: Python not found\n\n%s\n\n' \
            "${SENTRYAGENT_ACTION:-SentryAgent}" "$summary" >>"$GITHUB_STEP_SUMMARY"
    fi
    exit 1
fi

# -B writes no bytecode into the action's folder, -E ignores PYTHON* variables
# such as PYTHONPATH that the workflow may set, and -s skips the user's
# site-packages, so only the standard library and this folder are imported.
exec "$python" -B -E -s "$entry"
