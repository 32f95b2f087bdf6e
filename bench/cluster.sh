#!/usr/bin/env bash
# The multi-instance benchmark: upload and thumbnail throughput of one instance (straight and behind
# nginx) and of two instances behind nginx, each a deploy/cluster.sh cluster (PostgreSQL catalog,
# Redis cache, one storage folder), then what the shared parts cost: PostgreSQL catalog inserts
# with pgbench, Redis memory per cached thumbnail, and the storage folder's fsynced writes.
#   bench/cluster.sh             (run bench/run.sh once first: it makes the images; BENCH_SECONDS=10)
# Writes bench/work/cluster-last-run.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$root/bench/work
images=$work/images
seconds=${BENCH_SECONDS:-10}
[ -f "$images/photo-12mp.jpg" ] || { echo "bench: run bench/run.sh first, it makes $images" >&2; exit 1; }
command -v wrk >/dev/null || { echo "bench: run bench/run.sh first, it installs wrk" >&2; exit 1; }

dotnet build -c Release -v q -nologo asgilook/Asgilook.csproj >/dev/null
export ASGILOOK_DLL=$root/asgilook/bin/Release/net10.0/Asgilook.dll
export Logging__LogLevel__Default=Warning
# wrk is one client: its per-client budgets would refuse most of a run (bench/run.sh measures what they cost).
export Asgilook__RateLimits__UploadsPerMinute=0 Asgilook__RateLimits__RendersPerMinute=0 Asgilook__RateLimits__UploadMegapixelsPerMinute=0 Asgilook__UploadsInFlightPerClient=100000 Asgilook__UploadBufferMegabytesPerClient=65536 Asgilook__ImageQueuePerClient=100000 Asgilook__ImageQueueMegapixelsPerClient=1000000

cluster_pid=
stop_cluster() {
    [ -n "$cluster_pid" ] || return 0
    kill -TERM "$cluster_pid" 2>/dev/null || true
    wait "$cluster_pid" 2>/dev/null || true
    cluster_pid=
}
trap stop_cluster EXIT
start_cluster() { # instances
    local port=$((20000 + RANDOM % 11000)) output=$work/cluster.out  # below the ephemeral range, with room for the management ports
    deploy/cluster.sh --instances "$1" --port "$port" >"$output" 2>&1 &
    cluster_pid=$!
    for _ in $(seq 1 600); do grep -q "ready" "$output" && break; sleep 0.2; done
    grep -q "ready" "$output" || { cat "$output" >&2; exit 1; }
    # shellcheck disable=SC1090
    source "$(sed -n 's/.*files and logs in \(.*\)$/\1/p' "$output")/cluster.env"
}
flush_redis() { REDISCLI_AUTH=$REDIS_OPERATOR_PASSWORD redis-cli --user operator -p "$REDIS_PORT" flushall >/dev/null; }
rendered_total() { # sum of asgilook_thumbnails_rendered_total over the instances (on their management ports)
    local port total=0 n
    for port in $MANAGEMENT_PORTS; do
        n=$(curl -sf "http://127.0.0.1:$port/metrics" | awk '/^asgilook_thumbnails_rendered_total/ { print $2 }')
        total=$((total + ${n:-0}))
    done
    echo "$total"
}

declare -A rate errors count rendered
run_wrk() { # name url [wrk args...]
    local name=$1 url=$2; shift 2
    [ "${NO_WARMUP:-0}" = 1 ] || wrk "$@" -d"${WARMUP:-2}s" "$url" >/dev/null 2>&1
    local out
    out=$(wrk "$@" "$url" 2>&1)
    rate[$name]=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    errors[$name]=$(awk '/Non-2xx or 3xx/ { print $5 }' <<<"$out")
    count[$name]=$(awk '/requests in/ { print $1 }' <<<"$out")
    printf '  %-32s %10s req/s  %s\n' "$name" "${rate[$name]}" "${errors[$name]:+(${errors[$name]} not 2xx)}"
}
measure() { # label base-url
    local label=$1 base=$2 have want
    BODY=$images/screen-1080p.png WARMUP=8 run_wrk "upload $label" "$base/images" -s bench/wrk/upload.lua -t2 -c4 -d"${seconds}s" --timeout 30s
    have=$(curl -sf "$base/images" | { grep -o '"size":\[4240,2832\]' || true; } | wc -l)
    want=$((seconds * 20))
    [ "$have" -ge "$want" ] || seq $((want - have)) | xargs -P 4 -I{} curl -sf --data-binary "@$images/photo-12mp.jpg" -o /dev/null "$base/images"
    curl -sf "$base/images?limit=1000" | grep -o '/thumbnails/[^"]*' | grep -E '/(2120x1416|1060x708|530x354|265x177|132x88)\.jpeg$' >"$work/cluster-paths.txt"
    flush_redis
    local before after
    before=$(rendered_total)
    PATHS=$work/cluster-paths.txt THREADS=2 NO_WARMUP=1 run_wrk "thumbnail miss $label" "$base" -s bench/wrk/each-once.lua -t2 -c4 -d"${seconds}s" --timeout 60s
    after=$(rendered_total)
    rendered[$label]=$((after - before))
    echo "    ${count[thumbnail miss $label]} misses answered, $((after - before)) thumbnails rendered by all instances together"
    run_wrk "thumbnail hit $label" "$base$(sed -n 3p "$work/cluster-paths.txt")" -t2 -c16 -d"${seconds}s"
}

echo "== one instance"
start_cluster 1
measure "1 instance, straight" "http://127.0.0.1:${INSTANCE_PORTS%% *}"
measure "1 instance, nginx" "$URL"

echo "== what the shared parts cost (this cluster's PostgreSQL, Redis and storage folder)"
flush_redis
paths=$(wc -l <"$work/cluster-paths.txt")
head -n 200 "$work/cluster-paths.txt" | xargs -P 4 -I{} curl -sf -o /dev/null "$URL{}"
redis_bytes=$(REDISCLI_AUTH=$REDIS_OPERATOR_PASSWORD redis-cli --user operator -p "$REDIS_PORT" info memory | awk -F: '/^used_memory:/ { print $2 + 0 }')
redis_keys=$(REDISCLI_AUTH=$REDIS_OPERATOR_PASSWORD redis-cli --user operator -p "$REDIS_PORT" dbsize)
thumbnail_bytes=$(head -n 200 "$work/cluster-paths.txt" | while read -r path; do curl -sf "$URL$path" | wc -c; done | awk '{ s += $1 } END { printf "%.0f", s / NR }')
echo "  Redis: $redis_bytes bytes used for $redis_keys keys after 200 distinct thumbnails (mean thumbnail $thumbnail_bytes bytes of $paths listed)"
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cat >"$work/pgbench-insert.sql" <<'SQL'
INSERT INTO images_bench (id, width, height, uploaded_at, byte_length, sha256)
VALUES (gen_random_uuid(), 4240, 2832, (extract(epoch from clock_timestamp()) * 1000)::bigint, 2500000, md5(random()::text) || md5(random()::text));
SQL
chmod 644 "$work/pgbench-insert.sql"
as_postgres "$pg_bin/psql" -q -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres -d asgilook \
    -c "SET client_min_messages = warning; DROP TABLE IF EXISTS images_bench; CREATE TABLE images_bench (LIKE images INCLUDING ALL);"
inserts=$(as_postgres "$pg_bin/pgbench" -n -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres -c 4 -j 2 -T "$seconds" -f "$work/pgbench-insert.sql" asgilook 2>/dev/null \
    | awk '/^tps/ { printf "%.0f", $3 }')
as_postgres "$pg_bin/psql" -q -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres -d asgilook -c "DROP TABLE images_bench;"
echo "  PostgreSQL: $inserts catalog inserts/s (4 clients, one committed transaction each, fsync on)"
# The storage folder: fsynced 2.5 MB writes, as an upload's file is written.
writes=0 started=$(date +%s.%N)
while [ "$(echo "$(date +%s.%N) - $started < $seconds / 2" | bc)" = 1 ]; do
    dd if="$images/original.jpg" of="$STORAGE/.bench-write" bs=1M conv=fsync status=none
    writes=$((writes + 1))
done
rm -f "$STORAGE/.bench-write"
write_rate=$(echo "scale=1; $writes / ($(date +%s.%N) - $started)" | bc)
echo "  storage folder: $write_rate fsynced $(($(stat -c %s "$images/original.jpg") / 1024)) KiB writes/s"
stop_cluster

echo "== two instances"
start_cluster 2
measure "2 instances, nginx" "$URL"
stop_cluster

ratio() { echo "scale=0; 100 * $1 / $2" | bc; }
{
echo
echo "| workload | 1 instance, straight | 1 instance, nginx | 2 instances, nginx | 2 vs 1 behind nginx |"
echo "| --- | --- | --- | --- | --- |"
for workload in "upload" "thumbnail miss" "thumbnail hit"; do
    a=${rate[$workload 1 instance, straight]} b=${rate[$workload 1 instance, nginx]} c=${rate[$workload 2 instances, nginx]}
    echo "| $workload | $a req/s | $b req/s ($(ratio "$b" "$a")%) | $c req/s ($(ratio "$c" "$a")%) | $(ratio "$c" "$b")% |"
done
echo
echo "Shared parts: PostgreSQL $inserts catalog inserts/s; Redis $((redis_bytes / redis_keys)) bytes per key on average with 200 cached thumbnails (mean body $thumbnail_bytes bytes); storage folder $write_rate fsynced writes/s of 2.4 MiB."
echo "Thumbnail misses answered / rendered: $(for label in "1 instance, straight" "1 instance, nginx" "2 instances, nginx"; do printf '%s %s / %s; ' "$label" "${count[thumbnail miss $label]}" "${rendered[$label]}"; done)"
echo "Not-2xx answers: $(for name in "${!errors[@]}"; do [ -n "${errors[$name]}" ] && printf '%s: %s; ' "$name" "${errors[$name]}"; done)none otherwise."
} | tee "$work/cluster-last-run.md"
