//! Audio and video decoding through FFmpeg: known signals, frame indices, equality with a
//! reference decode, VideoMAE preprocessing, and files that are broken in every usual way.

use std::f32::consts::PI;
use std::path::{Path, PathBuf};
use std::process::Command;

use mer_datasets::media::audio::{KeepEnd, decode_mono, normalize};
use mer_datasets::media::{
    AudioOptions, MediaError, frame_indices, load_audio, sample_frames, videomae_pixels,
};

/// The shared real clips, or `None` (with the reason printed) when this checkout has none.
fn shared_media() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/media");
    if dir.join("bigbuckbunny.mp4").exists() {
        Some(dir)
    } else {
        eprintln!("skipping: no ../shared/media (real clips) next to this checkout");
        None
    }
}

/// 16-bit PCM WAV of `channels` interleaved channels.
fn write_wav(path: &Path, rate: u32, channels: u16, samples: &[f32]) {
    let data: Vec<u8> = samples
        .iter()
        .flat_map(|&x| ((x.clamp(-1.0, 1.0) * 32767.0).round() as i16).to_le_bytes())
        .collect();
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes());
    bytes.extend_from_slice(&channels.to_le_bytes());
    bytes.extend_from_slice(&rate.to_le_bytes());
    bytes.extend_from_slice(&(rate * u32::from(channels) * 2).to_le_bytes());
    bytes.extend_from_slice(&(channels * 2).to_le_bytes());
    bytes.extend_from_slice(&16u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&(data.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&data);
    std::fs::write(path, bytes).unwrap();
}

fn sine(rate: u32, seconds: f32, hz: f32, amplitude: f32) -> Vec<f32> {
    (0..(rate as f32 * seconds) as usize)
        .map(|i| amplitude * (2.0 * PI * hz * i as f32 / rate as f32).sin())
        .collect()
}

/// Frequency from upward zero crossings.
fn frequency(samples: &[f32], rate: u32) -> f32 {
    let crossings = samples
        .windows(2)
        .filter(|w| w[0] < 0.0 && w[1] >= 0.0)
        .count();
    crossings as f32 * rate as f32 / samples.len() as f32
}

fn rms(samples: &[f32]) -> f32 {
    (samples.iter().map(|x| x * x).sum::<f32>() / samples.len() as f32).sqrt()
}

#[test]
fn audio_is_resampled_to_16k_mono_from_any_rate_and_layout() {
    let tmp = tempfile::tempdir().unwrap();
    for (rate, channels) in [
        (44_100, 2u16),
        (8_000, 1),
        (22_050, 1),
        (11_025, 2),
        (48_000, 6),
    ] {
        let tone = sine(rate, 1.0, 440.0, 0.5);
        // Every channel carries the tone: averaging keeps it.
        let interleaved: Vec<f32> = tone
            .iter()
            .flat_map(|&x| std::iter::repeat_n(x, channels as usize))
            .collect();
        let path = tmp.path().join(format!("tone-{rate}-{channels}.wav"));
        write_wav(&path, rate, channels, &interleaved);
        let samples = decode_mono(&path, 16_000).unwrap();
        assert!(
            (samples.len() as i64 - 16_000).abs() <= 32,
            "{rate} Hz × {channels}: {} samples",
            samples.len()
        );
        let middle = &samples[1000..15_000];
        assert!((frequency(middle, 16_000) - 440.0).abs() < 3.0, "{rate} Hz");
        assert!(
            (rms(middle) - 0.5 / 2f32.sqrt()).abs() < 0.01,
            "{rate} Hz: rms {}",
            rms(middle)
        );
    }

    // Opposite channels average to silence: channels are averaged, not mixed down with gains.
    let tone = sine(16_000, 0.5, 300.0, 0.5);
    let opposite: Vec<f32> = tone.iter().flat_map(|&x| [x, -x]).collect();
    let path = tmp.path().join("opposite.wav");
    write_wav(&path, 16_000, 2, &opposite);
    assert!(rms(&decode_mono(&path, 16_000).unwrap()) < 1e-3);
}

#[test]
fn audio_is_normalised_cut_and_padded() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("tone.wav");
    write_wav(&path, 16_000, 1, &sine(16_000, 1.0, 200.0, 0.3));
    let samples = load_audio(&path, &AudioOptions::default()).unwrap();
    let mean = samples.iter().sum::<f32>() / samples.len() as f32;
    let var = samples.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / samples.len() as f32;
    assert!(
        mean.abs() < 1e-4 && (var - 1.0).abs() < 1e-3,
        "mean {mean} var {var}"
    );

    let raw = decode_mono(&path, 16_000).unwrap();
    let first = load_audio(
        &path,
        &AudioOptions {
            max_samples: Some(4000),
            normalize: false,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(first, raw[..4000]);
    let last = load_audio(
        &path,
        &AudioOptions {
            max_samples: Some(4000),
            keep: KeepEnd::Last,
            normalize: false,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(last, raw[raw.len() - 4000..]);
    let padded = load_audio(
        &path,
        &AudioOptions {
            min_samples: 20_000,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(padded.len(), 20_000);
    assert!(padded[raw.len()..].iter().all(|&x| x == 0.0));

    let mut constant = vec![0.25f32; 100];
    normalize(&mut constant);
    assert!(
        constant.iter().all(|x| x.abs() < 1e-3),
        "silence stays finite"
    );
}

#[test]
fn frame_indices_follow_numpy_arange() {
    // np.floor(np.arange(0, 132, 132 / 16)).astype(int)
    assert_eq!(
        frame_indices(132, 16),
        [
            0, 8, 16, 24, 33, 41, 49, 57, 66, 74, 82, 90, 99, 107, 115, 123
        ]
    );
    assert_eq!(frame_indices(16, 16), (0..16).collect::<Vec<_>>());
    // Fewer frames than samples: frames repeat.
    assert_eq!(
        frame_indices(5, 16),
        [0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]
    );
    assert!(frame_indices(0, 16).is_empty());
}

/// Every frame of `path` as RGB24 by the `ffmpeg` tool with the scaler OpenCV uses (bicubic).
fn reference_frames(path: &Path) -> Option<Vec<u8>> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args([
            "-map",
            "0:v:0",
            "-sws_flags",
            "bicubic",
            "-pix_fmt",
            "rgb24",
            "-f",
            "rawvideo",
            "-",
        ])
        .output()
        .ok()?;
    out.status.success().then_some(out.stdout)
}

#[test]
fn sampled_frames_equal_a_full_decode_of_the_same_indices() {
    let Some(media) = shared_media() else { return };
    for clip in [
        "bigbuckbunny.mp4",
        "bikes.mp4",
        "carphone_pristine.mp4",
        "carphone_distorted.mp4",
    ] {
        let path = media.join(clip);
        let frames = sample_frames(&path, 16).unwrap();
        assert_eq!(frames.count, 16);
        assert_eq!(frames.indices, frame_indices(frames.total, 16));
        let Some(all) = reference_frames(&path) else {
            eprintln!("skipping the reference comparison: no `ffmpeg` tool");
            return;
        };
        let size = frames.width * frames.height * 3;
        assert_eq!(all.len() / size, frames.total, "{clip}: frame count");
        for (i, &index) in frames.indices.iter().enumerate() {
            let reference = &all[index * size..(index + 1) * size];
            let worst = frames
                .frame(i)
                .iter()
                .zip(reference)
                .map(|(a, b)| a.abs_diff(*b))
                .max()
                .unwrap();
            assert!(worst <= 2, "{clip} frame {index}: differs by {worst}");
        }
    }
}

#[test]
fn videomae_preprocessing_resizes_crops_and_normalises() {
    // A 320×240 frame: the left half red, the right half blue.
    let (w, h) = (320, 240);
    let mut data = Vec::new();
    for _ in 0..h {
        for x in 0..w {
            data.extend_from_slice(if x < w / 2 {
                &[255, 0, 0]
            } else {
                &[0, 0, 255]
            });
        }
    }
    let frames = mer_datasets::media::Frames {
        count: 1,
        width: w,
        height: h,
        data,
        indices: vec![0],
        total: 1,
        decoded: 1,
    };
    let pixels = videomae_pixels(&frames, 224);
    assert_eq!(pixels.len(), 3 * 224 * 224);
    let at = |c: usize, y: usize, x: usize| pixels[(c * 224 + y) * 224 + x];
    // Resized to 298×224 and cropped from x = 37: the left edge is red, the right edge blue.
    let red = [
        (1.0 - 0.485) / 0.229,
        (0.0 - 0.456) / 0.224,
        (0.0 - 0.406) / 0.225,
    ];
    let blue = [
        (0.0 - 0.485) / 0.229,
        (0.0 - 0.456) / 0.224,
        (1.0 - 0.406) / 0.225,
    ];
    for c in 0..3 {
        assert!((at(c, 100, 0) - red[c]).abs() < 1e-5);
        assert!((at(c, 100, 223) - blue[c]).abs() < 1e-5);
    }
    // The edge between them sits at 149 - 37 = 112, blended over a pixel or two.
    assert!((at(0, 50, 110) - red[0]).abs() < 1e-5);
    assert!((at(2, 50, 114) - blue[2]).abs() < 1e-5);
    assert!(at(0, 50, 112) < red[0] && at(0, 50, 112) > blue[0]);
}

fn ffmpeg(args: &[&str]) -> bool {
    Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn broken_and_unusual_files_give_errors_that_name_them() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    for result in [
        load_audio(&empty, &AudioOptions::default()).map(|_| ()),
        sample_frames(&empty, 16).map(|_| ()),
    ] {
        let e = result.unwrap_err();
        assert!(matches!(e, MediaError::Open { .. }));
        assert!(e.to_string().contains("empty.mp4"), "{e}");
    }
    let garbage = tmp.path().join("garbage.flac");
    std::fs::write(&garbage, vec![7u8; 4096]).unwrap();
    let e = load_audio(&garbage, &AudioOptions::default()).unwrap_err();
    assert!(e.to_string().contains("garbage.flac"), "{e}");

    // Audio only: no video stream.
    let wav = tmp.path().join("speech.wav");
    write_wav(&wav, 16_000, 1, &sine(16_000, 0.2, 200.0, 0.3));
    let e = sample_frames(&wav, 16).unwrap_err();
    assert!(
        matches!(e, MediaError::NoStream { kind: "video", .. }),
        "{e}"
    );

    let Some(media) = shared_media() else { return };
    // Video only: no audio stream.
    let e = load_audio(&media.join("bikes.mp4"), &AudioOptions::default()).unwrap_err();
    assert!(
        matches!(e, MediaError::NoStream { kind: "audio", .. }),
        "{e}"
    );
    assert!(e.to_string().contains("bikes.mp4"));

    // Six-channel AAC at 48 kHz, 5.3 s.
    let audio = decode_mono(&media.join("bigbuckbunny.mp4"), 16_000).unwrap();
    assert!(
        (audio.len() as f32 / 16_000.0 - 5.3).abs() < 0.1,
        "{}",
        audio.len()
    );

    // A clip cut in half: an error naming it, or the frames before the cut; never a panic.
    let bytes = std::fs::read(media.join("bigbuckbunny.mp4")).unwrap();
    let cut = tmp.path().join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    match sample_frames(&cut, 16) {
        Ok(frames) => assert_eq!(frames.count, 16),
        Err(e) => assert!(e.to_string().contains("cut.mp4"), "{e}"),
    }
    match load_audio(&cut, &AudioOptions::default()) {
        Ok(samples) => assert!(!samples.is_empty()),
        Err(e) => assert!(e.to_string().contains("cut.mp4"), "{e}"),
    }
    let head = tmp.path().join("head.mp4");
    std::fs::write(&head, &bytes[..2000]).unwrap();
    assert!(
        sample_frames(&head, 16)
            .unwrap_err()
            .to_string()
            .contains("head.mp4")
    );

    // Fewer frames than asked for.
    let short = tmp.path().join("short.mp4");
    if ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=64x48:rate=10",
        "-frames:v",
        "5",
        "-pix_fmt",
        "yuv420p",
        short.to_str().unwrap(),
    ]) {
        let frames = sample_frames(&short, 16).unwrap();
        assert_eq!(frames.count, 16);
        assert_eq!(frames.indices, frame_indices(5, 16));
    }
}

#[test]
fn every_demo_utterance_has_speech_and_video_within_the_size_budget() {
    use mer_core::input::data::{DataConfig, Dataset, LabelKind};
    let config = DataConfig {
        dataset: Dataset::Demo,
        label: LabelKind::Emotion,
        root: None,
    };
    let mut bytes = 0;
    let mut clips = 0;
    for split in [
        mer_datasets::Split::Train,
        mer_datasets::Split::Dev,
        mer_datasets::Split::Test,
    ] {
        let data = mer_datasets::load(&config, split).unwrap();
        for utterance in data.utterances() {
            let (audio, video) = (
                utterance.audio.as_ref().unwrap(),
                utterance.video.as_ref().unwrap(),
            );
            bytes +=
                std::fs::metadata(audio).unwrap().len() + std::fs::metadata(video).unwrap().len();
            let speech = load_audio(audio, &AudioOptions::default()).unwrap();
            // Speech of a few words: between half a second and five seconds at 16 kHz.
            assert!(
                (8_000..80_000).contains(&speech.len()),
                "{}",
                audio.display()
            );
            let frames = sample_frames(video, 8).unwrap();
            assert_eq!((frames.count, frames.width, frames.height), (8, 32, 32));
            clips += 1;
        }
    }
    assert_eq!(clips, 758);
    assert!(bytes <= 5_000_000, "demo media are {bytes} bytes");
}
