#!/usr/bin/env python3
"""Writes the demo dataset's media in MELD's layout: speech and a short video per utterance.

    python3 datasets/demo/make_media.py     # needs espeak-ng and ffmpeg (with libx264)

For every row of `{train,dev,test}_sent_emo.csv` (whose words narrow the emotion to a pair:
make_demo.py):
- `audios/{split}/dia{D}_utt{U}.flac`: the utterance spoken by espeak-ng, one voice per speaker.
  The voice tells the pair apart: joy, anger and fear fast and high, surprise, disgust and
  sadness slow and low, neutral in between, each with some jitter; for a quarter of the
  emotional utterances the voice says the opposite (a speaker who hides it). Stored at 8 kHz and
  low amplitude to fit the demo's 5 MB budget: loading resamples to 16 kHz and normalises each
  utterance, so neither changes what a model sees beyond the lost bandwidth.
- `videos/{split}/dia{D}_utt{U}.mp4`: H.264, 32x32, 10 fps, as long as the speech: a background
  colour per speaker and a moving square whose colour and speed name the emotion in 40% of the
  clips, name a random emotion in 35%, and are absent (nothing to see) in 25%.

Deterministic (single-threaded x264, bit-exact muxing, no metadata, a random generator seeded
per clip): rerunning rewrites the same bytes with the same espeak-ng and FFmpeg versions.
"""

import csv
import random
import subprocess
import tempfile
import wave
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPLITS = ["train", "dev", "test"]
VOICES = ["en+m1", "en+f2", "en+m3", "en+f3", "en+m4", "en+f4"]
# The voice by arousal: (words per minute, pitch 0-99).
VOICE_LEVELS = {"high": (230, 95), "low": (140, 5), "middle": (180, 50)}
AROUSAL = {"joy": "high", "anger": "high", "fear": "high",
           "surprise": "low", "disgust": "low", "sadness": "low", "neutral": "middle"}
OPPOSITE = {"high": "low", "low": "high"}
# (square colour, square speed in pixels per second)
SQUARES = {
    "neutral": ("0x808080", 0),
    "joy": ("0xF0D020", 20),
    "surprise": ("0xF08020", 30),
    "anger": ("0xE02020", 40),
    "sadness": ("0x2040C0", 5),
    "fear": ("0x8020C0", 25),
    "disgust": ("0x30A030", 10),
}
BACKGROUNDS = ["0x334455", "0x553344", "0x445533", "0x224466", "0x664422", "0x446622"]
AUDIO_RATE = 8000
FPS = 10
SIZE = 32


def strip_flac_padding(path):
    """Drops FLAC's PADDING metadata blocks (FFmpeg's muxer reserves 8 KiB per file)."""
    data = path.read_bytes()
    assert data[:4] == b"fLaC", path
    blocks, at = [], 4
    while True:
        header = data[at]
        length = int.from_bytes(data[at + 1:at + 4], "big")
        blocks.append((header & 0x7F, data[at + 4:at + 4 + length]))
        at += 4 + length
        if header & 0x80:
            break
    kept = [(kind, body) for kind, body in blocks if kind != 1]
    out = bytearray(b"fLaC")
    for i, (kind, body) in enumerate(kept):
        last = 0x80 if i == len(kept) - 1 else 0
        out += bytes([kind | last]) + len(body).to_bytes(3, "big") + body
    out += data[at:]
    path.write_bytes(bytes(out))


def run(args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def voice_level(emotion, rng):
    level = AROUSAL[emotion]
    if level in OPPOSITE and rng.random() < 0.25:
        return OPPOSITE[level]
    return level


def speak(text, voice, level, rng, wav):
    speed, pitch = VOICE_LEVELS[level]
    speed += rng.randint(-15, 15)
    pitch = min(99, max(0, pitch + rng.randint(-8, 8)))
    run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-g", "0", "-w", str(wav),
         text])
    with wave.open(str(wav)) as w:
        return w.getnframes() / w.getframerate()


def write_audio(wav, flac):
    # Amplitude ~ +-100 of 32767: FLAC codes the small residuals in few bits.
    run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(wav),
         "-af", f"aresample={AUDIO_RATE},volume=0.004:precision=fixed", "-ac", "1",
         "-sample_fmt", "s16", "-compression_level", "12", "-fflags", "+bitexact",
         "-map_metadata", "-1", str(flac)])
    strip_flac_padding(flac)


def shown_emotion(emotion, rng):
    """What the clip shows: the emotion, another one, or nothing."""
    draw = rng.random()
    if draw < 0.40:
        return emotion
    if draw < 0.75:
        return rng.choice(sorted(SQUARES))
    return None


def write_video(seconds, speaker, shown, mp4):
    background = BACKGROUNDS[speaker % len(BACKGROUNDS)]
    if shown is None:
        square = "null"
    else:
        colour, speed = SQUARES[shown]
        square = f"drawbox=x='4+mod(t*{speed}\\,{SIZE - 16})':y=10:w=12:h=12:color={colour}:t=fill"
    run(["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi",
         "-i", f"color=c={background}:s={SIZE}x{SIZE}:d={seconds:.2f}:r={FPS}",
         "-vf", square, "-c:v", "libx264", "-preset", "veryslow", "-crf", "32", "-threads", "1",
         "-pix_fmt", "yuv420p", "-fflags", "+bitexact", "-flags:v", "+bitexact",
         "-map_metadata", "-1", "-movflags", "+faststart", str(mp4)])


def main():
    speakers = {}
    total = 0
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        for split in SPLITS:
            audios = HERE / "audios" / split
            videos = HERE / "videos" / split
            audios.mkdir(parents=True, exist_ok=True)
            videos.mkdir(parents=True, exist_ok=True)
            with open(HERE / f"{split}_sent_emo.csv", newline="") as f:
                rows = list(csv.DictReader(f))
            for row in rows:
                clip = f"dia{row['Dialogue_ID']}_utt{row['Utterance_ID']}"
                speaker = speakers.setdefault(row["Speaker"], len(speakers))
                emotion = row["Emotion"]
                rng = random.Random(f"{split}/{clip}")
                level = voice_level(emotion, rng)
                voice = VOICES[speaker % len(VOICES)]
                seconds = speak(row["Utterance"], voice, level, rng, wav)
                write_audio(wav, audios / f"{clip}.flac")
                write_video(seconds, speaker, shown_emotion(emotion, rng), videos / f"{clip}.mp4")
                total += (audios / f"{clip}.flac").stat().st_size
                total += (videos / f"{clip}.mp4").stat().st_size
            print(f"{split}: {len(rows)} clips")
    print(f"total media: {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
