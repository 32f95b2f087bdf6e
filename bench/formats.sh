#!/usr/bin/env bash
# The thumbnail formats side by side, in one run:
#   bench/formats.sh             (BENCH_SECONDS=10 per timed workload)
# The encoder settings' measurement (SSIM against JPEG q85, bytes and encode time over the corpus), then the
# real server (shipped defaults but the per-client rate limits, which wrk as one client would hit; Redis
# cache): thumbnail misses over stored ~12 MP photos and cache hits per format, and the bytes a first visit
# of the gallery at 1000 px wide downloads, before (JPEG, at the old sizes of 50vw) and after (AVIF, at the
# grid's column width). Output also in bench/work/formats.md.
source "$(dirname "$0")/common.sh"
need wrk wrk
need redis-server redis-server
need curl curl
build_release
make_images
start_redis

echo "== encoder settings: every rung of the corpus, SSIM against JPEG q85"
bench_tool formats "$images" | tee "$work/formats-quality.txt"

storage=$work/storage-formats
rm -rf "$storage"
launch_server "$work/formats-server.log" "$storage" Asgilook__RateLimits__UploadsPerMinute=0 Asgilook__RateLimits__RendersPerMinute=0 Asgilook__RateLimits__UploadMegapixelsPerMinute=0 Asgilook__UploadsInFlightPerClient=100000 Asgilook__UploadBufferMegabytesPerClient=65536 Asgilook__ImageQueuePerClient=100000 Asgilook__ImageQueueMegapixelsPerClient=1000000
echo "== storing $((seconds * 4)) ~12 MP photos"
seq $((seconds * 4)) | xargs -P 4 -I{} curl -sf --data-binary "@$images/photo-12mp.jpg" -o /dev/null "$base/images"
curl -sf "$base/images" >"$work/formats-list.json"

declare -A rate bytes
for format in jpeg webp avif; do
    grep -o "/thumbnails/[^\"]*\.$format" "$work/formats-list.json" | sort -u | shuf --random-source=<(yes) >"$work/formats-paths-$format.txt"
    redis-cli -p "$redis_port" flushall >/dev/null
    out=$(PATHS=$work/formats-paths-$format.txt THREADS=2 wrk -t2 -c2 -d"${seconds}s" --timeout 60s -s bench/wrk/each-once.lua "$base" 2>&1)
    rate[$format-miss]=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    hit=$(grep -m1 '/530x354\.' "$work/formats-paths-$format.txt")
    bytes[$format-530]=$(curl -sf "$base$hit" | wc -c)
    curl -sf "$base$hit" -o /dev/null
    wrk -t2 -c16 -d2s "$base$hit" >/dev/null 2>&1
    out=$(wrk -t2 -c16 -d"${seconds}s" "$base$hit" 2>&1)
    rate[$format-hit]=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    echo "  $format: misses ${rate[$format-miss]} req/s, hits ${rate[$format-hit]} req/s, 530x354 ${bytes[$format-530]} B"
done

# A first visit at 1000 px: the first 12 images. Before: the JPEG the old sizes (50vw: 500 px) picked, the
# smallest listed width of at least 500 (1060 here); after: the AVIF of at least the column's 468 px (530).
first_visit() { # extension, minimum width: for each of 12 images, the smallest listed width of at least that
    grep -o "/thumbnails/[^\"]*\.$1" "$work/formats-list.json" | awk -F'/' -v min="$2" '{ split($4, s, "x"); if (s[1] + 0 >= min) print $3, s[1], $0 }' |
        sort -k1,1 -k2,2n | awk '!seen[$1]++ { print $3 }' | head -n 12 |
        while read -r path; do curl -sf "$base$path" | wc -c; done | awk '{ s += $1 } END { print s }'
}
before=$(first_visit jpeg 500)
after=$(first_visit avif 468)

{
    echo
    echo "| format | thumbnail misses, ~12 MP sources | hits (530×354) | bytes of a 530×354 |"
    echo "| --- | --- | --- | --- |"
    for format in jpeg webp avif; do
        printf '| %s | %s req/s | %s req/s | %s |\n' "$format" "${rate[$format-miss]}" "${rate[$format-hit]}" "${bytes[$format-530]}"
    done
    echo
    echo "first visit of the gallery at 1000 px (12 pictures): before $((before / 1024)) KiB of JPEG, after $((after / 1024)) KiB of AVIF ($(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.0f", 100 * a / b }') %)"
    grep '^chosen' "$work/formats-quality.txt"
} | tee "$work/formats.md"
rm -rf "$storage"
