#!/usr/bin/env bash
# Runs every test with coverage, installing what the tests need when it is missing (redis-server,
# PostgreSQL, Ceph's S3 gateway for the bucket tests, nginx for the multi-instance tests, Chromium
# for the gallery's browser test, curl and HTTPie for the example sessions, the image formats' own
# tools for the upload tests, through apt-get). Prints the tests' tally and the line coverage of asgilook/.
#
# ./test.sh --fast is the inner loop: only the tests that need no other server or process (no Redis,
# PostgreSQL, S3, nginx, Chromium, nor the service started as its own process; see tests/Support/Needs.cs),
# without coverage, in well under a minute. Any other arguments go to dotnet test (e.g. --filter).
set -euo pipefail
cd "$(dirname "$0")"

fast=false
if [ "${1:-}" = "--fast" ]; then
    fast=true
    shift
fi

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v curl >/dev/null 2>&1 || missing+=(curl)
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || missing+=(postgresql)
command -v http >/dev/null 2>&1 || missing+=(httpie)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v strace >/dev/null 2>&1 || missing+=(strace)
# The formats' own tools make the upload tests' files: HEIC (x265), JPEG XL, JPEG 2000, BMP/ICO/PSD, netpbm.
command -v heif-enc >/dev/null 2>&1 || missing+=(libheif-examples)
command -v cjxl >/dev/null 2>&1 || missing+=(libjxl-tools)
command -v opj_compress >/dev/null 2>&1 || missing+=(libopenjp2-tools)
[ -x /usr/bin/convert ] || missing+=(imagemagick)
command -v pngtopnm >/dev/null 2>&1 || missing+=(netpbm)
# A real S3 server for the bucket tests: Ceph's gateway over a one-OSD in-memory cluster (deploy/s3-local.sh).
ceph=()
for binary in ceph-mon ceph-osd radosgw ceph; do command -v "$binary" >/dev/null 2>&1 || ceph=(ceph-mon ceph-osd radosgw ceph-common); done
if [ ${#ceph[@]} -gt 0 ] && ! command -v apt-get >/dev/null 2>&1; then
    missing+=("${ceph[@]}")
fi
if [ ${#missing[@]} -gt 0 ] && ! command -v apt-get >/dev/null 2>&1; then
    # No apt (macOS, Fedora, Arch, ...): say exactly what is missing, by what it is, and stop.
    declare -A brew=([redis-server]=redis [chromium]="--cask chromium" [curl]=curl [postgresql]=postgresql@16
        [httpie]=httpie [nginx]=nginx [strace]="(Linux only)" [libheif-examples]=libheif [libjxl-tools]=jpeg-xl
        [libopenjp2-tools]=openjpeg [imagemagick]=imagemagick [netpbm]=netpbm
        [ceph-mon]="(Linux only: Ceph)" [ceph-osd]="(Linux only: Ceph)" [radosgw]="(Linux only: Ceph)" [ceph-common]="(Linux only: Ceph)")
    echo "test.sh: this machine has no apt-get, and the tests need these (Debian package, then Homebrew formula):" >&2
    for package in "${missing[@]}"; do echo "  $package    brew install ${brew[$package]}" >&2; done
    echo "Install them with your package manager and run ./test.sh again. The suite needs Linux (it reads /proc," >&2
    echo "sets kernel limits and traces with strace); the service itself runs on Linux, macOS and Windows." >&2
    exit 1
fi
if [ ${#missing[@]} -gt 0 ] || [ ${#ceph[@]} -gt 0 ]; then
    echo "test.sh: installing ${missing[*]} ${ceph[*]} with apt-get" >&2
    as_root apt-get update -qq
    [ ${#missing[@]} -eq 0 ] || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    # Without recommends: Ceph's would bring its manager, dashboards and Python modules the tests never start.
    [ ${#ceph[@]} -eq 0 ] || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${ceph[@]}" >/dev/null
fi

if [ "$fast" = true ]; then
    dotnet build tests --configuration Release -nologo -v q
    exec dotnet test tests --configuration Release --no-build \
        --filter "Needs!=Redis&Needs!=PostgreSQL&Needs!=Processes&Needs!=S3" "$@"
fi

# dotnet test builds only the test projects and what they reference: the benchmark must compile too.
dotnet build Asgilook.sln --configuration Release -nologo -v q

results=TestResults
rm -rf "$results"
# Every log line the tests' apps and servers write, and every credential the tests use or are handed,
# go here; after the run, no log line may hold any credential.
export ASGILOOK_TEST_LOGS=$PWD/$results/logs
set +e
dotnet test Asgilook.sln --configuration Release --no-build \
    --settings coverlet.runsettings --collect "XPlat Code Coverage" \
    --results-directory "$results" --logger "trx;LogFileName=tests.trx" "$@"
status=$?
set -e

trx=$(find "$results" -name tests.trx | head -n 1)
if [ -n "$trx" ]; then
    counters=$(grep -o '<Counters [^>]*>' "$trx")
    count() { sed -E "s/.* $1=\"([0-9]+)\".*/\1/" <<<"$counters"; }
    echo
    echo "tests: $(count passed) passed, $(count failed) failed"
fi
if [ -s "$ASGILOOK_TEST_LOGS/tutorial-times.txt" ]; then
    echo "docs/tutorial followed from an empty folder, per chapter: $(paste -sd ' ' "$ASGILOOK_TEST_LOGS/tutorial-times.txt")"
fi

if [ -s "$ASGILOOK_TEST_LOGS/secrets.txt" ] && [ -s "$ASGILOOK_TEST_LOGS/logs.txt" ]; then
    leaks=$(grep -c -F -f "$ASGILOOK_TEST_LOGS/secrets.txt" "$ASGILOOK_TEST_LOGS/logs.txt" || true)
    echo "log lines checked for credentials: $(wc -l <"$ASGILOOK_TEST_LOGS/logs.txt"), against $(sort -u "$ASGILOOK_TEST_LOGS/secrets.txt" | wc -l) credentials; lines holding one: $leaks"
    if [ "$leaks" -ne 0 ]; then
        echo "test.sh: a log line holds a key or a delete token:" >&2
        grep -F -f "$ASGILOOK_TEST_LOGS/secrets.txt" "$ASGILOOK_TEST_LOGS/logs.txt" | head -n 5 | cut -c1-200 >&2
        [ "$status" -ne 0 ] || status=1
    fi
fi

# Like the tutorial's --cov-fail-under: the run fails when line coverage of asgilook/ drops below this.
minimum=${COVERAGE_MINIMUM:-95}
# The collector writes a second, empty report beside the real one; the one naming the app is read.
coverage=$(grep -l '<package name="Asgilook"' $(find "$results" -name coverage.cobertura.xml) 2>/dev/null | head -n 1)
if [ -z "$coverage" ]; then
    echo "test.sh: no coverage of asgilook/ was measured (coverlet could not instrument it?)" >&2
    [ "$status" -ne 0 ] || status=1
else
    awk -v minimum="$minimum" '
        /<package name="Asgilook"/ { match($0, /line-rate="[0-9.]+"/); rate = substr($0, RSTART + 11, RLENGTH - 12)
                                     printf "line coverage of asgilook/: %.1f%% (minimum %s%%)\n", rate * 100, minimum
                                     if (rate * 100 < minimum) low = 1 }
        /<class / && !/line-rate="1"/ { match($0, /filename="[^"]+"/); file = substr($0, RSTART + 10, RLENGTH - 11)
                                       match($0, /line-rate="[0-9.]+"/); rate = substr($0, RSTART + 11, RLENGTH - 12)
                                       if (!(file in seen)) { seen[file] = 1; printf "  below 100%%: %s (%.1f%%)\n", file, rate * 100 } }
        END { exit low }
    ' "$coverage" || { echo "test.sh: line coverage is below ${minimum}%" >&2; [ "$status" -ne 0 ] || status=1; }
fi

exit "$status"
