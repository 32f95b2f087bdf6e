#!/usr/bin/env bash
# The README's session with HTTPie: upload an image, list, fetch a thumbnail twice (Miss, then Hit),
# delete the image with the delete token its upload answered.
#   examples/httpie.sh [IMAGE] [BASE_URL]      (defaults: an SVG this script draws, http://localhost:8000)
set -euo pipefail
base=${2:-http://localhost:8000}
image=${1:-}
if [ -z "$image" ]; then
    image=$(mktemp --suffix=.svg)
    trap 'rm -f "$image"' EXIT
    printf '%s' "<svg xmlns='http://www.w3.org/2000/svg' width='640' height='360'><rect width='100%' height='100%' fill='black'/><ellipse cx='320' cy='180' rx='200' ry='100' fill='yellow' stroke='red'/></svg>" >"$image"
fi
http() { command http --ignore-stdin --check-status "$@"; }

http -p hb POST "$base/images" "@$image" | tee /tmp/asgilook-httpie.$$
id=$(grep -o '"id": *"[^"]*' /tmp/asgilook-httpie.$$ | sed 's/.*"//')
thumbnail=$(grep -o '"/thumbnails/[^"]*' /tmp/asgilook-httpie.$$ | head -n 1 | tr -d '"')
token=$(grep -o '"delete_token": *"[^"]*' /tmp/asgilook-httpie.$$ | sed 's/.*"//')
rm -f /tmp/asgilook-httpie.$$

http -h "$base/images"
http -h "$base$thumbnail"
http -h "$base$thumbnail"
http -h DELETE "$base/images/$id.jpeg" "Authorization:Bearer $token"
