"""OpenCV side of `mer bench media`: 16 frames per clip as the original codebase read them.

The original read through the whole clip with grab/retrieve (cv2.VideoCapture.read), kept the
frames at floor(arange(0, n, n / 16)), and converted BGR to RGB. This script times that per clip
(`ms_per_clip`, median of --runs, 2 threads), and OpenCV at its fastest for the same frames
(`grab_ms_per_clip`: grab every frame up to the last wanted one, retrieve and convert only the
16), which is what `mer bench media` is held to. With --compare it checks mer's choice of
frames: it prints the
largest difference per clip between OpenCV's frames and the same indices decoded by the
`ffmpeg` tool with the scaler OpenCV uses (which mer's tests compare mer against).

    pip install "opencv-python-headless<5" numpy
    python scripts/reference/bench_opencv_frames.py ../shared/media/*.mp4 [--compare]
"""

import argparse
import json
import subprocess
import time

import cv2
import numpy as np


def original_sampling(path, n=16):
    cap = cv2.VideoCapture(path)
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    wanted = set(np.floor(np.arange(0, total, total / n)).astype(int)[:n].tolist())
    frames, index = {}, 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if index in wanted:
            frames[index] = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        index += 1
    cap.release()
    return total, frames


def grab_retrieve(path, n=16):
    cap = cv2.VideoCapture(path)
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    wanted = set(np.floor(np.arange(0, total, total / n)).astype(int)[:n].tolist())
    frames = {}
    for index in range(max(wanted) + 1):
        if not cap.grab():
            break
        if index in wanted:
            ok, frame = cap.retrieve()
            if ok:
                frames[index] = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    cap.release()
    return frames


def median_ms(runs, call):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)[len(times) // 2], result


def ffmpeg_frames(path, width, height):
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", path, "-map", "0:v:0", "-sws_flags", "bicubic",
         "-pix_fmt", "rgb24", "-f", "rawvideo", "-"],
        check=True, capture_output=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("clips", nargs="+")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--compare", action="store_true")
    args = parser.parse_args()
    cv2.setNumThreads(args.threads)
    results = []
    for clip in args.clips:
        original_sampling(clip)  # warm the file cache
        ms, (total, frames) = median_ms(args.runs, lambda: original_sampling(clip))
        grab_ms, grabbed = median_ms(args.runs, lambda: grab_retrieve(clip))
        assert sorted(grabbed) == sorted(frames), f"{clip}: the same frames either way"
        row = {"file": clip.split("/")[-1], "frames": total, "ms_per_clip": round(ms, 2),
               "grab_ms_per_clip": round(grab_ms, 2)}
        if args.compare:
            first = next(iter(frames.values()))
            reference = ffmpeg_frames(clip, first.shape[1], first.shape[0])
            row["max_diff_vs_ffmpeg_bicubic"] = int(max(
                np.abs(frame.astype(int) - reference[i].astype(int)).max()
                for i, frame in frames.items()
            ))
        results.append(row)
        print(row)
    print(json.dumps({"opencv": cv2.__version__, "clips": results}))


if __name__ == "__main__":
    main()
