#!/usr/bin/env bash
# A bounded "bad day" on loopback (BADDAY_SECONDS=60): trickled upload bodies, a flood of 12 MP uploads,
# a thousand event streams and cache-busting list queries, the security review's crafted inputs (SVG bombs,
# a BMP offset by 2 GiB, 100 MP PNGs from one client, 12 MP AVIF renders), each from made-up addresses (the server
# believes X-Forwarded-For from loopback, as it would behind nginx), while one well-behaved client
# uploads and reads. Reports that client's success rate and latencies, what the attackers were answered,
# the server's peak RSS and that of the server and its conversion workers together, the workers killed, and
# whether every acknowledged upload is listed and decodes afterwards.
# The server runs with the shipped defaults otherwise. Run bench/run.sh once first: it makes the images.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$root/bench/work
seconds=${BADDAY_SECONDS:-60}
[ -f "$work/images/photo-12mp.jpg" ] || { echo "badday: run bench/run.sh first (it makes bench/work/images)" >&2; exit 1; }
free_port() { local port; while :; do port=$((20000 + RANDOM % 12000)); (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }; done; }
wait_http() { for _ in $(seq 1 300); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done; echo "badday: $1 did not answer" >&2; exit 1; }

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

dotnet build -c Release -v q -nologo asgilook/Asgilook.csproj >/dev/null
dotnet build -c Release -v q -nologo bench/Asgilook.Bench/Asgilook.Bench.csproj >/dev/null

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no >/dev/null &
pids+=($!)
storage=$work/storage-badday
rm -rf "$storage"
port=$(free_port)
ASGI_LOOK_STORAGE_PATH=$storage ASGI_LOOK_REDIS_HOST=redis://127.0.0.1:$redis_port/0 Asgilook__TrustedProxies__0=127.0.0.1 \
    dotnet "$root/asgilook/bin/Release/net10.0/Asgilook.dll" --urls "http://127.0.0.1:$port" >"$work/badday-server.log" 2>&1 &
server=$!
pids+=("$server")
wait_http "http://127.0.0.1:$port/health"
ulimit -n 65536 2>/dev/null || true

rss_mb() { awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$server/status"; }
# Warmed as a server that has been up a while is: an upload, and a thumbnail in each format (their encoders loaded).
id=$(curl -sf --data-binary "@$work/images/photo-12mp.jpg" "http://127.0.0.1:$port/images" | grep -o '"id":"[^"]*' | cut -d'"' -f4)
for format in jpeg webp avif; do curl -sf -o /dev/null "http://127.0.0.1:$port/thumbnails/$id/530x354.$format"; done
sleep 3
before_rss=$(rss_mb)
echo "== a bad day of $seconds s against http://127.0.0.1:$port"
set +e
dotnet "$root/bench/Asgilook.Bench/bin/Release/net10.0/Asgilook.Bench.dll" badday "http://127.0.0.1:$port" "$work/images" "$seconds" "$server" | tee "$work/badday.txt"
status=${PIPESTATUS[0]}
set -e
echo "server-peak-rss-mb $(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$server/status")" | tee -a "$work/badday.txt"
sleep 5
after5=$(rss_mb)
sleep 5
echo "server-rss-mb before $before_rss, 5 s after $after5, 10 s after $(rss_mb)" | tee -a "$work/badday.txt"
echo "server-alive $(curl -sf -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health")" | tee -a "$work/badday.txt"
rm -rf "$storage"
exit "$status"
