#!/usr/bin/env bash
# The single test command: installs what the tests need (on Debian 12, as root
# or with sudo), then runs the formatter check, clippy and every test.
#
#   bash tests/run.sh
#
# Idempotent: what is already installed is not installed again.
# Environment: SWITCHBOARD_PYTHON (a python with pjsua2) is set here when a
# virtual environment had to be made; SKIP_INSTALL=1 skips the install step.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD

log() { printf '\n==> %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
fi

# apt-get with a wait for the dpkg lock and retries (another apt run on the
# same machine gives "Could not get lock" or "cannot access archive").
apt_retry() {
    local i
    for i in 1 2 3 4 5 6; do
        if $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 "$@"; then
            return 0
        fi
        echo "apt-get $* failed (attempt $i); retrying in 10 s" >&2
        sleep 10
    done
    echo "apt-get $* kept failing" >&2
    return 1
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

install_packages() {
    local want=(sip-tester baresip-core sipsak docker-compose sox espeak-ng postgresql
                python3 python3-pip python3-venv ca-certificates curl chromium)
    # Node.js for the wallboard test (playwright-core): the machine's own if any.
    command -v node >/dev/null 2>&1 || want+=(nodejs)
    command -v npm >/dev/null 2>&1 || want+=(npm)
    command -v cc >/dev/null 2>&1 || want+=(gcc libc6-dev)
    local missing=()
    local p
    for p in "${want[@]}"; do installed "$p" || missing+=("$p"); done
    if [ "${#missing[@]}" -eq 0 ]; then
        log "test peers already installed"
        return 0
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "cannot install ${missing[*]}: no apt-get (this script targets Debian 12)" >&2
        return 1
    fi
    if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then
        echo "cannot install ${missing[*]}: run as root or install sudo" >&2
        return 1
    fi
    log "installing ${missing[*]}"
    apt_retry update
    apt_retry install -y --no-install-recommends "${missing[@]}"
}

PJSUA2_PKG="pjsua2-python==2.15.1.post1"

install_pjsua2() {
    if [ -n "${SWITCHBOARD_PYTHON:-}" ] && "$SWITCHBOARD_PYTHON" -c 'import pjsua2' 2>/dev/null; then
        log "pjsua2 found ($SWITCHBOARD_PYTHON)"
        return 0
    fi
    if python3 -c 'import pjsua2' 2>/dev/null; then
        log "pjsua2 found (python3)"
        return 0
    fi
    if [ -x "$ROOT/.venv/bin/python3" ] && "$ROOT/.venv/bin/python3" -c 'import pjsua2' 2>/dev/null; then
        export SWITCHBOARD_PYTHON="$ROOT/.venv/bin/python3"
        log "pjsua2 found ($SWITCHBOARD_PYTHON)"
        return 0
    fi
    log "installing $PJSUA2_PKG (wheels exist for CPython 3.10-3.12)"
    if python3 -m pip install --quiet "$PJSUA2_PKG" 2>/tmp/switchboard-pip.err \
        && python3 -c 'import pjsua2'; then
        return 0
    fi
    # PEP 668 ("externally-managed-environment") on Debian's python: use a venv.
    cat /tmp/switchboard-pip.err >&2 || true
    log "pip refused; using a virtual environment in .venv"
    python3 -m venv "$ROOT/.venv"
    "$ROOT/.venv/bin/python3" -m pip install --quiet "$PJSUA2_PKG"
    "$ROOT/.venv/bin/python3" -c 'import pjsua2'
    export SWITCHBOARD_PYTHON="$ROOT/.venv/bin/python3"
}

# playwright-core drives Debian's chromium in the wallboard test
# (tests/admin.rs, tests/wallboard/); the lockfile pins it.
install_playwright() {
    if [ -d "$ROOT/tests/wallboard/node_modules/playwright-core" ]; then
        log "playwright-core found"
        return 0
    fi
    log "installing playwright-core (npm ci in tests/wallboard)"
    (cd "$ROOT/tests/wallboard" && npm ci --no-audit --no-fund)
}

install_rust() {
    if [ -f "$HOME/.cargo/env" ]; then
        # shellcheck disable=SC1091
        . "$HOME/.cargo/env"
    fi
    if ! command -v cargo >/dev/null 2>&1; then
        log "installing Rust (rustup, stable)"
        curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
        # shellcheck disable=SC1091
        . "$HOME/.cargo/env"
    fi
    if command -v rustup >/dev/null 2>&1; then
        cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
        cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
    fi
}

if [ "${SKIP_INSTALL:-0}" != 1 ]; then
    install_packages
    install_pjsua2
    install_playwright
    install_rust
fi

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

log "cargo test --all-targets --no-fail-fast"
cargo test --all-targets --no-fail-fast

log "all checks passed"
