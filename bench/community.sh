#!/usr/bin/env bash
# What issue 23's features cost an upload, with the shipped defaults (only the per-client budgets off, as in
# bench/run.sh), in one run:
#   bench/community.sh          (BENCH_SECONDS=10 per timed workload, BENCH_ROUNDS=2 alternations)
# - uploads of new content (distinct 1920×1080 JPEGs: the bytes are written), and of the same content again
#   (stored once: no bytes written), c8;
# - on the catalog alone, what storing identical uploads once adds to an upload of new content (the content's lookup
#   before the bytes are written, the add after them) beside the limit, one plain SQLite INSERT;
# - uploads of new content with a moderation hook (a bare Kestrel endpoint that reads the JPEG and answers 204)
#   against the same without one; the limit beside it: the hook alone, POSTed the same JPEG by wrk;
# - animated GIF uploads of 10, 40 and 160 frames (480×270), one at a time: ms per upload and per frame, beside the
#   limit: plain NetVips making the first frame's JPEG and the half-size animated WebP, on one core.
source "$(dirname "$0")/common.sh"
prepare_wrk_bench
rounds=${BENCH_ROUNDS:-2}
bench_tool community "$images" 500 >/dev/null
ls "$images"/distinct/*.jpg | sed -n '1,100p' >"$work/warm.txt"
ls "$images"/distinct/*.jpg | sed -n '101,$p' >"$work/new.txt"

bare_port=$(free_port)
mkdir -p "$work/bare" && cp "$images/distinct/0000.jpg" "$work/bare/upload.jpg"
bench_tool kestrel "$bare_port" "$work/bare" "127.0.0.1:$redis_port" >/dev/null &
pids+=($!)
wait_http "http://127.0.0.1:$bare_port/memory/upload.jpg"
hook=http://127.0.0.1:$bare_port/hook

upload_new() { # NAME: the warm-up list, then the measured one, each file once
    PATHS=$work/warm.txt POST_TO=/images THREADS=2 wrk -s bench/wrk/each-once.lua -t2 -c8 -d5s --timeout 30s "$base" >/dev/null 2>&1
    PATHS=$work/new.txt POST_TO=/images THREADS=2 NO_WARMUP=1 run_wrk "$1" "$base" -s bench/wrk/each-once.lua -t2 -c8 -d"${seconds}s" --timeout 30s
}
# ms_per_upload FILE COUNT: the median time of COUNT uploads of FILE, one at a time.
ms_per_upload() {
    for _ in $(seq "$2"); do curl -sf -o /dev/null -w '%{time_total}\n' --data-binary "@$1" "$base/images"; done |
        sort -g | awk '{ v[NR] = $1 * 1000 } END { printf "%.1f", v[int((NR + 1) / 2)] }'
}

declare -A gif
for round in $(seq "$rounds"); do
    for hooked in no yes; do
        echo "== round $round, moderation hook: $hooked"
        rm -rf "$work/storage-community"; flush_redis
        settings=("${limits_off[@]}")
        [ "$hooked" = yes ] && settings+=(Asgilook__Moderation__Url="$hook")
        launch_server "$work/server-community.log" "$work/storage-community" "${settings[@]}"
        upload_new "new-$hooked-$round"
        if [ "$hooked" = no ]; then
            sleep 2 # the uploads still in flight when wrk stopped
            stored=$(ls "$work/storage-community"/*.jpeg | wc -l)
            BODY=$images/distinct/0000.jpg run_wrk "same-$round" "$base/images" -s bench/wrk/upload.lua -t2 -c8 -d"${seconds}s" --timeout 30s
            echo "  originals stored by ${count[same-$round]} uploads of the same content: $(($(ls "$work/storage-community"/*.jpeg | wc -l) - stored))"
            for frames in 10 40 160; do
                curl -sf -o /dev/null --data-binary "@$images/animated-$frames.gif" "$base/images" # warm
                gif[$frames-$round]=$(ms_per_upload "$images/animated-$frames.gif" 9)
                echo "  animated GIF, $frames frames: ${gif[$frames-$round]} ms per upload"
            done
        fi
        stop_server
    done
    BODY=$images/distinct/0000.jpg run_wrk "hook-alone-$round" "$hook" -s bench/wrk/upload.lua -t2 -c8 -d"${seconds}s"
done
for workload in new-no new-yes same hook-alone; do median "$workload" "$rounds"; done
gif_median() { for r in $(seq "$rounds"); do echo "${gif[$1-$r]}"; done | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "== the catalog alone: ms per call (dedup lookup, add, plain INSERT), median of $rounds"
declare -A catalog_ms
for r in $(seq "$rounds"); do
    rm -rf "$work/catalog"
    read -r lookup add plain_insert < <(bench_tool catalog "$work/catalog" 1000)
    catalog_ms[lookup-$r]=$lookup; catalog_ms[add-$r]=$add; catalog_ms[plain-$r]=$plain_insert
    echo "  round $r: lookup $lookup, add $add, plain INSERT $plain_insert"
done
catalog_median() { for r in $(seq "$rounds"); do echo "${catalog_ms[$1-$r]}"; done | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "== limit: plain NetVips per GIF"
declare -A plain
while read -r frames ms; do plain[$frames]=$ms; done < <(bench_tool animated "$images" 9)

per_frame() { echo "scale=2; ($2 - $1) / 150" | bc; } # the slope from 10 to 160 frames
{
echo
echo "| uploads, c8 (median of $rounds) | req/s | ÷ new content, no hook |"
echo "| --- | --- | --- |"
printf '| new content (distinct 1920×1080 JPEGs: bytes written) | %s | 100 %% |\n' "${rate[new-no]}"
printf '| the same content again (stored once: no bytes written) | %s | %s %% |\n' "${rate[same]}" "$(echo "scale=0; 100 * ${rate[same]} / ${rate[new-no]}" | bc)"
printf '| new content, moderation hook on loopback | %s | %s %% |\n' "${rate[new-yes]}" "$(echo "scale=0; 100 * ${rate[new-yes]} / ${rate[new-no]}" | bc)"
printf '| the limit: the hook alone, POSTed the same JPEG | %s | |\n' "${rate[hook-alone]}"
echo
echo "| the catalog alone, 1,000 calls on a catalog of 1,000 images | ms per call |"
echo "| --- | --- |"
printf '| the content lookup before the bytes are written (a miss: nothing listed, rolled back) | %s |\n' "$(catalog_median lookup)"
printf '| the add after them (under the content lock: lookup and insert) | %s |\n' "$(catalog_median add)"
printf '| the limit: one plain SQLite INSERT (WAL, synchronous=FULL) | %s |\n' "$(catalog_median plain)"
printf '| what storing once adds to an upload of new content (lookup + add - INSERT) | %s |\n' \
    "$(echo "scale=3; $(catalog_median lookup) + $(catalog_median add) - $(catalog_median plain)" | bc)"
echo
echo "| animated GIF upload, 480×270, one at a time | Asgilook, ms | plain NetVips, ms | Asgilook ÷ limit |"
echo "| --- | --- | --- | --- |"
for frames in 10 40 160; do
    a=$(gif_median "$frames")
    printf '| %s frames | %s | %s | %s %% |\n' "$frames" "$a" "${plain[$frames]}" "$(echo "scale=0; 100 * $a / ${plain[$frames]}" | bc)"
done
printf '| per frame (10 to 160 frames) | %s | %s | |\n' "$(per_frame "$(gif_median 10)" "$(gif_median 160)")" "$(per_frame "${plain[10]}" "${plain[160]}")"
} | tee "$work/community-run.md"
