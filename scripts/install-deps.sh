#!/usr/bin/env bash
# Installs what recsync needs to build and test on Debian 12 (run as root).
#
#   scripts/install-deps.sh
#
# Debian packages: FUSE 3 and the C libraries the Swift targets link against,
# the audio/file tools the tests use, a Ceph radosgw for the S3 tests, and the
# file managers' Python bindings (and Nautilus under Xvfb) for the extension's test.
# Python packages: moto (local S3/IAM server), boto3 and the aws cli.
# Idempotent: packages already present are not installed again, and apt is
# skipped entirely when every Debian package is there already
# (RECSYNC_DEPS_FORCE_APT=1 runs `apt-get update` and install regardless).
# Swift itself is expected at /opt/swift (or on PATH) and is not installed here.
set -euo pipefail

log() { printf '[install-deps] %s\n' "$*" >&2; }
die() { printf '[install-deps] error: %s\n' "$*" >&2; exit 1; }

[[ "$(id -u)" == 0 ]] || die "must run as root (apt-get install)"
command -v apt-get >/dev/null 2>&1 || die "apt-get not found: this script is for Debian"

export DEBIAN_FRONTEND=noninteractive

APT_PACKAGES=(
    # build
    pkg-config
    make
    libfuse3-dev
    libsqlite3-dev
    libcurl4-openssl-dev
    libssl-dev
    # runtime / tests
    fuse3
    attr
    sox
    ffmpeg
    rsync
    libglib2.0-bin
    tar
    # local S3 servers (scripts/servers/)
    radosgw
    ceph-mon
    ceph-osd
    ceph-common
    curl
    procps
    uuid-runtime
    util-linux
    # network namespaces, veth links and tc for the network-awareness tests
    iproute2
    # systemd-analyze verify for the units in mount-helpers/
    systemd
    # bench/run: the filesystems recsync is compared with, and gcc for libfuse's passthrough_ll
    rclone
    s3fs
    gcc
    # the file-manager extension's test (Tests/file-manager/test_extension.py, run with
    # /usr/bin/python3): the GObject bindings of Nautilus 4.0 (with its Python loader), Nemo 3.0
    # and Caja 2.0, the Adwaita emblem icons; Nautilus itself under Xvfb on a private session
    # bus for the window check, and GDK 3 for its screenshots
    python3-gi
    python3-nautilus
    gir1.2-nautilus-4.0
    gir1.2-nemo-3.0
    gir1.2-caja-2.0
    adwaita-icon-theme
    nautilus
    xvfb
    dbus-daemon
    gir1.2-gtk-3.0
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]} > 0)) || [[ "${RECSYNC_DEPS_FORCE_APT:-0}" == 1 ]]; then
    ((${#missing[@]} > 0)) && log "missing Debian packages: ${missing[*]}"
    log "apt-get update"
    apt-get -o DPkg::Lock::Timeout=600 update
    log "apt-get install ${APT_PACKAGES[*]}"
    apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${APT_PACKAGES[@]}"
else
    log "all ${#APT_PACKAGES[@]} Debian packages already installed"
fi

# --- Python packages -------------------------------------------------------
PY="$(command -v python3 || true)"
[[ -n "$PY" ]] || die "python3 not found"

if "$PY" -c 'import moto.server, boto3, awscli' >/dev/null 2>&1 &&
    command -v moto_server >/dev/null 2>&1 && command -v aws >/dev/null 2>&1; then
    log "python packages already installed ($("$PY" -c 'import moto; print("moto", moto.__version__)'))"
else
    if ! "$PY" -m pip --version >/dev/null 2>&1; then
        log "pip missing for $PY; installing python3-pip"
        apt-get -o DPkg::Lock::Timeout=600 update
        apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends python3-pip
    fi
    pip_args=(install --quiet --disable-pip-version-check)
    # Debian's own python3 is "externally managed" (PEP 668).
    stdlib="$("$PY" -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')"
    if [[ -e "$stdlib/EXTERNALLY-MANAGED" ]]; then
        pip_args+=(--break-system-packages)
    fi
    log "pip install moto[server] boto3 awscli (with $PY)"
    "$PY" -m pip "${pip_args[@]}" 'moto[server]' boto3 awscli
    if command -v pyenv >/dev/null 2>&1; then
        pyenv rehash || true
    fi
    hash -r
    command -v moto_server >/dev/null 2>&1 || die "moto_server is not on PATH after pip install"
    command -v aws >/dev/null 2>&1 || die "aws is not on PATH after pip install"
fi

log "done"
