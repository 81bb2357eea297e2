#!/usr/bin/env bash
# System packages the project needs, installed only when missing:
# SpatiaLite (SQLite default), PostGIS for the local PostgreSQL (production path
# and the second test backend), Chromium for the browser tests, CJK fonts so
# screenshots show Chinese. Also starts PostgreSQL when it is installed but down.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

pg_version() {
  if command -v pg_lsclusters >/dev/null 2>&1; then
    pg_lsclusters -h 2>/dev/null | awk 'NR==1 {print $1}'
  fi
}

missing=()
need() { dpkg -s "$1" >/dev/null 2>&1 || missing+=("$1"); }

need libsqlite3-mod-spatialite
need chromium
need fonts-noto-cjk
if [ -z "$(pg_version)" ]; then
  need postgresql
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

version="$(pg_version)"
if [ -n "$version" ] && ! dpkg -s "postgresql-$version-postgis-3" >/dev/null 2>&1; then
  echo "Installing PostGIS for PostgreSQL $version"
  [ ${#missing[@]} -gt 0 ] || $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "postgresql-$version-postgis-3" >/dev/null
fi

if [ -n "$version" ] && ! pg_lsclusters -h | awk '{print $4}' | grep -q online; then
  echo "Starting PostgreSQL $version"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start || $SUDO pg_ctlcluster "$version" main start
fi
