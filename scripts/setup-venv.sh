#!/usr/bin/env bash
# Create .venv (Python 3.11+) and install the project with its test extras, once.
# Re-running is cheap: pip only installs what changed in pyproject.toml.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "setup-venv: Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)" >&2
    exit 1
fi
if [ ! -x "$here/.venv/bin/python" ]; then
    "$python" -m venv "$here/.venv"
fi
stamp="$here/.venv/.installed"
# (the compiled paths are built by the install: again when a source of theirs changed)
changed() { [ -n "$(find "$here/gateway" -name '*.pyx' -newer "$stamp" -print -quit)" ]; }
if [ ! -f "$stamp" ] || [ "$here/pyproject.toml" -nt "$stamp" ] || changed; then
    "$here/.venv/bin/python" -m pip install --quiet --upgrade pip
    "$here/.venv/bin/python" -m pip install --quiet -e "$here[${1:-test}]"
    touch "$stamp"
fi
