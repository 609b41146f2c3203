#!/usr/bin/env bash
# A MELD-like folder of generated clips for the prep benchmark: N clips of 3 s, 640x360 H.264
# at 24 fps with stereo 48 kHz AAC (MELD's clips are H.264 with AAC), in videos/train/.
#   bash scripts/reference/make_meld_like_clips.sh OUT_ROOT [N]
set -euo pipefail
root=$1
n=${2:-60}
mkdir -p "$root/videos/train"
for i in $(seq 0 $((n - 1))); do
  ffmpeg -v error -nostdin -y -f lavfi -i "testsrc2=size=640x360:rate=24" \
    -f lavfi -i "sine=frequency=$((200 + i * 7)):sample_rate=48000" -t 3 \
    -c:v libx264 -preset veryfast -pix_fmt yuv420p -c:a aac -ac 2 \
    "$root/videos/train/dia$((i / 10))_utt$((i % 10)).mp4"
done
echo "made $n clips in $root/videos/train"
