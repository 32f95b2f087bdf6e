#!/usr/bin/env bash
# Asgilook's benchmark with the shipped defaults, beside the raw limits of this machine, in one run:
#   bench/run.sh                 (BENCH_SECONDS=10 per timed workload)
# Builds Release, makes the images from real photos (Debian's plasma-workspace-wallpapers),
# starts redis-server and the real server, drives it with wrk, measures libvips alone and a bare
# Kestrel endpoint on the same bytes, and prints each workload as a ratio to its limit.
# Everything it makes goes to bench/work/ (ignored by git).
source "$(dirname "$0")/common.sh"
cores=$(nproc)
prepare_wrk_bench

limits_unspendable=(Asgilook__RateLimits__UploadsPerMinute=100000000 Asgilook__RateLimits__RendersPerMinute=100000000)
start_server() { # storage folder, then settings (NAME=value ...; the limits off when none are given)
    local storage=$1; shift
    [ $# -gt 0 ] || set -- "${limits_off[@]}"
    launch_server "$work/server.log" "$storage" "$@"
    start_tree_sampler "$server_pid" "$work/tree-peak-kb"
}
# The peak of the server and its conversion workers together, sampled every 100 ms since the server started.
peak_rss() { echo $(($(cat "$work/tree-peak-kb") / 1024)); }
peak_pss() { echo $(($(cat "$work/tree-peak-kb.pss") / 1024)); }

rounds=${BENCH_ROUNDS:-3}

echo "== Asgilook (Release, Redis cache, $cores cores, shipped defaults); peak RSS over the whole pass"
rm -rf "$work/storage"; flush_redis
start_server "$work/storage"
BODY=$images/photo-24mp.jpg NO_WARMUP=1 run_wrk upload-24mp-x8 "$base/images" -s bench/wrk/upload.lua -t2 -c8 -d"${seconds}s" --timeout 60s
# Uploads are slow requests (tens a second): they need longer to reach the optimised code.
BODY=$images/screen-1080p.png WARMUP=8 run_wrk upload-1080p "$base/images" -s bench/wrk/upload.lua -t2 -c8 -d"${seconds}s" --timeout 30s
BODY=$images/photo-12mp.jpg WARMUP=8 run_wrk upload-12mp "$base/images" -s bench/wrk/upload.lua -t2 -c8 -d"${seconds}s" --timeout 30s

# Enough ~12 MP images that a timed run cannot render all their thumbnails (5 sizes each).
have=$(curl -sf "$base/images?limit=1000" | grep -o '"size":\[4240,2832\]' | wc -l)
want=$((seconds * 16))
if [ "$have" -lt "$want" ]; then
    upload_many $((want - have)) "$images/photo-12mp.jpg"
fi
curl -sf "$base/images?limit=1000" >"$work/list-before.json"
# Thumbnails of the ~12 MP uploads: every listed size of each, requested once, cache flushed.
grep -o '/thumbnails/[^"]*' "$work/list-before.json" | grep -E '/(2120x1416|1060x708|530x354|265x177|132x88)\.jpeg$' >"$work/miss-paths.txt"
misses=$(wc -l <"$work/miss-paths.txt")
flush_redis
PATHS=$work/miss-paths.txt THREADS=2 NO_WARMUP=1 run_wrk thumbnail-miss "$base" -s bench/wrk/each-once.lua -t2 -c2 -d"${seconds}s" --timeout 60s
if [ "${count[thumbnail-miss]}" -ge "$misses" ]; then
    echo "bench: all $misses thumbnails were rendered before the time was up; the miss rate is not measured" >&2
    exit 1
fi
echo "  (${count[thumbnail-miss]} of $misses listed thumbnails, each requested once, none cached nor kept)"

hit=$(grep -m1 265x177 "$work/miss-paths.txt")
curl -sf "$base$hit" -o "$work/images/hit.jpg"; curl -sf "$base$hit" -o /dev/null
original=$(grep -o '"image":"[^"]*' "$work/list-before.json" | sed -n '$p' | cut -d'"' -f4)
curl -sf "$base$original" -o "$work/images/original.jpg"
echo "  original $(($(stat -c %s "$work/images/original.jpg") / 1024)) KiB"

stored=$(curl -sf "$base/images?limit=1000" | grep -o '"id"' | wc -l)
if [ "$stored" -lt 1000 ]; then
    upload_many $((1000 - stored)) "$images/tiny.png"
fi
curl -sf "$base/images" -o "$work/images/list.json"; curl -sf "$base/images" -o /dev/null
curl -sf "$base/images?limit=50" -o "$work/images/page.json"
echo "  list of $(grep -o '"id"' "$work/images/list.json" | wc -l) images, $(($(stat -c %s "$work/images/list.json") / 1024)) KiB"

echo "== the hit paths and the original beside bare Kestrel on the same bytes, interleaved, $rounds rounds (medians)"
bare_port=$(free_port)
dotnet "$root/bench/Asgilook.Bench/bin/Release/net10.0/Asgilook.Bench.dll" kestrel "$bare_port" "$images" "127.0.0.1:$redis_port" >/dev/null &
pids+=($!)
bare=http://127.0.0.1:$bare_port
wait_http "$bare/memory/hit.jpg"
for r in $(seq "$rounds"); do
    run_wrk "thumbnail-hit-$r" "$base$hit" -t2 -c16 -d"${seconds}s"
    run_wrk "bare-memory-thumbnail-$r" "$bare/memory/hit.jpg" -t2 -c16 -d"${seconds}s"
    run_wrk "list-cached-$r" "$base/images" -t2 -c16 -d"${seconds}s"
    run_wrk "bare-memory-list-$r" "$bare/memory/list.json" -t2 -c16 -d"${seconds}s"
    run_wrk "original-get-$r" "$base$original" -t2 -c8 -d"${seconds}s"
    run_wrk "bare-file-original-$r" "$bare/file/original.jpg" -t2 -c8 -d"${seconds}s"
done
for name in thumbnail-hit bare-memory-thumbnail list-cached bare-memory-list original-get bare-file-original; do median "$name" "$rounds"; done
run_wrk bare-redis-thumbnail "$bare/redis/hit.jpg" -t2 -c16 -d"${seconds}s"
run_wrk bare-redis-list "$bare/redis/list.json" -t2 -c16 -d"${seconds}s"
run_wrk bare-memory-original "$bare/memory/original.jpg" -t2 -c8 -d"${seconds}s"
run_wrk bare-memory-page "$bare/memory/page.json" -t2 -c16 -d"${seconds}s"
run_wrk list-uncached "$base/images?limit=1000" -t2 -c16 -d"${seconds}s"
run_wrk list-page-50 "$base/images?limit=50" -t2 -c16 -d"${seconds}s"
peak_rss_mb=$(peak_rss); peak_pss_mb=$(peak_pss)
echo "  peak over the pass: RSS of the tree summed ${peak_rss_mb} MiB, PSS (shared pages once) ${peak_pss_mb} MiB"
stop_server

echo "== misses served from kept renders: restarted (memory tier empty), Redis flushed, 8 connections"
# Each kept render can miss once only (once sent, it is put in the cache), and there are only as many as the
# miss run rendered: the first hundred warm the restarted process up (uncounted), the rest are measured at 8
# connections, and their rate is 8 / mean latency (Little's law: the list ends before wrk's shortest run).
# Send-file is measured at 8 connections too.
head -n "${count[thumbnail-miss]}" "$work/miss-paths.txt" >"$work/kept-paths.txt"
head -n 100 "$work/kept-paths.txt" >"$work/kept-warmup.txt"; tail -n +101 "$work/kept-paths.txt" >"$work/kept-measured.txt"
kept_jpeg=$(ls "$work/storage/"*.renders/265x177.*.jpeg | head -n 1)
cp "$kept_jpeg" "$images/kept.jpg"
flush_redis
start_server "$work/storage"
PATHS=$work/kept-warmup.txt THREADS=1 NO_WARMUP=1 run_wrk thumbnail-kept-warmup "$base" -s bench/wrk/each-once.lua -t1 -c1 -d2s --timeout 60s >/dev/null
PATHS=$work/kept-measured.txt THREADS=1 NO_WARMUP=1 run_wrk thumbnail-kept "$base" -s bench/wrk/each-once.lua -t1 -c8 -d"${seconds}s" --timeout 60s
rate[thumbnail-kept]=$(echo "scale=1; 8 * 1000 / ${avg[thumbnail-kept]}" | bc)
rendered=$(curl -sf "$base/metrics" | awk '/^asgilook_thumbnails_rendered_total/ { print $2 }')
echo "  (${count[thumbnail-kept]} kept renders requested once each, mean ${avg[thumbnail-kept]} ms: ${rate[thumbnail-kept]} req/s at 8 connections; rendered again: ${rendered:-0})"
# The limit: bare Kestrel sending the same files (every size, as the list orders them), each once, the same way.
while read -r path; do
    id=$(cut -d/ -f3 <<<"$path"); size=$(basename "$path" .jpeg)
    cp "$(ls "$work/storage/$id.renders/$size."*.jpeg | head -n 1)" "$images/kept-$id-$size.jpg"
    echo "/file/kept-$id-$size.jpg"
done <"$work/kept-measured.txt" >"$work/bare-kept-paths.txt"
PATHS=$work/bare-kept-paths.txt THREADS=1 NO_WARMUP=1 run_wrk bare-file-kept "$bare" -s bench/wrk/each-once.lua -t1 -c8 -d"${seconds}s" --timeout 60s
rate[bare-file-kept]=$(echo "scale=1; 8 * 1000 / ${avg[bare-file-kept]}" | bc)
echo "  (the same ${count[bare-file-kept]} files sent once each by bare Kestrel, mean ${avg[bare-file-kept]} ms: ${rate[bare-file-kept]} req/s at 8 connections)"
rm -f "$images/"kept-*.jpg
run_wrk bare-file-thumbnail "$bare/file/kept.jpg" -t2 -c8 -d"${seconds}s"
kept_rss_mb=$(peak_rss); kept_pss_mb=$(peak_pss)
[ "$kept_rss_mb" -le "$peak_rss_mb" ] || peak_rss_mb=$kept_rss_mb
[ "$kept_pss_mb" -le "$peak_pss_mb" ] || peak_pss_mb=$kept_pss_mb
stop_server

echo "== the request log: the defaults (off) against on, alternating"
for r in 1 2; do
    for mode in off on; do
        if [ "$mode" = on ]; then start_server "$work/storage" "${limits_off[@]}" Logging__LogLevel__Asgilook.Operations.RequestLog=Information; else start_server "$work/storage"; fi
        curl -sf "$base$hit" -o /dev/null
        run_wrk "log-hit-$mode-$r" "$base$hit" -t2 -c16 -d"${seconds}s"
        stop_server
    done
done

echo "== the cost of the access checks: rate limits on (in Redis, budgets no run can spend) against off, alternating"
for round in 1 2; do
    for mode in off on; do
        rm -rf "$work/storage-access"
        if [ "$mode" = on ]; then start_server "$work/storage-access" "${limits_unspendable[@]}"; else start_server "$work/storage-access"; fi
        BODY=$images/screen-1080p.png WARMUP=8 run_wrk "access-upload-$mode-$round" "$base/images" -s bench/wrk/upload.lua -t2 -c4 -d"${seconds}s" --timeout 30s
        access_hit=$(curl -sf "$base/images?limit=1" | grep -o '/thumbnails/[^"]*' | head -n 1)
        curl -sf "$base$access_hit" -o /dev/null; curl -sf "$base$access_hit" -o /dev/null
        run_wrk "access-hit-$mode-$round" "$base$access_hit" -t2 -c16 -d"${seconds}s"
        stop_server
    done
done
rm -rf "$work/storage-access"

echo "== limits: libvips alone (plain NetVips calls, none of Asgilook's code), then Asgilook's engine, on all $cores cores"
echo "   (name, operations a second, ms of CPU per operation)"
vips=$(bench_tool plain "$images" "$seconds"; bench_tool vips "$images" "$seconds")
echo "$vips" | sed 's/^/  /'
limit() { awk -v k="$1" '$1 == k { print $2 }' <<<"$vips"; }
cpu() { awk -v k="$1" '$1 == k { print $3 }' <<<"$vips"; }

ratio() { echo "scale=0; 100 * $1 / $2" | bc; }
row() { printf '| %s | %s | %s | %s | %s%% | %s |\n' "$1" "$2" "$3" "$4" "$(ratio "$5" "$6")" "$7"; }
{
echo
echo "| workload | Asgilook | p50 / p99 (ms) | limit on this machine | ratio | target |"
echo "| --- | --- | --- | --- | --- | --- |"
row "upload 1920×1080 PNG, c8" "${rate[upload-1080p]} req/s" "${p50[upload-1080p]} / ${p99[upload-1080p]}" "libvips alone $(limit plain-convert-1080p-png) ops/s ($(cpu plain-convert-1080p-png) ms CPU; engine $(limit convert-1080p-png))" "${rate[upload-1080p]}" "$(limit plain-convert-1080p-png)" "≥ 85 %"
row "upload ~12 MP JPEG, c8" "${rate[upload-12mp]} req/s" "${p50[upload-12mp]} / ${p99[upload-12mp]}" "libvips alone $(limit plain-convert-12mp-jpeg) ops/s ($(cpu plain-convert-12mp-jpeg) ms CPU; engine $(limit convert-12mp-jpeg))" "${rate[upload-12mp]}" "$(limit plain-convert-12mp-jpeg)" "≥ 85 %"
row "upload ~24 MP JPEG, c8, first of the pass (no warm-up)" "${rate[upload-24mp-x8]} req/s" "${p50[upload-24mp-x8]} / ${p99[upload-24mp-x8]}" "libvips alone $(limit plain-convert-24mp-jpeg) ops/s ($(cpu plain-convert-24mp-jpeg) ms CPU; engine $(limit convert-24mp-jpeg))" "${rate[upload-24mp-x8]}" "$(limit plain-convert-24mp-jpeg)" ""
row "thumbnail miss, rendered (each listed size once)" "${rate[thumbnail-miss]} req/s" "${p50[thumbnail-miss]} / ${p99[thumbnail-miss]}" "libvips alone $(limit plain-thumbnail-12mp) ops/s (engine $(limit thumbnail-12mp))" "${rate[thumbnail-miss]}" "$(limit plain-thumbnail-12mp)" "≥ 90 %"
row "thumbnail miss, kept render (restarted, Redis flushed), every size, c8" "${rate[thumbnail-kept]} req/s" "${p50[thumbnail-kept]} / ${p99[thumbnail-kept]}" "Kestrel send-file of the same files ${rate[bare-file-kept]} req/s (one 265×177 file again and again: ${rate[bare-file-thumbnail]})" "${rate[thumbnail-kept]}" "${rate[bare-file-kept]}" "≥ 50 %"
row "thumbnail hit ($(($(stat -c %s "$images/hit.jpg") / 1024)) KiB), median of $rounds" "${rate[thumbnail-hit]} req/s" "${p50[thumbnail-hit-1]} / ${p99[thumbnail-hit-1]}" "Kestrel from memory ${rate[bare-memory-thumbnail]} req/s (+Redis ${rate[bare-redis-thumbnail]})" "${rate[thumbnail-hit]}" "${rate[bare-memory-thumbnail]}" "≥ 75 %"
row "list of 1,000 ($(($(stat -c %s "$images/list.json") / 1024)) KiB), cached, median of $rounds" "${rate[list-cached]} req/s" "${p50[list-cached-1]} / ${p99[list-cached-1]}" "Kestrel from memory ${rate[bare-memory-list]} req/s (+Redis ${rate[bare-redis-list]})" "${rate[list-cached]}" "${rate[bare-memory-list]}" "≥ 90 %"
row "original GET ($(($(stat -c %s "$images/original.jpg") / 1024)) KiB), c8, median of $rounds" "${rate[original-get]} req/s" "${p50[original-get-1]} / ${p99[original-get-1]}" "Kestrel send-file ${rate[bare-file-original]} req/s (from memory ${rate[bare-memory-original]})" "${rate[original-get]}" "${rate[bare-file-original]}" "≥ 90 %"
row "list of 1,000, uncached" "${rate[list-uncached]} req/s" "${p50[list-uncached]} / ${p99[list-uncached]}" "Kestrel from memory ${rate[bare-memory-list]} req/s" "${rate[list-uncached]}" "${rate[bare-memory-list]}" ""
row "list, one page of 50" "${rate[list-page-50]} req/s" "${p50[list-page-50]} / ${p99[list-page-50]}" "Kestrel from memory ${rate[bare-memory-page]} req/s" "${rate[list-page-50]}" "${rate[bare-memory-page]}" ""
printf '| peak memory of the server and its workers over the whole pass, 24 MP ×8 uploads included: PSS (RSS summed) | %s MiB (%s MiB) | | | %s%% of 400 MiB | ≤ 400 MiB |\n' "$peak_pss_mb" "$peak_rss_mb" "$(ratio "$peak_pss_mb" 400)"
printf '| thumbnails rendered again after a restart and a Redis flush | %s | | | | 0 |\n' "${rendered:-0}"
mean() { echo "scale=2; ($1 + $2) / 2" | bc; }
upload_off=$(mean "${rate[access-upload-off-1]}" "${rate[access-upload-off-2]}"); upload_on=$(mean "${rate[access-upload-on-1]}" "${rate[access-upload-on-2]}")
hit_off=$(mean "${rate[access-hit-off-1]}" "${rate[access-hit-off-2]}"); hit_on=$(mean "${rate[access-hit-on-1]}" "${rate[access-hit-on-2]}")
printf '| upload 1080p with rate limits on | %s req/s | | off: %s req/s | %s%% | ≥ 95 %% |\n' "$upload_on" "$upload_off" "$(ratio "$upload_on" "$upload_off")"
printf '| thumbnail hit with rate limits on | %s req/s | | off: %s req/s | %s%% | ≥ 95 %% |\n' "$hit_on" "$hit_off" "$(ratio "$hit_on" "$hit_off")"
log_off=$(mean "${rate[log-hit-off-1]}" "${rate[log-hit-off-2]}"); log_on=$(mean "${rate[log-hit-on-1]}" "${rate[log-hit-on-2]}")
printf '| thumbnail hit with the request log on | %s req/s | | defaults (off): %s req/s | %s%% | |\n' "$log_on" "$log_off" "$(ratio "$log_on" "$log_off")"
} | tee "$work/last-run.md"
echo
echo "(also in bench/work/last-run.md; not-2xx answers during uploads: ${errors[upload-1080p]:-0} + ${errors[upload-12mp]:-0} + ${errors[upload-24mp-x8]:-0})"
