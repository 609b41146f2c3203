//! Audio and video in training: samples name their files, a [`MediaSource`] decodes them, and
//! [`MediaStream`] runs that decoding on worker threads ahead of the batches that need it.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use super::modality::Modality;
use super::prefetch::{Prefetch, prefetch};
use super::sample::Sample;

/// A decoded video: `frames` frames of 3 × `size` × `size` values, frame-major.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoClip {
    pub frames: usize,
    pub size: usize,
    pub pixels: Vec<f32>,
}

/// What a batch reads of one utterance's media, decoded; `None` where it was not asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Media {
    /// Mono samples at the audio encoder's rate, preprocessed as it expects.
    pub audio: Option<Vec<f32>>,
    pub video: Option<VideoClip>,
}

/// Which modalities to decode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaNeeds {
    pub audio: bool,
    pub video: bool,
}

impl MediaNeeds {
    /// Whether anything is decoded at all.
    pub fn any(self) -> bool {
        self.audio || self.video
    }

    /// What the encoders of `modality` read.
    pub fn of(modality: Modality) -> Self {
        MediaNeeds {
            audio: modality == Modality::A,
            video: modality == Modality::V,
        }
    }

    /// What encoders reading `modalities` need.
    pub fn of_all(modalities: impl IntoIterator<Item = Modality>) -> Self {
        modalities
            .into_iter()
            .fold(MediaNeeds::default(), |needs, m| {
                needs.or(MediaNeeds::of(m))
            })
    }

    fn or(self, other: Self) -> Self {
        MediaNeeds {
            audio: self.audio || other.audio,
            video: self.video || other.video,
        }
    }
}

/// A media file that could not be used.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct MediaLoadError {
    pub path: PathBuf,
    pub message: String,
}

/// Decodes the media of samples as a network's encoders expect them.
pub trait MediaSource: Send + Sync {
    /// `sample`'s audio and/or video, as `needs` says.
    fn load(&self, sample: &Sample, needs: MediaNeeds) -> Result<Media, MediaLoadError>;
}

/// A shared [`MediaSource`], as training data holds it.
#[derive(Clone)]
pub struct MediaFeed {
    pub source: Arc<dyn MediaSource>,
    /// Decoding threads.
    pub workers: usize,
}

impl fmt::Debug for MediaFeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MediaFeed({} workers)", self.workers)
    }
}

impl MediaFeed {
    /// Decodes with `source` on one thread per core.
    pub fn new(source: Arc<dyn MediaSource>) -> Self {
        MediaFeed {
            source,
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// The decoded media of samples in a given order, handed out batch by batch.
pub struct MediaStream {
    inner: Option<Prefetch<Result<Media, MediaLoadError>>>,
}

impl MediaStream {
    /// Starts decoding `samples[order]` (what `needs` asks) up to `ahead` samples ahead of the
    /// consumer; with no feed or nothing needed, batches get empty [`Media`].
    pub fn start(
        feed: Option<&MediaFeed>,
        samples: &[Sample],
        order: &[usize],
        needs: MediaNeeds,
        ahead: usize,
    ) -> Self {
        let inner = feed.filter(|_| needs.any()).map(|feed| {
            let items: Vec<Sample> = order.iter().map(|&i| samples[i].clone()).collect();
            let source = feed.source.clone();
            prefetch(items, feed.workers, ahead, move |sample| {
                source.load(sample, needs)
            })
        });
        MediaStream { inner }
    }

    /// The next `n` samples' media.
    pub fn take(&mut self, n: usize) -> Result<Vec<Media>, MediaLoadError> {
        match &mut self.inner {
            None => Ok(vec![Media::default(); n]),
            Some(stream) => stream.by_ref().take(n).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::NdArray;

    use super::*;
    use crate::input::Batch;

    /// Audio of `n` samples of value `n` for a file named `n`; `bad` fails.
    struct Fake;

    impl MediaSource for Fake {
        fn load(&self, sample: &Sample, needs: MediaNeeds) -> Result<Media, MediaLoadError> {
            let path = sample.audio.clone().expect("a file");
            let name = path.display().to_string();
            let n: usize = name.parse().map_err(|_| MediaLoadError {
                path: path.clone(),
                message: "cannot decode".into(),
            })?;
            Ok(Media {
                audio: needs.audio.then(|| vec![n as f32; n]),
                video: needs.video.then(|| VideoClip {
                    frames: 2,
                    size: 1,
                    pixels: vec![n as f32; 2 * 3],
                }),
            })
        }
    }

    fn sample(file: &str) -> Sample {
        Sample {
            text_ids: vec![0, 1],
            audio: Some(file.into()),
            ..Default::default()
        }
    }

    #[test]
    fn batches_get_their_samples_media_in_order_padded() {
        let feed = MediaFeed::new(Arc::new(Fake));
        let samples: Vec<Sample> = ["3", "1", "2"].map(sample).to_vec();
        let needs = MediaNeeds {
            audio: true,
            video: true,
        };
        let mut stream = MediaStream::start(Some(&feed), &samples, &[2, 0, 1], needs, 2);
        let media = stream.take(2).unwrap();
        let refs: Vec<&Sample> = vec![&samples[2], &samples[0]];
        let batch = Batch::<NdArray<f32>>::with_media(&refs, &media, 0, &Default::default());
        let audio = batch.audio.expect("audio in the batch");
        let values: Vec<f32> = audio.samples.into_data().into_vec().unwrap();
        assert_eq!(values, [2.0, 2.0, 0.0, 3.0, 3.0, 3.0]);
        let mask: Vec<i64> = audio.mask.into_data().into_vec().unwrap();
        assert_eq!(mask, [1, 1, 0, 1, 1, 1]);
        assert_eq!(batch.video.expect("video").pixels.dims(), [2, 2, 3, 1, 1]);
        assert_eq!(stream.take(1).unwrap()[0].audio, Some(vec![1.0]));
    }

    #[test]
    fn a_bad_file_is_an_error_naming_it_and_nothing_is_decoded_unasked() {
        let feed = MediaFeed::new(Arc::new(Fake));
        let samples = vec![sample("1"), sample("bad")];
        let audio = MediaNeeds {
            audio: true,
            video: false,
        };
        let mut stream = MediaStream::start(Some(&feed), &samples, &[0, 1], audio, 4);
        let error = stream.take(2).unwrap_err();
        assert_eq!(error.to_string(), "bad: cannot decode");
        let mut idle = MediaStream::start(Some(&feed), &samples, &[0, 1], MediaNeeds::default(), 4);
        assert_eq!(idle.take(2).unwrap(), vec![Media::default(); 2]);
    }
}
