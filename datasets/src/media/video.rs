//! Video: N frames sampled across a clip as the original codebase chose them, in RGB, and the
//! VideoMAE preprocessing of those frames.

use std::path::Path;
use std::rc::Rc;

use ffmpeg_next::format::Pixel;
use ffmpeg_next::media::Type;
use ffmpeg_next::software::scaling::{context::Context as Scaler, flag::Flags};
use ffmpeg_next::util::frame::video::Video;
use mer_core::encoders::video::{IMAGENET_MEAN, IMAGENET_STD, Resize, VideoInput};

use super::{MediaError, Opened, open_stream};

/// Sampled frames: `count` RGB frames of `height × width`, row-major, `[N, H, W, 3]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Frames {
    pub count: usize,
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
    /// The frame index each sampled frame was read at.
    pub indices: Vec<usize>,
    /// Frames the container announced (or that were counted when it announced none).
    pub total: usize,
    /// Frames the decoder produced to get these: the work done, against `total` for a full
    /// decode.
    pub decoded: usize,
}

impl Frames {
    /// Frame `i` as `[H, W, 3]` RGB bytes.
    pub fn frame(&self, i: usize) -> &[u8] {
        let size = self.width * self.height * 3;
        &self.data[i * size..(i + 1) * size]
    }
}

/// `floor(arange(0, total, total / n))`, as NumPy computes it, first `n` values: the indices
/// the original codebase sampled.
pub fn frame_indices(total: usize, n: usize) -> Vec<usize> {
    if total == 0 || n == 0 {
        return Vec::new();
    }
    let step = total as f64 / n as f64;
    (0..n)
        .map(|k| (k as f64 * step).floor() as usize)
        .take_while(|&i| i < total)
        .collect()
}

/// Decodes `path` only as far as the last of [`frame_indices`]`(total, n)` and converts only
/// those frames to RGB. When the clip holds fewer frames than announced, the last decoded frame
/// stands in for the missing ones; a clip with no decodable frame is an error.
///
/// H.264 in MP4 (MELD's clips) is faster still: packets are read first and ranked by
/// presentation time, and a packet no other frame refers to (`nal_ref_idc = 0`) is not decoded
/// at all unless its frame is one of the N.
pub fn sample_frames(path: &Path, n: usize) -> Result<Frames, MediaError> {
    let Opened {
        mut input,
        index,
        parameters,
        frames,
    } = open_stream(path, Type::Video, "video")?;
    let announced = usize::try_from(frames).unwrap_or(0);
    let fail = |message: String| MediaError::Decode {
        path: path.to_owned(),
        kind: "video",
        message,
    };
    let avcc = is_avcc_h264(&parameters);
    let mut context = ffmpeg_next::codec::context::Context::from_parameters(parameters)
        .map_err(|e| fail(e.to_string()))?;
    context.set_threading(ffmpeg_next::codec::threading::Config {
        kind: ffmpeg_next::codec::threading::Type::Frame,
        count: std::thread::available_parallelism().map_or(1, |c| c.get()),
        ..Default::default()
    });
    let mut decoder = context.decoder().video().map_err(|e| fail(e.to_string()))?;
    let (width, height) = (decoder.width() as usize, decoder.height() as usize);

    // Demuxing is cheap next to decoding: read every packet, then rank them by presentation.
    let packets: Vec<ffmpeg_next::Packet> = input
        .packets()
        .filter(|(s, _)| s.index() == index)
        .map(|(_, p)| p)
        .collect();
    let display = display_order(&packets);
    let total = match (&display, announced) {
        (Some(order), _) => order.len(),
        (None, a) if a > 0 => a,
        (None, _) => count_frames(path)?,
    };
    let wanted = frame_indices(total, n);
    let is_wanted = {
        let mut flags = vec![false; total];
        for &i in &wanted {
            flags[i] = true;
        }
        flags
    };
    let last_wanted = wanted.last().copied().unwrap_or(0);

    // OpenCV converts with SWS_BICUBIC; the same flags give the same colours.
    let mut scaler: Option<Scaler> = None;
    let mut picked = Picked {
        chosen: vec![None; total],
        found: 0,
        counted: 0,
        last_rgb: None,
    };
    let mut decoded = Video::empty();
    let mut convert = |decoded: &Video| -> Result<Vec<u8>, MediaError> {
        let scaler = match &mut scaler {
            Some(s) => s,
            None => scaler.insert(
                Scaler::get(
                    decoded.format(),
                    decoded.width(),
                    decoded.height(),
                    Pixel::RGB24,
                    width as u32,
                    height as u32,
                    Flags::BICUBIC,
                )
                .map_err(|e| fail(e.to_string()))?,
            ),
        };
        let mut rgb = Video::empty();
        scaler
            .run(decoded, &mut rgb)
            .map_err(|e| fail(e.to_string()))?;
        let stride = rgb.stride(0);
        let mut bytes = Vec::with_capacity(width * height * 3);
        for row in 0..height {
            bytes.extend_from_slice(&rgb.data(0)[row * stride..row * stride + width * 3]);
        }
        Ok(bytes)
    };
    let distinct_wanted = is_wanted.iter().filter(|&&w| w).count();
    let mut take = |decoded: &Video, p: &mut Picked| -> Result<(), MediaError> {
        let frame_index = match &display {
            Some(order) => decoded
                .timestamp()
                .or(decoded.pts())
                .and_then(|t| order.get(&t).copied())
                .unwrap_or(p.counted),
            None => p.counted,
        };
        p.counted += 1;
        if frame_index < total && is_wanted[frame_index] && p.chosen[frame_index].is_none() {
            // Shared, not copied: a 720p frame is 2.7 MB.
            let bytes = Rc::new(convert(decoded)?);
            p.chosen[frame_index] = Some(Rc::clone(&bytes));
            p.found += 1;
            p.last_rgb = Some((frame_index, bytes));
        } else if frame_index >= last_wanted
            && p.last_rgb.as_ref().is_none_or(|(i, _)| frame_index > *i)
        {
            // Past the last wanted frame: kept as the stand-in for frames the clip lacks.
            p.last_rgb = Some((frame_index, Rc::new(convert(decoded)?)));
        }
        Ok(())
    };

    'packets: for packet in &packets {
        let skippable =
            avcc && display.as_ref().is_some_and(|order| {
                packet
                    .pts()
                    .and_then(|t| order.get(&t))
                    .is_some_and(|&i| i >= total || !is_wanted[i])
            }) && packet.data().is_some_and(is_disposable_avcc);
        if skippable {
            continue;
        }
        // A damaged packet (a cut file) ends decoding; frames before it are kept.
        if decoder.send_packet(packet).is_err() {
            break;
        }
        while decoder.receive_frame(&mut decoded).is_ok() {
            take(&decoded, &mut picked)?;
            if picked.found == distinct_wanted {
                break 'packets;
            }
        }
    }
    if picked.found < distinct_wanted {
        let _ = decoder.send_eof();
        while decoder.receive_frame(&mut decoded).is_ok() {
            take(&decoded, &mut picked)?;
        }
    }
    let Some((last_index, last)) = picked.last_rgb else {
        return Err(MediaError::Empty {
            path: path.to_owned(),
            kind: "video frames",
        });
    };
    let mut data = Vec::with_capacity(wanted.len() * width * height * 3);
    let mut indices = Vec::with_capacity(wanted.len());
    for &i in &wanted {
        match &picked.chosen[i] {
            Some(bytes) => {
                data.extend_from_slice(bytes);
                indices.push(i);
            }
            None => {
                data.extend_from_slice(&last);
                indices.push(last_index);
            }
        }
    }
    Ok(Frames {
        count: wanted.len(),
        width,
        height,
        data,
        indices,
        total,
        decoded: picked.counted,
    })
}

/// Presentation rank of each packet's timestamp, when every packet has a distinct one.
fn display_order(packets: &[ffmpeg_next::Packet]) -> Option<std::collections::HashMap<i64, usize>> {
    let mut pts: Vec<i64> = packets.iter().map(|p| p.pts()).collect::<Option<_>>()?;
    pts.sort_unstable();
    if pts.windows(2).any(|w| w[0] == w[1]) {
        return None;
    }
    Some(pts.into_iter().enumerate().map(|(i, t)| (t, i)).collect())
}

/// Whether the stream is H.264 with length-prefixed NAL units (MP4's `avcC`).
fn is_avcc_h264(parameters: &ffmpeg_next::codec::Parameters) -> bool {
    if parameters.id() != ffmpeg_next::codec::Id::H264 {
        return false;
    }
    // SAFETY: reading the extradata pointer and size of parameters we hold.
    unsafe {
        let p = parameters.as_ptr();
        !(*p).extradata.is_null() && (*p).extradata_size > 0 && *(*p).extradata == 1
    }
}

/// Whether an AVCC packet's slices are all non-reference (`nal_ref_idc = 0`): no other frame
/// is predicted from it, so it may be left undecoded.
fn is_disposable_avcc(data: &[u8]) -> bool {
    let mut at = 0;
    let mut slices = 0;
    while at + 4 < data.len() {
        let len = u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]) as usize;
        let Some(&header) = data.get(at + 4) else {
            return false;
        };
        let (ref_idc, kind) = (header >> 5 & 3, header & 0x1f);
        if matches!(kind, 1 | 5) {
            if ref_idc != 0 {
                return false;
            }
            slices += 1;
        }
        at += 4 + len;
    }
    slices > 0
}

/// What decoding has kept so far.
struct Picked {
    /// The RGB bytes of each wanted frame index, once decoded.
    chosen: Vec<Option<Rc<Vec<u8>>>>,
    /// Wanted frames decoded.
    found: usize,
    /// Frames the decoder has output.
    counted: usize,
    /// The latest converted frame: the stand-in for frames the clip lacks.
    last_rgb: Option<(usize, Rc<Vec<u8>>)>,
}

/// Frames of the best video stream, counted by decoding (for containers that do not say).
fn count_frames(path: &Path) -> Result<usize, MediaError> {
    let Opened {
        mut input,
        index,
        parameters,
        ..
    } = open_stream(path, Type::Video, "video")?;
    let fail = |e: ffmpeg_next::Error| MediaError::Decode {
        path: path.to_owned(),
        kind: "video",
        message: e.to_string(),
    };
    let context =
        ffmpeg_next::codec::context::Context::from_parameters(parameters).map_err(fail)?;
    let mut decoder = context.decoder().video().map_err(fail)?;
    let mut frame = Video::empty();
    let mut count = 0;
    for (stream, packet) in input.packets() {
        if stream.index() == index && decoder.send_packet(&packet).is_ok() {
            while decoder.receive_frame(&mut frame).is_ok() {
                count += 1;
            }
        }
    }
    let _ = decoder.send_eof();
    while decoder.receive_frame(&mut frame).is_ok() {
        count += 1;
    }
    Ok(count)
}

/// VideoMAE's preprocessing with ImageNet's mean and std: shortest edge to `size`, centre crop
/// `size × size`, rescale by 1/255 → `[N, 3, size, size]`.
pub fn videomae_pixels(frames: &Frames, size: usize) -> Vec<f32> {
    video_pixels(
        frames,
        &VideoInput {
            frames: frames.count,
            resize: Resize::ShortestEdge(size),
            crop: Some((size, size)),
            size,
            rescale: 1.0 / 255.0,
            mean: IMAGENET_MEAN,
            std: IMAGENET_STD,
        },
    )
}

/// A `VideoMAEImageProcessor` as `input` describes it: resize (bilinear with antialiasing, as
/// PIL resizes), centre crop, rescale, normalise → `[N, 3, size, size]`.
pub fn video_pixels(frames: &Frames, input: &VideoInput) -> Vec<f32> {
    let (w, h) = (frames.width, frames.height);
    let (new_w, new_h) = match input.resize {
        // transformers keeps the aspect ratio and truncates the longer side.
        Resize::ShortestEdge(s) if w <= h => (s, (s as f64 * h as f64 / w as f64) as usize),
        Resize::ShortestEdge(s) => ((s as f64 * w as f64 / h as f64) as usize, s),
        Resize::Exact(height, width) => (width, height),
        Resize::None => (w, h),
    };
    let (crop_h, crop_w) = input.crop.unwrap_or((new_h, new_w));
    let (top, left) = (
        new_h.saturating_sub(crop_h) / 2,
        new_w.saturating_sub(crop_w) / 2,
    );
    let size = input.size;
    let mut out = Vec::with_capacity(frames.count * 3 * size * size);
    for i in 0..frames.count {
        let resized = if (new_w, new_h) == (w, h) {
            frames.frame(i).to_vec()
        } else {
            resize_bilinear(frames.frame(i), w, h, new_w, new_h)
        };
        for c in 0..3 {
            for y in top..top + size {
                for x in left..left + size {
                    // A crop larger than the frame is padded with zeros, as transformers pads.
                    let byte = if y < new_h && x < new_w {
                        resized[(y * new_w + x) * 3 + c]
                    } else {
                        0
                    };
                    let v = f32::from(byte) * input.rescale;
                    out.push((v - input.mean[c]) / input.std[c]);
                }
            }
        }
    }
    out
}

/// PIL's `Image.resize(..., BILINEAR)` on RGB bytes: a separable triangle filter whose support
/// widens with the downscaling factor, rounding to bytes after each pass.
fn resize_bilinear(src: &[u8], w: usize, h: usize, new_w: usize, new_h: usize) -> Vec<u8> {
    let horizontal = weights(w, new_w);
    let vertical = weights(h, new_h);
    let mut tmp = vec![0u8; h * new_w * 3];
    for y in 0..h {
        for (x, (start, ws)) in horizontal.iter().enumerate() {
            for c in 0..3 {
                let mut acc = 0.0;
                for (k, wk) in ws.iter().enumerate() {
                    acc += wk * f64::from(src[(y * w + start + k) * 3 + c]);
                }
                tmp[(y * new_w + x) * 3 + c] = clip8(acc);
            }
        }
    }
    let mut out = vec![0u8; new_h * new_w * 3];
    for (y, (start, ws)) in vertical.iter().enumerate() {
        for x in 0..new_w {
            for c in 0..3 {
                let mut acc = 0.0;
                for (k, wk) in ws.iter().enumerate() {
                    acc += wk * f64::from(tmp[((start + k) * new_w + x) * 3 + c]);
                }
                out[(y * new_w + x) * 3 + c] = clip8(acc);
            }
        }
    }
    out
}

fn clip8(v: f64) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

/// For each output pixel: the first input pixel and the normalised weights (PIL's
/// `precompute_coeffs` with the bilinear filter, support 1).
fn weights(input: usize, output: usize) -> Vec<(usize, Vec<f64>)> {
    let scale = input as f64 / output as f64;
    let filter_scale = scale.max(1.0);
    let support = filter_scale;
    (0..output)
        .map(|i| {
            let center = (i as f64 + 0.5) * scale;
            let lo = ((center - support + 0.5).floor().max(0.0)) as usize;
            let hi = ((center + support + 0.5).floor() as usize).min(input);
            let mut ws: Vec<f64> = (lo..hi)
                .map(|j| {
                    let t = (j as f64 - center + 0.5) / filter_scale;
                    (1.0 - t.abs()).max(0.0)
                })
                .collect();
            let sum: f64 = ws.iter().sum();
            if sum > 0.0 {
                ws.iter_mut().for_each(|v| *v /= sum);
            }
            (lo, ws)
        })
        .collect()
}
