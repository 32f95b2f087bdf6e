# Sourced by the bench/ scripts: strict mode, the repository as the working folder, bench/work/ and
# BENCH_SECONDS, installing what a benchmark needs, free ports, the processes to stop on exit, the
# Release build, the benchmark images made from real photos (Debian's plasma-workspace-wallpapers),
# the settings that turn the per-client budgets off for wrk, and run_wrk.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
work=$root/bench/work
seconds=${BENCH_SECONDS:-10}
mkdir -p "$work"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
need() { # COMMAND PACKAGE: installs PACKAGE with apt-get when COMMAND is missing
    if ! command -v "$1" >/dev/null 2>&1; then
        echo "bench: installing $2" >&2
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
    fi
}

# Below Linux's ephemeral range (32768-60999), where wrk's own connections take their local ports.
free_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 12000))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
    done
}
wait_http() { for _ in $(seq 1 300); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done; echo "bench: $1 did not answer" >&2; exit 1; }

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

build_release() {
    echo "== building Release"
    dotnet build -c Release -v q -nologo "$root/asgilook/Asgilook.csproj" >/dev/null
    dotnet build -c Release -v q -nologo "$root/bench/Asgilook.Bench/Asgilook.Bench.csproj" >/dev/null
}
bench_tool() { dotnet "$root/bench/Asgilook.Bench/bin/Release/net10.0/Asgilook.Bench.dll" "$@"; }

images=$work/images
make_images() {
    if [ ! -f "$images/photo-24mp.jpg" ]; then
        echo "== making the images from real photos"
        mkdir -p "$work/debs" && (cd "$work/debs" && apt-get download plasma-workspace-wallpapers >/dev/null 2>&1 || as_root apt-get download plasma-workspace-wallpapers)
        dpkg -x "$work"/debs/plasma-workspace-wallpapers_*.deb "$work/debs/x"
        local wallpapers=$work/debs/x/usr/share/wallpapers
        bench_tool prepare "$images" "$wallpapers/Path/contents/images/2560x1600.jpg,$wallpapers/FallenLeaf/contents/images/2560x1600.jpg"
    fi
}

# The start of a benchmark that drives one server with wrk: its tools, the Release build, the images, Redis.
prepare_wrk_bench() {
    need wrk wrk
    need redis-server redis-server
    need curl curl
    need bc bc
    build_release
    make_images
    start_redis
}

# launch_server LOG STORAGE [NAME=value ...]: the Release server on a free port, its cache the Redis of
# start_redis, with those settings; sets server_pid and base and waits until it answers.
server_pid=
launch_server() {
    local log=$1 storage=$2; shift 2
    app_port=$(free_port)
    env ASGI_LOOK_STORAGE_PATH="$storage" ASGI_LOOK_REDIS_HOST=redis://127.0.0.1:$redis_port/0 "$@" \
        dotnet "$root/asgilook/bin/Release/net10.0/Asgilook.dll" --urls "http://127.0.0.1:$app_port" >"$log" 2>&1 &
    server_pid=$!
    pids+=("$server_pid")
    base=http://127.0.0.1:$app_port
    wait_http "$base/health"
}
stop_server() { kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; }

# Empties the Redis of start_redis (bench/cluster.sh has its own, with the cluster's operator user).
flush_redis() { redis-cli -p "$redis_port" flushall >/dev/null; }
# Setup, not measurement: stores COUNT copies of FILE, four uploads at a time.
upload_many() { seq "$1" | xargs -P 4 -I{} curl -sf --data-binary "@$2" -o /dev/null "$base/images"; }

start_redis() { # sets redis_port
    redis_port=$(free_port)
    redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no >/dev/null &
    pids+=($!)
    sleep 0.3
}

# The server process and its conversion workers: the RSS of the whole tree, and its peak over a stretch of a run.
# tree_sum_kb PID FILE FIELD: FIELD (in KiB) of /proc/<pid>/FILE, summed over the process and its children. A process
# that is exiting has no such field: it counts 0, like one already gone.
tree_sum_kb() {
    local pid=$1 file=$2 field=$3 total=0 process value
    for process in "$pid" $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
        value=$(awk -v field="$field:" '$1 == field { print $2 }' "/proc/$process/$file" 2>/dev/null)
        total=$((total + ${value:-0}))
    done
    echo "$total"
}
# tree_rss_kb PID: the resident set of the tree, summed (a library mapped by every process counts once per process).
tree_rss_kb() { tree_sum_kb "$1" status VmRSS; }
# tree_pss_kb PID: the proportional set size of the tree: each shared page (the runtime's and libvips' libraries,
# mapped by the server and every worker) counted once, split among its users.
tree_pss_kb() { tree_sum_kb "$1" smaps_rollup Pss; }
# start_tree_sampler PID FILE: every 100 ms, keeps the tree's largest RSS sum (KiB) in FILE and its largest PSS
# sum in FILE.pss; stop with kill $sampler_pid.
start_tree_sampler() {
    local pid=$1 file=$2
    echo 0 >"$file"; echo 0 >"$file.pss"
    ( peak=0; ppeak=0; while kill -0 "$pid" 2>/dev/null; do
        now=$(tree_rss_kb "$pid"); [ "$now" -gt "$peak" ] && { peak=$now; echo "$peak" >"$file"; }
        now=$(tree_pss_kb "$pid"); [ "$now" -gt "$ppeak" ] && { ppeak=$now; echo "$ppeak" >"$file.pss"; }
        sleep 0.1; done ) &
    sampler_pid=$!
    pids+=("$sampler_pid")
}
# tree_cpu_ms PID: CPU time (user + system) of the process, its live children and the children it reaped, in ms.
tree_cpu_ms() {
    local pid=$1 ticks child hz
    hz=$(getconf CLK_TCK)
    ticks=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pid/stat")
    for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
        ticks=$((ticks + $(awk '{ print $14 + $15 }' "/proc/$child/stat" 2>/dev/null || echo 0)))
    done
    echo $((ticks * 1000 / hz))
}

# wrk is one client: the per-client budgets (60 uploads, 1,000 megapixels, 600 renders a minute) and shares
# (16 uploads arriving, 16 jobs or 200 MP queued at once) would refuse most of a run, so the throughput workloads
# turn them off (bench/run.sh measures what the checks cost on their own). Nothing else is set: the server runs with
# the shipped defaults (no logging override).
limits_off=(Asgilook__RateLimits__UploadsPerMinute=0 Asgilook__RateLimits__RendersPerMinute=0 Asgilook__RateLimits__UploadMegapixelsPerMinute=0
    Asgilook__UploadsInFlightPerClient=100000 Asgilook__UploadBufferMegabytesPerClient=65536 Asgilook__ImageQueuePerClient=100000 Asgilook__ImageQueueMegapixelsPerClient=1000000)

declare -A rate p50 p99 avg errors count
# run_wrk NAME URL [wrk args...]: records req/s, p50, p99 (ms) and non-2xx/3xx answers, after a
# warm-up of the same load (WARMUP seconds, 5 by default; none with NO_WARMUP=1) that is not counted:
# .NET compiles hot code again, optimised, after its first calls, and a cold start would be measured.
run_wrk() {
    local name=$1 url=$2; shift 2
    local out
    [ "${NO_WARMUP:-0}" = 1 ] || wrk "$@" -d"${WARMUP:-5}s" "$url" >/dev/null 2>&1
    out=$(wrk --latency "$@" "$url" 2>&1)
    rate[$name]=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    p50[$name]=$(awk '$1 == "50%" { print $2 }' <<<"$out" | to_ms)
    avg[$name]=$(awk '$1 == "Latency" { print $2; exit }' <<<"$out" | to_ms)
    p99[$name]=$(awk '$1 == "99%" { print $2 }' <<<"$out" | to_ms)
    errors[$name]=$(awk '/Non-2xx or 3xx/ { print $5 }' <<<"$out")
    count[$name]=$(awk '/requests in/ { print $1 }' <<<"$out")
    printf '  %-28s %10s req/s  p50 %8s ms  p99 %8s ms  %s\n' "$name" "${rate[$name]}" "${p50[$name]}" "${p99[$name]}" "${errors[$name]:+(${errors[$name]} not 2xx)}"
}
to_ms() { awk '{ v = $1; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } printf "%.2f", v }'; }
# median NAME ROUNDS: the median of NAME-1 .. NAME-ROUNDS, recorded as NAME.
median() { rate[$1]=$(for r in $(seq "$2"); do echo "${rate[$1-$r]}"; done | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'); }
