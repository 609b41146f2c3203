//! Audio: any file FFmpeg reads → mono f32 at 16 kHz, as Wav2Vec2-style encoders read it.

use std::path::Path;

use ffmpeg_next::ChannelLayout;
use ffmpeg_next::format::Sample;
use ffmpeg_next::format::sample::Type as SampleType;
use ffmpeg_next::media::Type;
use ffmpeg_next::software::resampling;
use ffmpeg_next::util::frame;

use super::{MediaError, Opened, open_stream};

pub use mer_core::encoders::audio::KeepEnd;

/// How a recording becomes an encoder's input.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioOptions {
    /// Output rate in Hz.
    pub sample_rate: u32,
    /// Longer recordings are cut to this many samples (after resampling).
    pub max_samples: Option<usize>,
    pub keep: KeepEnd,
    /// Shorter recordings are padded with zeros to this many samples (after normalising).
    pub min_samples: usize,
    /// Zero mean, unit variance per recording, as Wav2Vec2's feature extractor does.
    pub normalize: bool,
}

impl Default for AudioOptions {
    fn default() -> Self {
        AudioOptions {
            sample_rate: 16_000,
            max_samples: None,
            keep: KeepEnd::First,
            min_samples: 0,
            normalize: true,
        }
    }
}

/// Decodes the best audio stream of `path`, resamples it to `options.sample_rate` (channels
/// averaged), cuts, normalises and pads it.
///
/// A clip whose data ends early (a truncated download) yields the samples decoded before the
/// cut; a file FFmpeg cannot open, or with no audio stream, or with nothing decodable, is an
/// error naming it.
pub fn load_audio(path: &Path, options: &AudioOptions) -> Result<Vec<f32>, MediaError> {
    let mut samples = decode_mono(path, options.sample_rate)?;
    if let Some(max) = options.max_samples
        && samples.len() > max
    {
        samples = match options.keep {
            KeepEnd::First => samples[..max].to_vec(),
            KeepEnd::Last => samples[samples.len() - max..].to_vec(),
        };
    }
    if options.normalize {
        normalize(&mut samples);
    }
    if samples.len() < options.min_samples {
        samples.resize(options.min_samples, 0.0);
    }
    Ok(samples)
}

/// Zero mean and unit variance: `(x - mean) / sqrt(var + 1e-7)`, as transformers'
/// `Wav2Vec2FeatureExtractor(do_normalize=True)`.
pub fn normalize(samples: &mut [f32]) {
    if samples.is_empty() {
        return;
    }
    let n = samples.len() as f64;
    let mean = samples.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
    let var = samples
        .iter()
        .map(|&x| (f64::from(x) - mean).powi(2))
        .sum::<f64>()
        / n;
    let scale = 1.0 / (var + 1e-7).sqrt();
    for x in samples {
        *x = ((f64::from(*x) - mean) * scale) as f32;
    }
}

/// Every sample of the best audio stream at `rate`, channels averaged. A file that decodes to
/// less than it declares (cut short, damaged) is used as far as it decodes, with a warning.
pub fn decode_mono(path: &Path, rate: u32) -> Result<Vec<f32>, MediaError> {
    let (samples, shortfall) = decode_mono_checked(path, rate)?;
    if let Some(warning) = shortfall {
        eprintln!("warning: {}: {warning}", path.display());
    }
    Ok(samples)
}

/// [`decode_mono`]'s samples, and what is wrong when they fall short of the file's declared
/// duration by more than a tenth, or a damaged packet ended decoding.
fn decode_mono_checked(path: &Path, rate: u32) -> Result<(Vec<f32>, Option<String>), MediaError> {
    let Opened {
        mut input,
        index,
        parameters,
        ..
    } = open_stream(path, Type::Audio, "audio")?;
    let fail = |message: String| MediaError::Decode {
        path: path.to_owned(),
        kind: "audio",
        message,
    };
    let context = ffmpeg_next::codec::context::Context::from_parameters(parameters)
        .map_err(|e| fail(e.to_string()))?;
    let mut decoder = context.decoder().audio().map_err(|e| fail(e.to_string()))?;

    let mut out = Vec::new();
    let mut resampler: Option<(resampling::Context, ChannelLayout)> = None;
    let planar = Sample::F32(SampleType::Planar);
    let mut push = |resampler: &mut resampling::Context,
                    channels: usize,
                    decoded: Option<&frame::Audio>|
     -> Result<(), MediaError> {
        loop {
            let mut converted = frame::Audio::empty();
            let delay = match decoded {
                Some(decoded) => {
                    resampler
                        .run(decoded, &mut converted)
                        .map_err(|e| fail(e.to_string()))?;
                    None
                }
                None => {
                    converted = frame::Audio::new(planar, 4096, resampler.output().channel_layout);
                    resampler
                        .flush(&mut converted)
                        .map_err(|e| fail(e.to_string()))?
                }
            };
            let n = converted.samples();
            for i in 0..n {
                let sum: f32 = (0..channels).map(|c| converted.plane::<f32>(c)[i]).sum();
                out.push(sum / channels as f32);
            }
            if decoded.is_some() || delay.is_none() || n == 0 {
                return Ok(());
            }
        }
    };

    let mut receive = |decoder: &mut ffmpeg_next::decoder::Audio,
                       resampler: &mut Option<(resampling::Context, ChannelLayout)>|
     -> Result<(), MediaError> {
        let mut decoded = frame::Audio::empty();
        while decoder.receive_frame(&mut decoded).is_ok() {
            let channels = usize::from(decoded.channels()).max(1);
            let mut layout = decoded.channel_layout();
            if layout.is_empty() {
                layout = ChannelLayout::default(channels as i32);
            }
            decoded.set_channel_layout(layout);
            if resampler.is_none() {
                let context = resampling::Context::get(
                    decoded.format(),
                    layout,
                    decoded.rate(),
                    planar,
                    layout,
                    rate,
                )
                .map_err(|e| fail(e.to_string()))?;
                *resampler = Some((context, layout));
            }
            let (context, _) = resampler.as_mut().expect("set above");
            push(context, channels, Some(&decoded))?;
        }
        Ok(())
    };

    // AV_TIME_BASE units; negative when the container does not say.
    let declared = input.duration();
    let mut damaged = false;
    for (stream, packet) in input.packets() {
        if stream.index() != index {
            continue;
        }
        // A damaged packet (a cut file) ends decoding; what came before is kept.
        if decoder.send_packet(&packet).is_err() {
            damaged = true;
            break;
        }
        receive(&mut decoder, &mut resampler)?;
    }
    let _ = decoder.send_eof();
    receive(&mut decoder, &mut resampler)?;
    if let Some((mut context, layout)) = resampler {
        push(&mut context, layout.channels().max(1) as usize, None)?;
    }
    if out.is_empty() {
        return Err(MediaError::Empty {
            path: path.to_owned(),
            kind: "audio",
        });
    }
    let seconds = |samples: usize| samples as f64 / f64::from(rate);
    let declared_seconds = declared as f64 / f64::from(ffmpeg_next::ffi::AV_TIME_BASE);
    let shortfall = if declared > 0 && seconds(out.len()) < 0.9 * declared_seconds {
        Some(format!(
            "decoded {:.2} s of the {declared_seconds:.2} s it declares: the file is cut short or \
             damaged; using what decodes",
            seconds(out.len())
        ))
    } else if damaged {
        Some(format!(
            "a damaged packet after {:.2} s ended decoding; using what came before",
            seconds(out.len())
        ))
    } else {
        None
    };
    Ok((out, shortfall))
}

/// Writes mono `samples` (in [-1, 1]) at `rate` as 16-bit FLAC to `path` (the caller renames it
/// into place: the file is only complete when this returns).
pub fn write_flac(samples: &[f32], rate: u32, path: &Path) -> Result<(), MediaError> {
    use ffmpeg_next::{codec, encoder, format};
    super::init();
    let fail = |message: String| MediaError::Decode {
        path: path.to_owned(),
        kind: "FLAC (encoding)",
        message,
    };
    let e = |e: ffmpeg_next::Error| fail(e.to_string());
    let mut output = format::output_as(path, "flac").map_err(e)?;
    let codec = encoder::find(codec::Id::FLAC).ok_or_else(|| fail("no FLAC encoder".into()))?;
    let mut stream = output.add_stream(codec).map_err(e)?;
    let context = codec::context::Context::new_with_codec(codec);
    let mut audio = context.encoder().audio().map_err(e)?;
    let packed = Sample::I16(SampleType::Packed);
    audio.set_rate(rate as i32);
    audio.set_channel_layout(ChannelLayout::MONO);
    audio.set_format(packed);
    audio.set_time_base((1, rate as i32));
    stream.set_time_base((1, rate as i32));
    let mut audio = audio.open_as(codec).map_err(e)?;
    stream.set_parameters(&audio);
    let stream_time_base = stream.time_base();
    output.write_header().map_err(e)?;
    let stream_time_base = output.stream(0).map_or(stream_time_base, |s| s.time_base());
    let frame_size = (audio.frame_size() as usize).max(1024);

    let drain = |audio: &mut ffmpeg_next::encoder::Audio,
                 output: &mut format::context::Output|
     -> Result<(), MediaError> {
        let mut packet = ffmpeg_next::Packet::empty();
        while audio.receive_packet(&mut packet).is_ok() {
            packet.set_stream(0);
            packet.rescale_ts((1, rate as i32), stream_time_base);
            packet.write_interleaved(output).map_err(e)?;
        }
        Ok(())
    };
    for (i, chunk) in samples.chunks(frame_size).enumerate() {
        let mut frame = frame::Audio::new(packed, chunk.len(), ChannelLayout::MONO);
        frame.set_rate(rate);
        for (out, &x) in frame.plane_mut::<i16>(0).iter_mut().zip(chunk) {
            *out = (x.clamp(-1.0, 1.0) * 32767.0).round() as i16;
        }
        frame.set_pts(Some((i * frame_size) as i64));
        audio.send_frame(&frame).map_err(e)?;
        drain(&mut audio, &mut output)?;
    }
    audio.send_eof().map_err(e)?;
    drain(&mut audio, &mut output)?;
    output.write_trailer().map_err(e)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_file_is_used_as_far_as_it_decodes_with_a_warning() {
        let clip = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/audios/train/dia0_utt0.flac");
        let (whole, warning) = decode_mono_checked(&clip, 16_000).unwrap();
        assert!(warning.is_none(), "{warning:?}");

        let tmp = tempfile::tempdir().unwrap();
        let cut = tmp.path().join("cut.flac");
        let bytes = std::fs::read(&clip).unwrap();
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let (part, warning) = decode_mono_checked(&cut, 16_000).unwrap();
        assert!(part.len() < whole.len());
        let warning = warning.expect("a cut file is reported");
        assert!(warning.contains("cut short"), "{warning}");
    }
}
