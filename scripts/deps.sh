#!/bin/sh
# Make sure the Debian packages the build and the tests need are installed.
# As root it installs what is missing with apt-get; otherwise it prints the
# exact command to run and fails, so `make check` never half-works.
#   scripts/deps.sh build      libraries and tools to build and unit-test
#   scripts/deps.sh demo       ... build set plus python3 (make demo: nothing
#                              only the tests use, no chromium, no valgrind)
#   scripts/deps.sh test       ... plus what the integration tests run
#   scripts/deps.sh fuzz       ... build set plus clang and libFuzzer (make fuzz)
#   scripts/deps.sh bench      ... test set plus nginx and wrk (make bench)
#   scripts/deps.sh deb        ... build set plus debhelper and lintian (make deb)
#   scripts/deps.sh piuparts   piuparts and debootstrap (make piuparts)
#   scripts/deps.sh --check SET  only say what is missing (exit 1), never
#                              install: a plain `make` runs this
set -eu
check_only=
if [ "${1:-}" = "--check" ]; then
  check_only=1
  shift
fi

build_pkgs="gcc make pkg-config libcurl4-openssl-dev libconfig-dev libsqlite3-dev \
libsystemd-dev libcmocka-dev libssl-dev libjansson-dev sqlite3 tzdata \
libpq-dev unixodbc-dev libmicrohttpd-dev libical-dev"
# The integration tests start real servers: PostgreSQL 15 (state store,
# ODBC source), nginx (the web's reverse proxy), and read through real ODBC
# drivers (psqlODBC, SQLite's).
test_pkgs="python3 python3-aiosmtpd openssl faketime valgrind chromium \
postgresql-15 postgresql-client-15 odbc-postgresql libsqliteodbc unixodbc \
python3-icalendar python3-sqlglot nginx nodejs"
# (nodejs: the web tests' headless Chromium is driven by puppeteer-core,
# which the test installs with nodejs's npm into build/npm.)
# make bench: the webhook benchmark's HTTPS receiver; wrk for the web tray.
bench_pkgs="nginx wrk"
# make deb / make check-deb: the packaging tools and the package checker.
# (systemd is there for systemd-sysusers, which the postinst runs.)
deb_pkgs="debhelper dpkg-dev lintian systemd"
# make piuparts: a chroot from the mirror, and the package tested in it.
piuparts_pkgs="piuparts debootstrap"
# libFuzzer ships in compiler-rt, which must match clang's version.
fuzz_pkgs="clang-14 libclang-rt-14-dev"

case "${1:-build}" in
  build) want="$build_pkgs" ;;
  demo)  want="$build_pkgs python3" ;;
  test)  want="$build_pkgs $test_pkgs" ;;
  fuzz)  want="$build_pkgs $fuzz_pkgs" ;;
  bench) want="$build_pkgs $test_pkgs $bench_pkgs" ;;
  deb)   want="$build_pkgs $deb_pkgs" ;;
  piuparts) want="$piuparts_pkgs" ;;
  *) echo "usage: $0 [--check] build|demo|test|fuzz|bench|deb|piuparts" >&2; exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
  # Not Debian: the package names mean nothing here; say what is wanted.
  echo "deadlined: not a Debian system; install the equivalents of:" >&2
  echo "  $want" >&2
  exit 1
fi

missing=""
for p in $want; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ -n "$check_only" ]; then
  echo "deadlined: missing Debian packages:$missing" >&2
  echo "  install them as root: apt-get install -y$missing" >&2
  echo "  (or run make as root: make demo and make check install what they need)" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "deadlined: missing Debian packages. Run as root:" >&2
  echo "  apt-get install -y$missing" >&2
  exit 1
fi
echo "deadlined: installing missing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# An old or empty package list makes apt-get install fail: refresh it first.
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >&2
