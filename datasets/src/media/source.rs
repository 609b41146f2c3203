//! The [`MediaSource`] training reads: each sample's files decoded as its encoders expect.

use mer_core::encoders::audio::AudioEncoderConfig;
use mer_core::encoders::pretrained::PretrainedError;
use mer_core::encoders::video::{VideoEncoderConfig, VideoInput};
use mer_core::input::{Media, MediaLoadError, MediaNeeds, MediaSource, Sample, VideoClip};

use super::{AudioOptions, MediaError, load_audio, sample_frames, video_pixels};

/// Decodes audio and video files as a network's encoders are configured to read them.
#[derive(Debug, Clone, Default)]
pub struct ClipLoader {
    pub audio: Option<AudioOptions>,
    pub video: Option<VideoInput>,
}

impl ClipLoader {
    /// What an audio and a video encoder (either may be absent) read, as their configs (and
    /// pretrained folders' preprocessor configs) say.
    pub fn for_encoders(
        audio: Option<&AudioEncoderConfig>,
        video: Option<&VideoEncoderConfig>,
    ) -> Result<Self, PretrainedError> {
        Ok(ClipLoader {
            audio: audio
                .map(|config| {
                    config.input().map(|input| AudioOptions {
                        sample_rate: input.sample_rate,
                        max_samples: Some(config.max_samples),
                        keep: config.keep,
                        min_samples: config.min_samples(),
                        normalize: input.normalize,
                    })
                })
                .transpose()?,
            video: video.map(VideoEncoderConfig::input).transpose()?,
        })
    }

    fn audio(&self, sample: &Sample) -> Result<Vec<f32>, MediaLoadError> {
        let options = self.audio.as_ref().ok_or_else(|| not_configured("audio"))?;
        let path = sample.audio.as_deref().ok_or_else(|| missing("audio"))?;
        load_audio(path, options).map_err(load_error)
    }

    fn video(&self, sample: &Sample) -> Result<VideoClip, MediaLoadError> {
        let input = self.video.ok_or_else(|| not_configured("video"))?;
        let path = sample.video.as_deref().ok_or_else(|| missing("video"))?;
        let frames = sample_frames(path, input.frames).map_err(load_error)?;
        Ok(VideoClip {
            frames: input.frames,
            size: input.size,
            pixels: video_pixels(&frames, &input),
        })
    }
}

impl MediaSource for ClipLoader {
    fn load(&self, sample: &Sample, needs: MediaNeeds) -> Result<Media, MediaLoadError> {
        Ok(Media {
            audio: needs.audio.then(|| self.audio(sample)).transpose()?,
            video: needs.video.then(|| self.video(sample)).transpose()?,
        })
    }
}

fn load_error(error: MediaError) -> MediaLoadError {
    let path = error.path().to_owned();
    let full = error.to_string();
    // The path leads the message already; `MediaLoadError` prints it once.
    let message = full
        .strip_prefix(&format!("{}: ", path.display()))
        .unwrap_or(&full)
        .to_owned();
    MediaLoadError { path, message }
}

fn missing(kind: &str) -> MediaLoadError {
    MediaLoadError {
        path: "(utterance)".into(),
        message: format!("the dataset gives this utterance no {kind} file"),
    }
}

fn not_configured(kind: &str) -> MediaLoadError {
    MediaLoadError {
        path: "(network)".into(),
        message: format!("{kind} was asked for, but the network has no {kind} encoder"),
    }
}
