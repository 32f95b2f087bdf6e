#!/usr/bin/env bash
# The README's session with curl: upload an image, list, fetch it back, fetch a thumbnail twice
# (rendered, then from the cache), revalidate it (304), delete the image with the delete token its
# upload answered (a delete without it is refused).
#   examples/curl.sh [IMAGE] [BASE_URL]        (defaults: an SVG this script draws, http://localhost:8000)
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

status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
header() { curl -s -o /dev/null -D - "${@:2}" | tr -d '\r' | awk -v name="$1" 'tolower($0) ~ "^" tolower(name) ":" { sub(/^[^:]*: /, ""); print }'; }

echo "== upload $image"
created=$(curl -s --fail-with-body --data-binary "@$image" "$base/images")
echo "$created"
id=$(sed -E 's/.*"id":"([^"]+)".*/\1/' <<<"$created")
thumbnail=$(sed -E 's/.*"thumbnails":\["([^"]+)".*/\1/' <<<"$created")
token=$(sed -E 's/.*"delete_token":"([^"]+)".*/\1/' <<<"$created")

echo "== list: $(status "$base/images")"
echo "== original: $(status "$base/images/$id.jpeg") $(header content-type "$base/images/$id.jpeg")"
echo "== thumbnail $thumbnail: X-ASGILook-Cache $(header x-asgilook-cache "$base$thumbnail")"
echo "== again: X-ASGILook-Cache $(header x-asgilook-cache "$base$thumbnail")"
etag=$(header etag "$base$thumbnail")
echo "== revalidated with If-None-Match $etag: $(status -H "If-None-Match: $etag" "$base$thumbnail")"
echo "== an unlisted size: $(status "$base/thumbnails/$id/1x1.jpeg")"
echo "== delete without the token: $(status -X DELETE "$base/images/$id.jpeg")"
echo "== delete: $(status -X DELETE -H "Authorization: Bearer $token" "$base/images/$id.jpeg")"
echo "== original after the delete: $(status "$base/images/$id.jpeg")"
