#!/usr/bin/env bash
# A local Asgilook cluster on loopback: PostgreSQL (the catalog), Redis (shared cache, fill locks,
# events), N instances on consecutive ports sharing one storage folder, and nginx in front. With --s3,
# the images live in a bucket of a real S3 server (Ceph radosgw, started by deploy/s3-local.sh) and
# every instance has a folder of its own: instances share no folder, as on several machines.
#
#   deploy/cluster.sh                  2 instances; nginx on http://127.0.0.1:8000, instances on 8001, 8002
#   deploy/cluster.sh --instances 3 --port 9000
#   deploy/cluster.sh --s3             the same on a bucket (S3 endpoint, bucket and keys in cluster.env)
#
# Runs until Ctrl-C (or SIGTERM), then stops everything and deletes what it made. Missing
# PostgreSQL, Redis or nginx are installed from Debian's packages. Everything lives in one temporary
# folder, printed at start: PostgreSQL's data (run as its own user when started as root), the
# images, the logs, nginx's config, and cluster.env (ports and process ids, for scripts).
# Settings: --instances N, --port P (nginx on P, instances on P+1...P+N, their management ports on
# P+101...P+100+N), --keep (keep the folder), POSTGRES_PORT and REDIS_PORT (free ports by default),
# REDIS_MAXMEMORY (512mb), ASGILOOK_DLL (a built Asgilook.dll; by default the script builds Release),
# ASGI_LOOK_ADMIN_KEYS (a random admin key by default, written to cluster.env), ASGI_LOOK_UPLOAD_KEYS
# (unset: anyone may upload), and any other Asgilook__* setting, passed on to every instance.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

instances=2
port=8000
keep=false
s3=false
while [ $# -gt 0 ]; do
    case $1 in
        --instances) instances=$2; shift 2 ;;
        --port) port=$2; shift 2 ;;
        --keep) keep=true; shift ;;
        --s3) s3=true; shift ;;
        *) echo "usage: deploy/cluster.sh [--instances N] [--port P] [--keep] [--s3]" >&2; exit 2 ;;
    esac
done

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
# PostgreSQL refuses to run as root: as root, it runs as the postgres user that Debian's package made.
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
missing=()
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
    echo "cluster: installing ${missing[*]} with apt-get" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
nginx=$(command -v nginx || echo /usr/sbin/nginx)
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# Below Linux's ephemeral range (32768-60999), from which the system hands out the local ports of
# outgoing connections: a port picked there may be taken by a client socket before its server binds it.
free_port() {
    local candidate
    while :; do
        candidate=$((20000 + RANDOM % 12000))
        in_use "$candidate" || { echo "$candidate"; return; }
    done
}
for candidate in $(seq "$port" $((port + instances))) $(seq $((port + 101)) $((port + 100 + instances))); do
    if in_use "$candidate"; then
        echo "cluster: port $candidate is in use; choose another base with --port" >&2
        exit 1
    fi
done
postgres_port=${POSTGRES_PORT:-$(free_port)}
redis_port=${REDIS_PORT:-$(free_port)}
wait_until() { # what, its log, command...
    local what=$1 log=$2; shift 2
    for _ in $(seq 1 600); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    # The folder goes when the script exits: show the log's end now.
    echo "cluster: $what did not come up; the end of its log:" >&2
    tail -n 20 "$log" >&2 || true
    exit 1
}

if [ -z "${ASGILOOK_DLL:-}" ]; then
    echo "cluster: building Release" >&2
    dotnet build -c Release -v q -nologo asgilook/Asgilook.csproj >/dev/null
    ASGILOOK_DLL=$root/asgilook/bin/Release/net10.0/Asgilook.dll
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/asgilook-cluster.XXXXXX")
mkdir -p "$work/logs" "$work/images" "$work/nginx"
pids=()
stop() {
    trap - EXIT INT TERM
    echo "cluster: stopping" >&2
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    if [ -d "$work/s3" ]; then bash "$root/deploy/s3-local.sh" stop "$work/s3" 2>/dev/null || true; fi
    # runuser does not pass signals on to PostgreSQL: ask it to stop itself, at once if it will not.
    if [ -f "$work/postgres/data/postmaster.pid" ]; then
        as_postgres "$pg_bin/pg_ctl" -D "$work/postgres/data" stop -m fast -t 15 >/dev/null 2>&1 \
            || as_postgres "$pg_bin/pg_ctl" -D "$work/postgres/data" stop -m immediate >/dev/null 2>&1 || true
    fi
    # Whatever has not ended within 10 s is killed: stopping must never hang.
    for _ in $(seq 1 100); do
        running=false
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && running=true; done
        $running || break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if $keep; then echo "cluster: kept $work" >&2; else rm -rf "$work"; fi
}
trap stop EXIT
trap 'exit 130' INT TERM

# Passwords made for this run, readable by the user who started it only.
secret() { head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'; }
mkdir -p "$work/secrets" && chmod 700 "$work/secrets"
postgres_password=$(secret) asgilook_db_password=$(secret) redis_password=$(secret) redis_operator_password=$(secret)

mkdir -p "$work/postgres"
(umask 077; printf '%s\n' "$postgres_password" >"$work/postgres/pwfile"
    printf '127.0.0.1:%s:*:postgres:%s\n' "$postgres_port" "$postgres_password" >"$work/postgres/.pgpass")
if [ "$(id -u)" -eq 0 ]; then
    chmod 711 "$work"
    chown -R postgres:postgres "$work/postgres"
fi
# Every connection, even on loopback, proves its password (SCRAM-SHA-256); the superuser's never leaves this script.
as_postgres "$pg_bin/initdb" -D "$work/postgres/data" -U postgres -A scram-sha-256 --pwfile="$work/postgres/pwfile" \
    >"$work/logs/initdb.log" 2>&1 || { cat "$work/logs/initdb.log" >&2; exit 1; }
rm -f "$work/postgres/pwfile"
as_postgres "$pg_bin/postgres" -D "$work/postgres/data" -p "$postgres_port" -k "$work/postgres" \
    -c listen_addresses=127.0.0.1 >"$work/logs/postgres.log" 2>&1 &
pids+=($!)
wait_until "PostgreSQL" "$work/logs/postgres.log" as_postgres "$pg_bin/pg_isready" -h 127.0.0.1 -p "$postgres_port" -U postgres
# The instances connect as a role that is no superuser and owns only its database. (Passwords go through
# a file and standard input: never on a command line, where other users of the machine could read them.)
as_postgres env PGPASSFILE="$work/postgres/.pgpass" "$pg_bin/psql" -h 127.0.0.1 -p "$postgres_port" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
    >>"$work/logs/postgres.log" 2>&1 <<SQL
CREATE ROLE asgilook LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '$asgilook_db_password';
CREATE DATABASE asgilook OWNER asgilook;
REVOKE ALL ON DATABASE asgilook FROM PUBLIC;
SQL

# Bounded memory; when it is spent, the entries closest to expiry go first (cache entries live an
# hour, the invalidation counts beside them two, so the counts outlive what they guard).
# No anonymous access: the default user is off, and the instances' user may use Asgilook's keys and
# channels only, without the administrative commands (FLUSHALL, CONFIG, KEYS, ...).
(umask 077; cat >"$work/secrets/redis.acl" <<ACL
user default off
user asgilook on >$redis_password ~asgilook:* &asgilook:* +@all -@dangerous +info +client|setname +client|id
user operator on >$redis_operator_password ~* &* +@all
ACL
)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --aclfile "$work/secrets/redis.acl" \
    --maxmemory "${REDIS_MAXMEMORY:-512mb}" --maxmemory-policy volatile-ttl >"$work/logs/redis.log" 2>&1 &
pids+=($!)
wait_until "Redis" "$work/logs/redis.log" bash -c "exec 3<>/dev/tcp/127.0.0.1/$redis_port"

# Several server-GC processes on one machine: each gets its share of the cores as GC heaps, and no
# process pins its GC threads to cores the others use (pinned, two instances uploaded a third slower
# than one here; see bench/RESULTS.md). A value the caller set wins. (.NET reads these in hex.)
cores=$(nproc)
export DOTNET_GCHeapCount=${DOTNET_GCHeapCount:-$(printf '%x' $(( cores / instances > 0 ? cores / instances : 1 )))}
export DOTNET_GCNoAffinitize=${DOTNET_GCNoAffinitize:-1}
export ASGI_LOOK_STORAGE_PATH=$work/images
if $s3; then
    # Ceph's gateway on one in-memory OSD (its objects last as long as the cluster), with keys made for this run.
    s3_access_key=asgilook-$(secret) s3_secret_key=$(secret)
    mkdir -p "$work/s3"
    S3_ACCESS_KEY=$s3_access_key S3_SECRET_KEY=$s3_secret_key bash "$root/deploy/s3-local.sh" start "$work/s3" >"$work/logs/s3.env" 2>"$work/logs/s3.log" \
        || { tail -n 20 "$work/logs/s3.log" >&2; exit 1; }
    export ASGI_LOOK_S3_ENDPOINT=$(sed -n 's/^S3_ENDPOINT=//p' "$work/logs/s3.env")
    export ASGI_LOOK_S3_BUCKET=asgilook ASGI_LOOK_S3_ACCESS_KEY=$s3_access_key ASGI_LOOK_S3_SECRET_KEY=$s3_secret_key
    rm -f "$work/logs/s3.env" "$work/s3/s3.env"
fi
export ASGI_LOOK_REDIS_HOST=redis://asgilook:$redis_password@127.0.0.1:$redis_port/0
export ASGI_LOOK_DATABASE="Host=127.0.0.1;Port=$postgres_port;Username=asgilook;Password=$asgilook_db_password;Database=asgilook"
# Deleting any image takes an admin key: one is made unless given, and kept only in cluster.env.
export ASGI_LOOK_ADMIN_KEYS=${ASGI_LOOK_ADMIN_KEYS:-$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')}
# The instances see every client as nginx; they believe the X-Forwarded-For nginx sets, and no one else's.
export Asgilook__TrustedProxies__0=127.0.0.1
upstreams=
instance_pids=
for i in $(seq 1 "$instances"); do
    instance_port=$((port + i))
    # With a bucket, a folder of its own (for nothing it cannot lose); otherwise the shared one.
    if $s3; then mkdir -p "$work/instance-$i"; storage=$work/instance-$i; else storage=$work/images; fi
    # Metrics and readiness details on a loopback port of their own, which nginx does not proxy.
    ASGI_LOOK_STORAGE_PATH=$storage Asgilook__ManagementUrls=http://127.0.0.1:$((port + 100 + i)) \
        dotnet "$ASGILOOK_DLL" --urls "http://127.0.0.1:$instance_port" >"$work/logs/instance-$i.log" 2>&1 &
    pids+=($!)
    instance_pids+="$! "
    upstreams+="        server 127.0.0.1:$instance_port max_fails=1 fail_timeout=5s;"$'\n'
done
for i in $(seq 1 "$instances"); do
    wait_until "instance $i" "$work/logs/instance-$i.log" curl -sf "http://127.0.0.1:$((port + i))/health/ready"
done

cat >"$work/nginx.conf" <<NGINX
daemon off;
worker_processes auto;
pid $work/nginx.pid;
error_log $work/logs/nginx-error.log warn;
events {
    worker_connections 4096;
}
http {
    access_log off;
    include $root/deploy/nginx/asgilook-http.conf;
    client_body_temp_path $work/nginx/client_body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    upstream asgilook {
$upstreams        keepalive 32;
    }
    server {
        listen 127.0.0.1:$port;
        include $root/deploy/nginx/asgilook-server.conf;
    }
}
NGINX
"$nginx" -c "$work/nginx.conf" -p "$work/nginx" -e "$work/logs/nginx-error.log" &
pids+=($!)
wait_until "nginx" "$work/logs/nginx-error.log" curl -sf "http://127.0.0.1:$port/health"

(umask 077; cat >"$work/cluster.env" <<ENV
URL=http://127.0.0.1:$port
INSTANCE_PORTS="$(seq -s ' ' $((port + 1)) $((port + instances)))"
MANAGEMENT_PORTS="$(seq -s ' ' $((port + 101)) $((port + 100 + instances)))"
INSTANCE_PIDS="${instance_pids% }"
POSTGRES_PORT=$postgres_port
REDIS_PORT=$redis_port
REDIS_USER=asgilook
REDIS_PASSWORD=$redis_password
REDIS_OPERATOR_PASSWORD=$redis_operator_password
STORAGE=$work/images
ADMIN_KEY=${ASGI_LOOK_ADMIN_KEYS%%,*}
S3_ENDPOINT=${ASGI_LOOK_S3_ENDPOINT:-}
S3_BUCKET=${ASGI_LOOK_S3_BUCKET:-}
S3_ACCESS_KEY=${ASGI_LOOK_S3_ACCESS_KEY:-}
S3_SECRET_KEY=${ASGI_LOOK_S3_SECRET_KEY:-}
ENV
)
echo "cluster: $instances instance(s) on 127.0.0.1:$((port + 1))-$((port + instances)) behind nginx on http://127.0.0.1:$port"
echo "cluster: metrics and readiness on 127.0.0.1:$((port + 101))-$((port + 100 + instances)); the admin key is in $work/cluster.env"
echo "cluster: PostgreSQL on $postgres_port, Redis on $redis_port, files and logs in $work"
if $s3; then echo "cluster: images in bucket $ASGI_LOOK_S3_BUCKET at $ASGI_LOOK_S3_ENDPOINT (its keys are in cluster.env)"; fi
echo "cluster: ready (Ctrl-C stops it)"
wait
