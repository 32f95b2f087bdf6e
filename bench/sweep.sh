#!/usr/bin/env bash
# Measures the image-work bound instead of guessing it: upload (~12 MP JPEG) and thumbnail-miss
# throughput for several (Asgilook:ImageWorkers, Asgilook:VipsThreads) pairs, with wrk.
#   bench/sweep.sh            (run bench/run.sh once first: it makes the images)
# SWEEP lists the pairs; SWEEP_SECONDS the length of each timed run.
set -euo pipefail
cd "$(dirname "$0")/.."
images=$PWD/bench/work/images
[ -f "$images/photo-12mp.jpg" ] || { echo "sweep: run bench/run.sh first, it makes $images" >&2; exit 1; }
seconds=${SWEEP_SECONDS:-6}
pairs=${SWEEP:-"1,0 2,0 2,1 3,1 4,1 1,2"}
dotnet build -c Release -v q -nologo asgilook/Asgilook.csproj >/dev/null

echo "cores: $(nproc)"
echo "| image workers | libvips threads per operation | upload ~12 MP (req/s) | thumbnail miss (req/s) |"
echo "| --- | --- | --- | --- |"
for pair in $pairs; do
    workers=${pair%,*} threads=${pair#*,}
    storage=$(mktemp -d)
    port=$((20000 + RANDOM % 12000))  # below the ephemeral range
    Asgilook__ImageWorkers=$workers Asgilook__VipsThreads=$threads Asgilook__ImageQueueLength=1000 \
        Asgilook__RateLimits__UploadsPerMinute=0 Asgilook__RateLimits__RendersPerMinute=0 \
        Asgilook__RateLimits__UploadMegapixelsPerMinute=0 Asgilook__UploadsInFlightPerClient=100000 Asgilook__UploadBufferMegabytesPerClient=65536 Asgilook__ImageQueuePerClient=100000 Asgilook__ImageQueueMegapixelsPerClient=1000000 \
        ASGI_LOOK_STORAGE_PATH=$storage Logging__LogLevel__Default=Warning \
        dotnet asgilook/bin/Release/net10.0/Asgilook.dll --urls "http://127.0.0.1:$port" >/dev/null 2>&1 &
    server=$!
    base=http://127.0.0.1:$port
    for _ in $(seq 1 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.1; done
    upload=$(BODY=$images/photo-12mp.jpg wrk -s bench/wrk/upload.lua -t2 -c4 -d"${seconds}s" --timeout 30s "$base/images" | awk '/Requests\/sec/ { print $2 }')
    seq 60 | xargs -P 4 -I{} curl -sf --data-binary "@$images/photo-12mp.jpg" -o /dev/null "$base/images"
    curl -sf "$base/images?limit=1000" | grep -o '/thumbnails/[^"]*' | grep -E '/(2120x1416|1060x708|530x354|265x177|132x88)\.jpeg$' >"$storage/paths.txt"
    miss=$(PATHS=$storage/paths.txt THREADS=2 wrk -s bench/wrk/each-once.lua -t2 -c2 -d"${seconds}s" --timeout 30s "$base" | awk '/Requests\/sec/ { print $2 }')
    echo "| $workers | ${threads/#0/0 (libvips default)} | $upload | $miss |"
    kill "$server"; wait "$server" 2>/dev/null || true
    rm -rf "$storage"
done
