#!/usr/bin/env bash
# What tests/services and tests/functions/test_cart_api.py need on the machine, for CI and developers.
#
#   bash tests/services/services.sh            # install if missing, then check they start
#   bash tests/services/services.sh install    # apt-get install redis-server postgresql nodejs npm (only if missing)
#   bash tests/services/services.sh check      # start Redis (TLS + AUTH) and PostgreSQL once, then stop them
#
# The tests start their own servers on free 127.0.0.1 ports (pytest fixtures) and stop them at the
# end, so nothing needs to stay running; `check` proves they can start here (as root, PostgreSQL is
# run as the `postgres` user).
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON="${PYTHON:-.venv/bin/python}"

install() {
    local missing=()
    command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
    # tests/functions/test_site_edge.py runs StaticSite's CloudFront Function (JavaScript) with Node.
    command -v node >/dev/null 2>&1 || missing+=(nodejs)
    # tests/contract/test_breaking_changes.py installs Atlassian's openapi-diff with npm (Debian packages it apart).
    command -v npm >/dev/null 2>&1 || missing+=(npm)
    if ((${#missing[@]})); then
        echo "services.sh: installing ${missing[*]}"
        if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
        # Debian starts the packaged services; the tests use their own instances.
        { $SUDO service redis-server stop; $SUDO service postgresql stop; } >/dev/null 2>&1 || true
    fi
}

check() {
    "$PYTHON" -m services.local_run.preflight
}

case "${1:-all}" in
    install) install ;;
    check) check ;;
    all) install; check ;;
    *) echo "usage: $0 [install|check]" >&2; exit 2 ;;
esac
