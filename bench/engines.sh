#!/usr/bin/env bash
# The two image engines side by side, beside each engine alone (no HTTP), in one run:
#   bench/engines.sh             (BENCH_SECONDS=10 per timed workload)
# For Vips (the default) and ImageSharp: uploads of a 1080p PNG and a ~12 MP JPEG, thumbnail misses
# over stored ~12 MP photos, peak RSS during 8 concurrent ~24 MP uploads, and what the formats the
# bundled libvips lacks cost: a 1080p BMP (ImageSharp's decoder under either engine) and, for Vips, a
# ~12 MP HEIC (HEVC, decoded by ImageMagick). The server runs with its shipped defaults but for the
# per-client rate limits, which wrk (one client) would hit at once. Output also in bench/work/engines.md.
source "$(dirname "$0")/common.sh"
need wrk wrk
need redis-server redis-server
need curl curl
need heif-enc libheif-examples
[ -x /usr/bin/convert ] || need convert imagemagick

build_release
make_images
[ -f "$images/photo-12mp.heic" ] || heif-enc -q 90 "$images/photo-12mp.jpg" -o "$images/photo-12mp.heic" >/dev/null
# A 12 MP BMP is 36 MB, over MaxUploadBytes: the BMP is the 1080p screenshot, beside its PNG.
[ -f "$images/screen-1080p.bmp" ] || /usr/bin/convert "$images/screen-1080p.png" "BMP3:$images/screen-1080p.bmp"

start_redis

start_server() { # engine, storage folder
    launch_server "$work/engines-server.log" "$2" ASGI_LOOK_IMAGE_ENGINE="$1" \
        Asgilook__RateLimits__UploadsPerMinute=0 Asgilook__RateLimits__RendersPerMinute=0 \
        Asgilook__RateLimits__UploadMegapixelsPerMinute=0 Asgilook__UploadsInFlightPerClient=100000 Asgilook__UploadBufferMegabytesPerClient=65536 Asgilook__ImageQueuePerClient=100000 Asgilook__ImageQueueMegapixelsPerClient=1000000
}

declare -A rate p50 errors count
run_wrk() { # NAME URL [wrk args...], after an uncounted warm-up of WARMUP seconds (none with NO_WARMUP=1)
    local name=$1 url=$2; shift 2
    local out
    [ "${NO_WARMUP:-0}" = 1 ] || wrk "$@" -d"${WARMUP:-2}s" "$url" >/dev/null 2>&1
    out=$(wrk --latency "$@" "$url" 2>&1)
    rate[$name]=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    p50[$name]=$(awk '$1 == "50%" { print $2 }' <<<"$out")
    errors[$name]=$(awk '/Non-2xx or 3xx/ { print $5 }' <<<"$out")
    count[$name]=$(awk '/requests in/ { print $1 }' <<<"$out")
    printf '  %-28s %10s req/s  p50 %8s  %s\n' "$name" "${rate[$name]}" "${p50[$name]}" "${errors[$name]:+(${errors[$name]} not 2xx)}"
}

echo "== each engine alone, in-process on all cores (no HTTP, store or cache)"
declare -A alone
for engine in Vips ImageSharp; do
    while read -r name value; do alone[$engine/$name]=$value; done < <(bench_tool engine "$engine" "$images" "$seconds")
    echo "  $engine: 1080p PNG ${alone[$engine/convert-1080p-png]}, 12 MP JPEG ${alone[$engine/convert-12mp-jpeg]} conversions/s, ${alone[$engine/thumbnail-12mp]} thumbnails/s"
done

declare -A rss
for engine in Vips ImageSharp; do
    echo "== $engine: uploads"
    rm -rf "$work/storage-engine"
    start_server "$engine" "$work/storage-engine"
    grep -o 'Image engine: [^,]*' "$work/engines-server.log" | sed 's/^/  /' || true
    BODY=$images/screen-1080p.png WARMUP=8 run_wrk "$engine/upload-1080p" "$base/images" -s bench/wrk/upload.lua -t2 -c4 -d"${seconds}s" --timeout 60s
    BODY=$images/photo-12mp.jpg WARMUP=8 run_wrk "$engine/upload-12mp" "$base/images" -s bench/wrk/upload.lua -t2 -c4 -d"${seconds}s" --timeout 60s
    BODY=$images/screen-1080p.bmp WARMUP=4 run_wrk "$engine/upload-1080p-bmp" "$base/images" -s bench/wrk/upload.lua -t2 -c4 -d"${seconds}s" --timeout 60s
    if [ "$engine" = Vips ]; then
        BODY=$images/photo-12mp.heic WARMUP=4 run_wrk "$engine/upload-12mp-heic" "$base/images" -s bench/wrk/upload.lua -t2 -c4 -d"${seconds}s" --timeout 60s
    fi

    echo "== $engine: thumbnail misses over the stored ~12 MP photos (every listed size of each, once, nothing cached)"
    curl -sf "$base/images?limit=1000" | grep -o '/thumbnails/[^"]*' | grep -E '/(2120x1416|1060x708|530x354|265x177|132x88)\.jpeg$' >"$work/engine-miss-paths.txt" || true
    want=$((seconds * 12))
    have=$(($(wc -l <"$work/engine-miss-paths.txt") / 5))
    [ "$have" -ge "$want" ] || upload_many $((want - have)) "$images/photo-12mp.jpg"
    curl -sf "$base/images?limit=1000" | grep -o '/thumbnails/[^"]*' | grep -E '/(2120x1416|1060x708|530x354|265x177|132x88)\.jpeg$' >"$work/engine-miss-paths.txt"
    redis-cli -p "$redis_port" flushall >/dev/null
    PATHS=$work/engine-miss-paths.txt THREADS=2 NO_WARMUP=1 run_wrk "$engine/thumbnail-miss" "$base" -s bench/wrk/each-once.lua -t2 -c2 -d"${seconds}s" --timeout 60s
    stop_server

    echo "== $engine: peak RSS during 8 concurrent ~24 MP uploads (fresh server)"
    rm -rf "$work/storage-engine"
    start_server "$engine" "$work/storage-engine"
    BODY=$images/photo-24mp.jpg NO_WARMUP=1 run_wrk "$engine/upload-24mp-x8" "$base/images" -s bench/wrk/upload.lua -t2 -c8 -d"${seconds}s" --timeout 60s
    rss[$engine]=$(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$server_pid/status")
    echo "  peak RSS ${rss[$engine]} MB"
    stop_server
done
rm -rf "$work/storage-engine"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
{
    echo
    echo "| workload | Vips (default) | ImageSharp | ImageSharp / Vips | libvips alone | ImageSharp alone |"
    echo "| --- | --- | --- | --- | --- | --- |"
    printf '| upload 1920×1080 PNG | %s req/s | %s req/s | %s | %s ops/s | %s ops/s |\n' "${rate[Vips/upload-1080p]}" "${rate[ImageSharp/upload-1080p]}" \
        "$(ratio "${rate[ImageSharp/upload-1080p]}" "${rate[Vips/upload-1080p]}")" "${alone[Vips/convert-1080p-png]}" "${alone[ImageSharp/convert-1080p-png]}"
    printf '| upload ~12 MP JPEG | %s req/s | %s req/s | %s | %s ops/s | %s ops/s |\n' "${rate[Vips/upload-12mp]}" "${rate[ImageSharp/upload-12mp]}" \
        "$(ratio "${rate[ImageSharp/upload-12mp]}" "${rate[Vips/upload-12mp]}")" "${alone[Vips/convert-12mp-jpeg]}" "${alone[ImageSharp/convert-12mp-jpeg]}"
    printf '| thumbnail miss, ~12 MP sources | %s req/s | %s req/s | %s | %s ops/s | %s ops/s |\n' "${rate[Vips/thumbnail-miss]}" "${rate[ImageSharp/thumbnail-miss]}" \
        "$(ratio "${rate[ImageSharp/thumbnail-miss]}" "${rate[Vips/thumbnail-miss]}")" "${alone[Vips/thumbnail-12mp]}" "${alone[ImageSharp/thumbnail-12mp]}"
    printf '| peak RSS, 8 concurrent ~24 MP uploads | %s MB | %s MB | %s | | |\n' "${rss[Vips]}" "${rss[ImageSharp]}" "$(ratio "${rss[ImageSharp]}" "${rss[Vips]}")"
    printf '| upload 1920×1080 BMP (ImageSharp decoder) | %s req/s (%s of its PNG) | %s req/s (%s of its PNG) | %s | | |\n' \
        "${rate[Vips/upload-1080p-bmp]}" "$(ratio "${rate[Vips/upload-1080p-bmp]}" "${rate[Vips/upload-1080p]}")" \
        "${rate[ImageSharp/upload-1080p-bmp]}" "$(ratio "${rate[ImageSharp/upload-1080p-bmp]}" "${rate[ImageSharp/upload-1080p]}")" \
        "$(ratio "${rate[ImageSharp/upload-1080p-bmp]}" "${rate[Vips/upload-1080p-bmp]}")"
    printf '| upload ~12 MP HEIC, HEVC (ImageMagick decoder) | %s req/s (%s of its JPEG) | refused (415) | | | |\n' \
        "${rate[Vips/upload-12mp-heic]}" "$(ratio "${rate[Vips/upload-12mp-heic]}" "${rate[Vips/upload-12mp]}")"
    echo
    refused=$(for k in "${!errors[@]}"; do [ -z "${errors[$k]}" ] || printf '%s %s; ' "$k" "${errors[$k]}"; done)
    echo "(${seconds} s a workload on $(nproc) cores; not-2xx answers: ${refused:-none})"
} | tee "$work/engines.md"
