#!/usr/bin/env python3
"""Makes the reference outputs mer's pretrained audio and video encoders are tested against, with
PyTorch transformers.

    pip install torch transformers safetensors soundfile av
    python3 scripts/reference/make_media_fixtures.py

Needs the ffmpeg command (it makes the test clip). Writes, under tests/fixtures/:
- media/speech.wav (16 kHz mono, 0.6 s) and media/clip.mp4 (64x48 H.264, 12 frames);
- one Hugging Face folder per model type, tiny and randomly initialised (every tensor drawn at
  random, layer norms and biases included, so a misplaced tensor shows): config.json,
  model.safetensors, preprocessor_config.json, and reference.safetensors with
  - model-only: `input_values` [2, L] + `attention_mask` (audio; the second row is padding after
    60 % of it) or `pixel_values` [2, F, 3, S, S] (video), and the model's `last_hidden_state`;
  - end to end: `file_input_values` / `file_pixel_values`, what transformers' feature extractor or
    image processor makes of the clip (frames sampled at `floor(arange(0, n, n / F))`), and
    `file_last_hidden_state`.

Audio folders: data2vec-audio (three positional conv layers; a CTC checkpoint: `data2vec_audio.` prefix and an LM head mer must
ignore), wav2vec2 with group norm (base; weight-normed positional conv, no conv bias), wav2vec2
with layer norm and stable layer norm (large), hubert (group norm, no projection layer norm).
Video folders: videomae (a classification checkpoint with `fc_norm`), timesformer.
"""

import json
import subprocess
from pathlib import Path

import av
import numpy as np
import soundfile
import torch
from safetensors.torch import save_file
from transformers import (Data2VecAudioConfig, Data2VecAudioForCTC, HubertConfig, HubertModel,
                          TimesformerConfig, TimesformerModel, VideoMAEConfig,
                          VideoMAEForVideoClassification, VideoMAEImageProcessor,
                          Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model)

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
MEDIA = FIXTURES / "media"

AUDIO_SHAPE = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                   intermediate_size=64, conv_dim=(16, 16, 16), conv_kernel=(10, 3, 3),
                   conv_stride=(5, 2, 2), num_conv_pos_embeddings=8,
                   num_conv_pos_embedding_groups=4, vocab_size=12)
VIDEO_SHAPE = dict(image_size=32, patch_size=8, num_frames=4, hidden_size=32,
                   num_hidden_layers=2, num_attention_heads=4, intermediate_size=64)


def randomize(model, seed):
    """Every tensor at random: a weight left at its initial value could hide a loading bug."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=generator) * 0.2
            is_norm_weight = ("norm" in name.lower() and name.endswith("weight")) or name.endswith(
                "original0") or name.endswith("weight_g")
            param.copy_(1.0 + noise if is_norm_weight else noise)
    model.eval()
    return model


def make_media():
    MEDIA.mkdir(parents=True, exist_ok=True)
    rate, seconds = 16000, 0.6
    t = np.arange(int(rate * seconds)) / rate
    rng = np.random.default_rng(7)
    # A rising tone with noise: enough structure for the convolutions to see.
    wave = 0.4 * np.sin(2 * np.pi * (180 + 300 * t) * t) + 0.05 * rng.standard_normal(t.shape)
    soundfile.write(MEDIA / "speech.wav", wave.astype(np.float32), rate, subtype="PCM_16")
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=64x48:rate=12", "-frames:v", "12", "-c:v", "libx264",
                    "-preset", "veryfast", "-pix_fmt", "yuv420p", "-bitexact",
                    str(MEDIA / "clip.mp4")], check=True)


def speech():
    wave, rate = soundfile.read(MEDIA / "speech.wav", dtype="float32")
    assert rate == 16000
    return wave


def clip_frames(count):
    """The clip's frames at the seed's indices, as RGB arrays."""
    with av.open(str(MEDIA / "clip.mp4")) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    n = len(frames)
    indices = np.floor(np.arange(0, n, n / count)).astype(int)[:count]
    return [frames[i] for i in indices]


def save_folder(name, model, preprocessor, reference):
    folder = FIXTURES / name
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    preprocessor.save_pretrained(folder)
    save_file({k: v.contiguous() for k, v in reference.items()}, str(folder / "reference.safetensors"))
    print(f"wrote {folder}")


def audio_fixture(name, model, base):
    extractor = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0,
                                         do_normalize=True, return_attention_mask=True)
    wave = speech()
    short = wave[: int(len(wave) * 0.6)]
    batch = extractor([wave, short], sampling_rate=16000, padding=True, return_tensors="pt")
    single = extractor(wave, sampling_rate=16000, return_tensors="pt")
    with torch.no_grad():
        out = base(batch.input_values, attention_mask=batch.attention_mask).last_hidden_state
        file_out = base(single.input_values).last_hidden_state
    save_folder(name, model, extractor, {
        "input_values": batch.input_values,
        "attention_mask": batch.attention_mask.to(torch.int64),
        "last_hidden_state": out,
        "file_input_values": single.input_values,
        "file_last_hidden_state": file_out,
    })


def video_fixture(name, model, base, processor, frames):
    rng = torch.Generator().manual_seed(3)
    size = VIDEO_SHAPE["image_size"]
    pixels = torch.randn((2, frames, 3, size, size), generator=rng)
    clip = processor(clip_frames(frames), return_tensors="pt").pixel_values
    with torch.no_grad():
        out = base(pixels).last_hidden_state
        file_out = base(clip).last_hidden_state
    save_folder(name, model, processor, {
        "pixel_values": pixels,
        "last_hidden_state": out,
        "file_pixel_values": clip,
        "file_last_hidden_state": file_out,
    })


def main():
    torch.manual_seed(0)
    make_media()

    ctc = randomize(Data2VecAudioForCTC(Data2VecAudioConfig(
        **{**AUDIO_SHAPE, "num_conv_pos_embeddings": 3}, conv_bias=True, conv_pos_kernel_size=5)),
        1)
    audio_fixture("tiny-data2vec-audio", ctc, ctc.data2vec_audio)

    base = randomize(Wav2Vec2Model(Wav2Vec2Config(
        **AUDIO_SHAPE, feat_extract_norm="group", conv_bias=False, do_stable_layer_norm=False)), 2)
    audio_fixture("tiny-wav2vec2", base, base)

    large = randomize(Wav2Vec2Model(Wav2Vec2Config(
        **AUDIO_SHAPE, feat_extract_norm="layer", conv_bias=True, do_stable_layer_norm=True)), 3)
    audio_fixture("tiny-wav2vec2-stable", large, large)

    hubert = randomize(HubertModel(HubertConfig(
        **AUDIO_SHAPE, feat_extract_norm="group", conv_bias=False, feat_proj_layer_norm=False)), 4)
    audio_fixture("tiny-hubert", hubert, hubert)

    size = VIDEO_SHAPE["image_size"]
    videomae = randomize(VideoMAEForVideoClassification(VideoMAEConfig(
        **VIDEO_SHAPE, tubelet_size=2, qkv_bias=True, use_mean_pooling=True, num_labels=3)), 5)
    # videomae-base's own processor: ImageNet's mean and std.
    processor = VideoMAEImageProcessor(size={"shortest_edge": size},
                                       crop_size={"height": size, "width": size},
                                       image_mean=[0.485, 0.456, 0.406],
                                       image_std=[0.229, 0.224, 0.225])
    video_fixture("tiny-videomae", videomae, videomae.videomae, processor, VIDEO_SHAPE["num_frames"])

    timesformer = randomize(TimesformerModel(TimesformerConfig(
        **VIDEO_SHAPE, attention_type="divided_space_time", qkv_bias=True)), 6)
    processor = VideoMAEImageProcessor(size={"shortest_edge": size},
                                       crop_size={"height": size, "width": size},
                                       image_mean=[0.45, 0.45, 0.45], image_std=[0.225, 0.225, 0.225])
    video_fixture("tiny-timesformer", timesformer, timesformer, processor,
                  VIDEO_SHAPE["num_frames"])


if __name__ == "__main__":
    main()
