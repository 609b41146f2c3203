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
    let failed = |code: i32| MediaError::Open {
        path: path.to_owned(),
        message: ffmpeg_next::Error::from(code).to_string(),
    };
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| {
        MediaError::Open {
            path: path.to_owned(),
            message: "the path holds a NUL byte".into(),
        }
    })?;
    let mut context = std::ptr::null_mut();
    // SAFETY: FFmpeg's documented open sequence; on every failure the context is closed before
    // returning, on success it is handed to `Input`, which closes it when dropped.
    unsafe {
        use ffmpeg_next::ffi::{
            avformat_close_input, avformat_find_stream_info, avformat_open_input,
        };
        let code = avformat_open_input(
            &mut context,
            c_path.as_ptr(),
            std::ptr::null(),
            std::ptr::null_mut(),
        );
        if code < 0 {
            return Err(failed(code));
        }
        if !streams_described(context) {
            let code = avformat_find_stream_info(context, std::ptr::null_mut());
            if code < 0 {
                avformat_close_input(&mut context);
                return Err(failed(code));
            }
        }
        Ok(ffmpeg_next::format::context::Input::wrap(context))
    }
}

/// Whether the container's header already gave every stream what decoding needs (codec; frame
/// size or sample rate and channels), as MP4's and MOV's do. Then probing the streams
/// (`avformat_find_stream_info`, which decodes the first frames of each, 13 ms of a 720p clip's
/// 250) is skipped; other files are probed as FFmpeg's tools probe them.
///
/// # Safety
/// `context` must be an open input.
unsafe fn streams_described(context: *mut ffmpeg_next::ffi::AVFormatContext) -> bool {
    use ffmpeg_next::ffi::{AVCodecID, AVMediaType};
    // SAFETY: the caller's contract: `streams` holds `nb_streams` live streams.
    let streams = unsafe {
        let context = &*context;
        std::slice::from_raw_parts(context.streams, context.nb_streams as usize)
    };
    !streams.is_empty()
        && streams.iter().all(|&stream| {
            // SAFETY: every stream of an open input has its parameters.
            let p = unsafe { &*(*stream).codecpar };
            p.codec_id != AVCodecID::AV_CODEC_ID_NONE
                && match p.codec_type {
                    AVMediaType::AVMEDIA_TYPE_VIDEO => p.width > 0 && p.height > 0,
                    AVMediaType::AVMEDIA_TYPE_AUDIO => {
                        p.sample_rate > 0 && p.ch_layout.nb_channels > 0
                    }
                    _ => true,
                }
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
