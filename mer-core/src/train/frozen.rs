//! Frozen encoders in training: their outputs come from the feature cache, computed once per
//! (encoder identity, input) and attached to each batch, so an epoch runs only what trains.

use std::time::Instant;

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

use super::data::TrainData;
use crate::architecture::{Architecture, ArchitectureConfig, TeacherRow};
use crate::cache::{CacheError, FeatureCache, Features, Key};
use crate::encoders::EncoderMode;
use crate::input::{Batch, Media, MediaFeed, MediaLoadError, MediaNeeds, Padding, Sample};

/// Which split a batch comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitName {
    Train,
    Dev,
    Test,
}

impl SplitName {
    fn as_str(self) -> &'static str {
        match self {
            SplitName::Train => "train",
            SplitName::Dev => "dev",
            SplitName::Test => "test",
        }
    }
}

/// The cached features of every frozen encoder, per split.
pub struct FrozenFeatures {
    fields: Vec<(&'static str, [Features; 3])>,
    /// Seconds spent encoding inputs the cache did not have.
    pub encode_seconds: f64,
    /// Inputs encoded (not found in the cache).
    pub encoded: usize,
}

impl FrozenFeatures {
    /// No frozen encoder: batches are left as they are.
    pub fn none() -> Self {
        FrozenFeatures {
            fields: Vec::new(),
            encode_seconds: 0.0,
            encoded: 0,
        }
    }

    /// Reads (or computes and caches) the features of every frozen encoder of `network` for
    /// every split of `data`. `group` names the dataset, so a folder holds one dataset's split.
    pub fn prepare<B: Backend, A: Architecture<B>>(
        network: &A,
        config: &A::Config,
        data: &TrainData,
        group: &str,
        cache: &FeatureCache,
        (batch_size, padding): (usize, &Padding),
        device: &B::Device,
    ) -> Result<Self, CacheError> {
        let mut out = FrozenFeatures::none();
        // Frozen encoders and teachers alike: their outputs depend on the input alone.
        let mut cached: Vec<(&'static str, MediaNeeds, &str)> = config
            .encoders()
            .into_iter()
            .filter(|e| e.mode == EncoderMode::Frozen)
            .map(|e| (e.field, MediaNeeds::of(e.modality), "frozen encoder"))
            .collect();
        cached.extend(
            config
                .teachers()
                .into_iter()
                .map(|t| (t.field, MediaNeeds::of_all(t.modalities), "teacher")),
        );
        for (field, needs, what) in cached {
            let identity = network
                .feature_identity(config, field, cache)
                .expect("an encoder or teacher field of this architecture")?;
            // Media inputs are keyed by content: hash every file once, in one pass.
            let files: Vec<&std::path::Path> = [&data.train, &data.dev, &data.test]
                .into_iter()
                .flatten()
                .flat_map(|s| {
                    let audio = s.audio.as_deref().filter(|_| needs.audio);
                    let video = s.video.as_deref().filter(|_| needs.video);
                    audio.into_iter().chain(video)
                })
                .collect();
            cache.file_digests(&files).map_err(|e| match e {
                CacheError::Io { path, error } => CacheError::Media(MediaLoadError {
                    path,
                    message: error.to_string(),
                }),
                other => other,
            })?;
            let mut per_split = Vec::new();
            for (split, samples) in [
                (SplitName::Train, &data.train),
                (SplitName::Dev, &data.dev),
                (SplitName::Test, &data.test),
            ] {
                let keys: Vec<Key> = samples
                    .iter()
                    .map(|s| A::input_key(config, field, s, cache).expect("a cached field"))
                    .collect::<Result<_, _>>()?;
                let name = format!("{group}-{}", split.as_str());
                let features = cache.features(&identity, &name, &keys, |indices| {
                    let started = Instant::now();
                    eprintln!(
                        "computing {} {} inputs with the {what} `{field}` (cache {})",
                        indices.len(),
                        name,
                        identity.digest
                    );
                    let rows = encode_rows(
                        network,
                        field,
                        samples,
                        indices,
                        (data.pad_id, padding),
                        batch_size,
                        device,
                        encode_workers::<B>(device),
                        (data.media.as_ref(), needs),
                    )
                    .map_err(CacheError::Media)?;
                    out.encode_seconds += started.elapsed().as_secs_f64();
                    out.encoded += indices.len();
                    Ok::<_, CacheError>(rows)
                })?;
                per_split.push(features);
            }
            if what == "teacher" {
                check_teacher_classes(field, &per_split, data.num_classes)?;
            }
            let per_split: [Features; 3] = per_split.try_into().ok().expect("three splits");
            out.fields.push((field, per_split));
        }
        Ok(out)
    }

    /// Whether any encoder is frozen.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Attaches the features of samples `indices` of `split` to `batch`.
    pub fn attach<B: Backend>(
        &self,
        batch: &mut Batch<B>,
        split: SplitName,
        indices: &[usize],
        device: &B::Device,
    ) {
        let at = match split {
            SplitName::Train => 0,
            SplitName::Dev => 1,
            SplitName::Test => 2,
        };
        for (field, per_split) in &self.fields {
            let features = &per_split[at];
            let rows = features.gather(indices);
            let tensor = Tensor::from_data(
                TensorData::new(rows, [indices.len(), features.dim()]),
                device,
            );
            batch.features.insert(field, tensor);
        }
    }
}

/// A teacher scores the classes this run's labels have: its rows ([`TeacherRow`]) say how many.
fn check_teacher_classes(
    field: &str,
    per_split: &[Features],
    classes: usize,
) -> Result<(), CacheError> {
    let Some(first) = per_split.iter().find(|f| !f.is_empty()) else {
        return Ok(());
    };
    let scored = TeacherRow::classes(&first.gather(&[0]));
    if scored == classes {
        return Ok(());
    }
    Err(CacheError::Compute(format!(
        "the teacher `{field}` scores {scored} classes, this run's labels have {classes}: train the \
         teacher on the same labels"
    )))
}

/// How many threads encode on backend `B`: every core on the CPU backend, whose elementwise
/// kernels run on one thread, and one elsewhere.
pub fn encode_workers<B: Backend>(device: &B::Device) -> usize {
    if crate::util::backend::is_ndarray::<B>(device) {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        1
    }
}

/// Runs encoder `field` over `samples[indices]` in batches of similar length, padded with
/// `pad_id` as `padding` says, on `workers` threads (each with its own handle on the weights,
/// decoding its batches' media with `feed` as `needs` says); one row each, in the order of
/// `indices`.
#[allow(clippy::too_many_arguments)]
pub fn encode_rows<B: Backend, A: Architecture<B>>(
    network: &A,
    field: &str,
    samples: &[Sample],
    indices: &[usize],
    (pad_id, padding): (u32, &Padding),
    batch_size: usize,
    device: &B::Device,
    workers: usize,
    (feed, needs): (Option<&MediaFeed>, MediaNeeds),
) -> Result<Vec<Vec<f32>>, MediaLoadError> {
    let mut order: Vec<usize> = (0..indices.len()).collect();
    order.sort_by_key(|&j| samples[indices[j]].text_ids.len());
    let chunks: Vec<&[usize]> = order.chunks(batch_size.max(1)).collect();
    let encode_chunk = |network: &A, chunk: &[usize]| -> Result<Vec<f32>, MediaLoadError> {
        let batch_samples: Vec<&Sample> = chunk.iter().map(|&j| &samples[indices[j]]).collect();
        let media = match feed.filter(|_| needs.any()) {
            Some(feed) => batch_samples
                .iter()
                .map(|s| feed.source.load(s, needs))
                .collect::<Result<Vec<_>, _>>()?,
            None => vec![Media::default(); chunk.len()],
        };
        let batch = Batch::<B>::padded(&batch_samples, &media, pad_id, padding, device);
        Ok(network
            .encode_part(field, &batch)
            .expect("an encoder field of this architecture")
            .into_data()
            .convert::<f32>()
            .into_vec()
            .expect("float features"))
    };
    let outputs = crate::util::parallel::round_robin(
        chunks.len(),
        workers,
        || network.clone(),
        |network, i| encode_chunk(network, chunks[i]),
    );
    let mut rows = vec![Vec::new(); indices.len()];
    for (chunk, values) in chunks.iter().zip(outputs) {
        let values = values?;
        let dim = values.len() / chunk.len();
        for (row, &j) in chunk.iter().enumerate() {
            rows[j] = values[row * dim..(row + 1) * dim].to_vec();
        }
    }
    Ok(rows)
}
