#!/usr/bin/env bash
# What decoding uploads in conversion workers costs, beside decoding them in the server
# (Asgilook__UploadDecoding=InProcess), in one run: uploads of a 1920x1080 PNG and a ~12 MP JPEG at one and
# at eight connections, alternating the two modes, ROUNDS rounds (3). Reports req/s, p50 latency, and the CPU
# time one upload costs the server and its workers together. Per-client limits and shares are off (wrk is one
# client); everything else is as shipped. Run bench/run.sh once first: it makes the images.
source "$(dirname "$0")/common.sh"
need wrk wrk
need redis-server redis-server
[ -f "$images/photo-12mp.jpg" ] || { echo "sandbox: run bench/run.sh first (it makes bench/work/images)" >&2; exit 1; }
build_release
start_redis
rounds=${ROUNDS:-3}

echo "| decoding | upload | connections | req/s | p50 ms | CPU ms per upload |"
echo "| --- | --- | --- | --- | --- | --- |"
for round in $(seq "$rounds"); do
    for mode in Sandboxed InProcess; do
        storage=$work/storage-sandbox
        rm -rf "$storage"
        launch_server "$work/sandbox-server.log" "$storage" "${limits_off[@]}" Asgilook__UploadDecoding=$mode
        for body in screen-1080p.png photo-12mp.jpg; do
            for connections in 1 8; do
                BODY=$images/$body wrk -s bench/wrk/upload.lua -t1 -c"$connections" -d5s --timeout 60s "$base/images" >/dev/null 2>&1
                before=$(tree_cpu_ms "$server_pid")
                out=$(BODY=$images/$body wrk --latency -s bench/wrk/upload.lua -t1 -c"$connections" -d"${seconds}s" --timeout 60s "$base/images" 2>&1)
                after=$(tree_cpu_ms "$server_pid")
                requests=$(awk '/requests in/ { print $1 }' <<<"$out")
                rate=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
                p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
                echo "| $mode (round $round) | $body | $connections | $rate | $p50 | $(( (after - before) / (requests > 0 ? requests : 1) )) |"
            done
        done
        stop_server
    done
done
