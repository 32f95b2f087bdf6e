#!/usr/bin/env bash
# The storage folder against an S3 bucket (Ceph radosgw on loopback, deploy/s3-local.sh), side by side in one run,
# with the shipped defaults (only the per-client budgets off, as in bench/run.sh):
#   bench/storage.sh            (BENCH_SECONDS=10 per timed workload, BENCH_ROUNDS=2 alternations of the two stores)
# Per store: uploads, thumbnail misses rendered (each listed size of ~12 MP photos once) and served from kept renders
# (restarted, Redis flushed), the original GET (with the read cache, as shipped, and without) and the uncached list;
# the S3 calls each request made and their mean time (from asgilook_store_duration_seconds); the peak RSS. The limits
# beside them: bare Kestrel sending the original from the file, and the original and a kept render from the bucket
# with one plain SDK GetObject each.
source "$(dirname "$0")/common.sh"
prepare_wrk_bench
rounds=${BENCH_ROUNDS:-2}

s3dir=$work/s3
rm -rf "$s3dir"
S3_ACCESS_KEY=bench S3_SECRET_KEY=bench-secret-key bash deploy/s3-local.sh start "$s3dir" >"$work/s3.env" 2>"$work/s3.log"
stop_s3() { bash deploy/s3-local.sh stop "$s3dir" 2>/dev/null || true; }
trap 'cleanup; stop_s3' EXIT
s3_endpoint=$(sed -n 's/^S3_ENDPOINT=//p' "$work/s3.env")
echo "== S3: Ceph radosgw at $s3_endpoint"

start_store() { # STORE ROUND [NAME=value ...]: the server on that store, a fresh folder (and bucket) per round
    local store=$1 round=$2; shift 2
    local settings=("${limits_off[@]}" "$@")
    if [ "$store" = s3 ]; then
        settings+=(ASGI_LOOK_S3_ENDPOINT="$s3_endpoint" ASGI_LOOK_S3_BUCKET="bench-$round" ASGI_LOOK_S3_ACCESS_KEY=bench ASGI_LOOK_S3_SECRET_KEY=bench-secret-key)
    fi
    launch_server "$work/server-$store.log" "$work/storage-$store-$round" "${settings[@]}"
    start_tree_sampler "$server_pid" "$work/tree-peak-$store-$round"
}
# store_calls: "operation count sum-seconds" for every S3 operation so far, from the server's /metrics.
store_calls() {
    curl -sf "$base/metrics" | awk '/^asgilook_store_duration_seconds_(count|sum)\{/ {
        match($0, /operation="[a-z]+"/); op = substr($0, RSTART + 11, RLENGTH - 12)
        if ($0 ~ /_count\{/) count[op] += $2; else sum[op] += $2 }
        END { for (op in count) print op, count[op], sum[op] }'
}
declare -A calls ms
# calls_between NAME BEFORE AFTER REQUESTS: S3 calls per request, and their mean ms, between two store_calls snapshots.
calls_between() {
    local name=$1 before=$2 after=$3 requests=$4
    local per each
    read -r per each < <(join -a2 <(sort <<<"$before") <(sort <<<"$after") | awk -v n="$requests" '
        { if (NF == 5) { c += $4 - $2; s += $5 - $3 } else { c += $2; s += $3 } }
        END { printf "%.2f %.1f\n", (n > 0 ? c / n : 0), (c > 0 ? 1000 * s / c : 0) }')
    calls[$name]=$per; ms[$name]=$each
}

declare -A peak
for round in $(seq "$rounds"); do
    for store in folder s3; do
        echo "== $store, round $round"
        rm -rf "$work/storage-$store-$round"; flush_redis
        start_store "$store" "$round"
        # The warm-up apart from the measured run, so that the calls counted are the measured requests'.
        BODY=$images/screen-1080p.png wrk -s bench/wrk/upload.lua -t2 -c8 -d8s --timeout 30s "$base/images" >/dev/null 2>&1
        before=$(store_calls)
        BODY=$images/screen-1080p.png NO_WARMUP=1 run_wrk "upload-$store-$round" "$base/images" -s bench/wrk/upload.lua -t2 -c8 -d"${seconds}s" --timeout 30s
        calls_between "upload-$store-$round" "$before" "$(store_calls)" "${count[upload-$store-$round]}"

        # ~12 MP photos, more than a timed run renders, each listed size requested once with the cache flushed.
        upload_many $((seconds * 12)) "$images/photo-12mp.jpg"
        curl -sf "$base/images?limit=1000" | grep -o '/thumbnails/[^"]*' | grep -E '/(2120x1416|1060x708|530x354|265x177|132x88)\.jpeg$' >"$work/miss-$store.txt"
        flush_redis
        before=$(store_calls)
        PATHS=$work/miss-$store.txt THREADS=2 NO_WARMUP=1 run_wrk "miss-$store-$round" "$base" -s bench/wrk/each-once.lua -t2 -c2 -d"${seconds}s" --timeout 60s
        calls_between "miss-$store-$round" "$before" "$(store_calls)" "${count[miss-$store-$round]}"

        original=$(curl -sf "$base/images?limit=1" | grep -o '"image":"[^"]*' | cut -d'"' -f4)
        curl -sf "$base$original" -o "$images/storage-original.jpg"
        wrk -t2 -c8 -d5s "$base$original" >/dev/null 2>&1
        before=$(store_calls)
        NO_WARMUP=1 run_wrk "original-$store-$round" "$base$original" -t2 -c8 -d"${seconds}s"
        calls_between "original-$store-$round" "$before" "$(store_calls)" "${count[original-$store-$round]}"
        run_wrk "list-$store-$round" "$base/images?limit=1000" -t2 -c16 -d"${seconds}s"
        kill "$sampler_pid" 2>/dev/null || true
        peak[$store-$round]=$(($(cat "$work/tree-peak-$store-$round") / 1024))
        stop_server

        # Kept renders: restarted (memory tier empty), Redis flushed, each rendered thumbnail once, 8 connections;
        # the first 50 warm the process up, the rate of the rest is 8 / mean latency (the list ends before wrk would).
        head -n "${count[miss-$store-$round]}" "$work/miss-$store.txt" >"$work/kept-$store.txt"
        head -n 50 "$work/kept-$store.txt" >"$work/kept-warmup.txt"; tail -n +51 "$work/kept-$store.txt" >"$work/kept-measured.txt"
        flush_redis
        start_store "$store" "$round"
        PATHS=$work/kept-warmup.txt THREADS=1 NO_WARMUP=1 run_wrk kept-warmup "$base" -s bench/wrk/each-once.lua -t1 -c1 -d2s --timeout 60s >/dev/null
        before=$(store_calls)
        PATHS=$work/kept-measured.txt THREADS=1 NO_WARMUP=1 run_wrk "kept-$store-$round" "$base" -s bench/wrk/each-once.lua -t1 -c8 -d"${seconds}s" --timeout 60s
        rate[kept-$store-$round]=$(echo "scale=1; 8 * 1000 / ${avg[kept-$store-$round]}" | bc)
        calls_between "kept-$store-$round" "$before" "$(store_calls)" "${count[kept-$store-$round]}"
        if [ "$store" = s3 ]; then
            # The kept render sent by the bare limit below, and the original read from the bucket with no copy kept.
            kept_path=$(grep -m1 /530x354 "$work/kept-measured.txt")
            curl -sf "$base$kept_path" -o "$images/storage-kept.jpg"
            kill "$sampler_pid" 2>/dev/null || true
            stop_server
            start_store s3 "$round" Asgilook__S3__ReadCacheMegabytes=0
            wrk -t2 -c8 -d5s "$base$original" >/dev/null 2>&1
            before=$(store_calls)
            NO_WARMUP=1 run_wrk "original-nocopy-s3-$round" "$base$original" -t2 -c8 -d"${seconds}s"
            calls_between "original-nocopy-s3-$round" "$before" "$(store_calls)" "${count[original-nocopy-s3-$round]}"
        fi
        kill "$sampler_pid" 2>/dev/null || true
        stop_server
    done
done
median original-nocopy-s3 "$rounds"
for store in folder s3; do
    for workload in upload miss original list kept; do median "$workload-$store" "$rounds"; done
done

echo "== limits: bare Kestrel sending the original from the file and from the bucket (one plain SDK GetObject each)"
mkdir -p "$work/bare" && cp "$images/storage-original.jpg" "$work/bare/original.jpg" && cp "$images/storage-kept.jpg" "$work/bare/kept.jpg"
bare_port=$(free_port)
S3_ACCESS_KEY=bench S3_SECRET_KEY=bench-secret-key \
    dotnet "$root/bench/Asgilook.Bench/bin/Release/net10.0/Asgilook.Bench.dll" kestrel "$bare_port" "$work/bare" "127.0.0.1:$redis_port" "$s3_endpoint" bare >/dev/null &
pids+=($!)
wait_http "http://127.0.0.1:$bare_port/s3/original.jpg"
for r in $(seq "$rounds"); do
    run_wrk "bare-file-$r" "http://127.0.0.1:$bare_port/file/original.jpg" -t2 -c8 -d"${seconds}s"
    run_wrk "bare-s3-$r" "http://127.0.0.1:$bare_port/s3/original.jpg" -t2 -c8 -d"${seconds}s"
    run_wrk "bare-s3-kept-$r" "http://127.0.0.1:$bare_port/s3/kept.jpg" -t2 -c8 -d"${seconds}s"
done
median bare-file "$rounds"; median bare-s3 "$rounds"; median bare-s3-kept "$rounds"

ratio() { echo "scale=0; 100 * $1 / $2" | bc; }
{
echo
echo "| workload (median of $rounds) | folder | S3 (radosgw, loopback) | S3 ÷ folder | goal | S3 calls per request, mean ms each |"
echo "| --- | --- | --- | --- | --- | --- |"
row() { printf '| %s | %s req/s | %s req/s | %s%% | %s | %s |\n' "$1" "${rate[$2-folder]}" "${rate[$2-s3]}" "$(ratio "${rate[$2-s3]}" "${rate[$2-folder]}")" "$3" "${calls[$2-s3-1]:-0} × ${ms[$2-s3-1]:-0} ms"; }
row "upload 1920×1080 PNG, c8" upload "≥ 80 %"
row "thumbnail miss, rendered (~12 MP originals), c2" miss ""
row "thumbnail miss, kept render (restarted, Redis flushed), c8" kept ""
row "original GET ($(($(stat -c %s "$images/storage-original.jpg") / 1024)) KiB), c8" original "≥ 50 %"
row "list (limit=1000), uncached, c16" list ""
printf '| original GET with no copy kept (S3:ReadCacheMegabytes=0), c8 | | %s req/s | %s%% | | %s × %s ms |\n' "${rate[original-nocopy-s3]}" "$(ratio "${rate[original-nocopy-s3]}" "${rate[original-folder]}")" "${calls[original-nocopy-s3-1]:-0}" "${ms[original-nocopy-s3-1]:-0}"
printf '| peak RSS of the server and its workers, round 1 | %s MiB | %s MiB | | | |\n' "${peak[folder-1]}" "${peak[s3-1]}"
echo
echo "| the limits (bare Kestrel, median of $rounds) | req/s | Asgilook on the same path | Asgilook ÷ limit |"
echo "| --- | --- | --- | --- |"
printf '| send-file of the original | %s | original GET, folder: %s | %s%% |\n' "${rate[bare-file]}" "${rate[original-folder]}" "$(ratio "${rate[original-folder]}" "${rate[bare-file]}")"
printf '| one plain SDK GetObject of the original, copied to the answer | %s | original GET, bucket, no copy: %s | %s%% |\n' "${rate[bare-s3]}" "${rate[original-nocopy-s3]}" "$(ratio "${rate[original-nocopy-s3]}" "${rate[bare-s3]}")"
printf '| one plain SDK GetObject of a kept render (530×354, %s KiB; the run asks for every size) | %s | kept-render miss, bucket: %s | %s%% |\n' "$(($(stat -c %s "$images/storage-kept.jpg") / 1024))" "${rate[bare-s3-kept]}" "${rate[kept-s3]}" "$(ratio "${rate[kept-s3]}" "${rate[bare-s3-kept]}")"
} | tee "$work/storage-run.md"
