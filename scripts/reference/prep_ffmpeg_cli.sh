#!/usr/bin/env bash
# The `ffmpeg` tool's side of the `mer prep meld` comparison: the same conversion (every
# videos/{split}/*.mp4 → 16 kHz mono FLAC), one ffmpeg process per core at a time.
#   bash scripts/reference/prep_ffmpeg_cli.sh MELD_ROOT OUT_DIR
set -euo pipefail
root=$1
out=$2
mkdir -p "$out"
jobs=$(nproc)
start=$(date +%s.%N)
count=$(find "$root"/videos -name 'dia*_utt*.mp4' | wc -l)
find "$root"/videos -name 'dia*_utt*.mp4' -print0 |
  xargs -0 -P "$jobs" -I{} sh -c \
    'ffmpeg -v error -nostdin -y -i "$1" -vn -ac 1 -ar 16000 -c:a flac "$2/$(basename "$1" .mp4).flac" || echo "broken: $1"' \
    _ {} "$out"
end=$(date +%s.%N)
awk -v n="$count" -v s="$start" -v e="$end" -v j="$jobs" \
  'BEGIN { printf "ffmpeg tool, %d processes: %d clips in %.1f s = %.1f clips/s\n", j, n, e - s, n / (e - s) }'
