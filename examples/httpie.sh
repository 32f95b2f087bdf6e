#!/usr/bin/env bash
# The README's session with HTTPie: upload an image, list, fetch a thumbnail twice (Miss, then Hit),
# delete the image with the delete token its upload answered.
#   examples/httpie.sh [IMAGE] [BASE_URL]      (defaults: an SVG this script draws, http://localhost:8000)
set -euo pipefail
base=${2:-http://localhost:8000}
image=${1:-}
# A folder of its own (mktemp -d works alike with GNU and BSD/macOS mktemp), removed on exit.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/asgilook-example.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
if [ -z "$image" ]; then
    image=$scratch/drawn.svg
    printf '%s' "<svg xmlns='http://www.w3.org/2000/svg' width='640' height='360'><rect width='100%' height='100%' fill='black'/><ellipse cx='320' cy='180' rx='200' ry='100' fill='yellow' stroke='red'/></svg>" >"$image"
fi
http() { command http --ignore-stdin --check-status "$@"; }

http -p hb POST "$base/images" "@$image" | tee "$scratch/upload.json"
id=$(grep -o '"id": *"[^"]*' "$scratch/upload.json" | sed 's/.*"//')
thumbnail=$(grep -o '"/thumbnails/[^"]*' "$scratch/upload.json" | head -n 1 | tr -d '"')
token=$(grep -o '"delete_token": *"[^"]*' "$scratch/upload.json" | sed 's/.*"//')

http -h "$base/images"
http -h "$base$thumbnail"
http -h "$base$thumbnail"
http -h DELETE "$base/images/$id.jpeg" "Authorization:Bearer $token"
