//! Forward and backward time of the demo's audio and video encoders on random inputs, on the CPU
//! or (built with `--features cuda`) an NVIDIA GPU:
//!
//!     cargo run -p mer-core --example encoder_speed -- cpu
//!     cargo run -p mer-core --features cuda --example encoder_speed -- cuda
//!
//! Prints milliseconds per batch of 8 (2 s of audio; 8 frames of 32×32), mean of 5 after one
//! warm-up, and the sum of squares of the output as a sanity figure (dropout is on, so it moves a
//! little from device to device).

use std::time::Instant;

use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Distribution, ElementConversion, Int, Tensor};
use mer_core::config::schema::ConfigValue;
use mer_core::config::{RawConfig, Source};
use mer_core::encoders::audio::AudioEncoderConfig;
use mer_core::encoders::video::VideoEncoderConfig;

const DEMO: &str = include_str!("../../experiments/multimodal/demo.toml");

fn time<B: AutodiffBackend>(name: &str, device: &B::Device, step: impl Fn() -> Tensor<B, 2>) {
    let run = || {
        let out = step();
        let checksum: f32 = out.clone().powf_scalar(2.0).sum().into_scalar().elem();
        let _ = out.sum().backward();
        B::sync(device).expect("device sync");
        checksum
    };
    run();
    let started = Instant::now();
    let mut checksum = 0.0;
    for _ in 0..5 {
        checksum = run();
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0 / 5.0;
    println!("{name:<6} forward+backward {ms:>8.1} ms/batch (output sum of squares {checksum:.3})");
}

/// The demo's `model.<key>` table, with every default filled in.
fn resolve<T: ConfigValue>(demo: &toml::Table, key: &str) -> T {
    let table = toml::to_string(&demo["model"][key]).expect("a table");
    RawConfig::from_sources(&[Source::new(key, table)], &[] as &[&str])
        .and_then(|raw| raw.resolve())
        .expect("the demo's encoder config")
}

fn bench<B: AutodiffBackend>(device: &B::Device) {
    let demo: toml::Table = toml::from_str(DEMO).expect("the demo config");
    let audio: AudioEncoderConfig = resolve(&demo, "audio");
    let video: VideoEncoderConfig = resolve(&demo, "video");
    B::seed(device, 7);
    let audio_encoder = audio.init::<B>(device);
    let waves = Tensor::<B, 2>::random([8, 32_000], Distribution::Default, device);
    let mask = Tensor::<B, 2, Int>::ones([8, 32_000], device);
    time::<B>("audio", device, || {
        audio_encoder.forward(waves.clone(), mask.clone())
    });
    let video_encoder = video.init::<B>(device);
    let input = video.input().expect("the demo's video input");
    let size = input.size;
    let pixels = Tensor::<B, 5>::random(
        [8, input.frames, 3, size, size],
        Distribution::Default,
        device,
    );
    time::<B>("video", device, || video_encoder.forward(pixels.clone()));
}

fn main() {
    let device = std::env::args().nth(1).unwrap_or_else(|| "cpu".into());
    match device.as_str() {
        #[cfg(feature = "cuda")]
        "cuda" => bench::<burn::backend::Autodiff<burn::backend::Cuda>>(&Default::default()),
        "cpu" => bench::<burn::backend::Autodiff<burn::backend::NdArray<f32>>>(&Default::default()),
        other => panic!("unknown device {other:?}: cpu or cuda (built with --features cuda)"),
    }
}
