//! Decoding audio and video with the system FFmpeg (through ffmpeg-next): any file FFmpeg reads
//! becomes mono 16 kHz samples ([`audio`]) or N sampled RGB frames ([`video`]). Training decodes
//! them on worker threads ahead of the model (`mer_core::input::prefetch`).

pub mod audio;
pub mod source;
pub mod video;

use std::path::{Path, PathBuf};
use std::sync::Once;

pub use audio::{AudioOptions, load_audio};
pub use source::ClipLoader;
pub use video::{Frames, frame_indices, sample_frames, video_pixels, videomae_pixels};

/// Why a media file could not be decoded. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("{}: cannot open: {message}", path.display())]
    Open { path: PathBuf, message: String },
    #[error("{}: has no {kind} stream", path.display())]
    NoStream { path: PathBuf, kind: &'static str },
    #[error("{}: cannot decode {kind}: {message}", path.display())]
    Decode {
        path: PathBuf,
        kind: &'static str,
        message: String,
    },
    #[error("{}: no {kind} could be decoded (empty or truncated)", path.display())]
    Empty { path: PathBuf, kind: &'static str },
}

impl MediaError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            MediaError::Open { path, .. }
            | MediaError::NoStream { path, .. }
            | MediaError::Decode { path, .. }
            | MediaError::Empty { path, .. } => path,
        }
    }
}

fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        ffmpeg_next::init().expect("FFmpeg initialises");
        // Decoding problems are returned as errors naming the file; FFmpeg's own log lines
        // would repeat them without the file name.
        ffmpeg_next::util::log::set_level(ffmpeg_next::util::log::Level::Fatal);
    });
}

fn open(path: &Path) -> Result<ffmpeg_next::format::context::Input, MediaError> {
    init();
    if std::fs::metadata(path).is_ok_and(|m| m.len() == 0) {
        return Err(MediaError::Open {
            path: path.to_owned(),
            message: "the file is empty".into(),
        });
    }
    ffmpeg_next::format::input(path).map_err(|e| MediaError::Open {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// A media file opened at its best stream of `medium`.
struct Opened {
    input: ffmpeg_next::format::context::Input,
    index: usize,
    parameters: ffmpeg_next::codec::Parameters,
    /// Frames the container announces (0 when it does not say).
    frames: i64,
}

/// Opens `path` at its best `medium` stream (`kind` names it in errors).
fn open_stream(
    path: &Path,
    medium: ffmpeg_next::media::Type,
    kind: &'static str,
) -> Result<Opened, MediaError> {
    let input = open(path)?;
    let stream = input
        .streams()
        .best(medium)
        .ok_or_else(|| MediaError::NoStream {
            path: path.to_owned(),
            kind,
        })?;
    let (index, parameters, frames) = (stream.index(), stream.parameters(), stream.frames());
    Ok(Opened {
        input,
        index,
        parameters,
        frames,
    })
}
