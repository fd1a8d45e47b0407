#!/usr/bin/env bash
# Install the optional client programs used by the integration tests: the PostgreSQL
# JDBC driver with a JDK, and node-postgres. Never fails the caller: whatever cannot be
# installed is reported, and the tests that need it are skipped with a reason.
set -u

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
node_dir="$here/tests/integration/clients/node"
jdbc_jar="/usr/share/java/postgresql.jar"

say() { printf 'install-clients: %s\n' "$*"; }
# shellcheck source=scripts/apt-install.sh
. "$here/scripts/apt-install.sh"

install_jdbc() {
    if [ -r "$jdbc_jar" ] && command -v javac >/dev/null 2>&1; then
        say "JDBC driver and javac already present"
        return
    fi
    apt_install "the JDBC tests" libpostgresql-jdbc-java default-jdk-headless
}

install_node_pg() {
    if ! command -v npm >/dev/null 2>&1; then
        say "no npm here: the node-postgres tests will be skipped"
        return
    fi
    cd "$node_dir" || return
    if [ -f package-lock.json ]; then
        npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1 && { say "node-postgres installed (npm ci)"; return; }
    fi
    if npm install --no-audit --no-fund --loglevel=error >/dev/null 2>&1; then
        say "node-postgres installed (npm install)"
    else
        say "npm could not install node-postgres; the node tests will be skipped"
    fi
}

install_jdbc
install_node_pg
exit 0
