# Sourced by the install scripts: Debian packages for optional tests, never failing the
# caller. The caller defines say().
#
# apt_install TESTS PACKAGE...   TESTS names what is skipped without the packages.
apt_install() {
    local tests="$1"
    shift
    if ! command -v apt-get >/dev/null 2>&1; then
        say "no apt-get here: install $* by hand; $tests will be skipped"
        return 1
    fi
    if [ "$(id -u)" != 0 ]; then
        say "not root: skipping apt-get install $*; $tests will be skipped"
        return 1
    fi
    # Debian's package lists may be missing on a fresh machine; refresh them once.
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 \
        || say "apt-get update failed; trying the install with the lists present"
    # Only the packages' command-line tools are wanted, not their recommendations.
    if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "$@" >/dev/null 2>&1; then
        say "installed $*"
    else
        say "apt-get install $* failed; $tests will be skipped"
        return 1
    fi
}
