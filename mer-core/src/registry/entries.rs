//! What a registration does for its architecture, behind plain function pointers: resolve a
//! config, say what a run reads, train it on a device, predict with a checkpoint.

use std::path::Path;

use burn::backend::{Autodiff, NdArray};
use burn::module::AutodiffModule;
use burn::tensor::backend::{AutodiffBackend, Backend};

use crate::architecture::{
    Architecture, ArchitectureConfig, EncoderInfo, Forward, InitError, TeacherInfo,
};
use crate::cache::{CacheError, FeatureCache};
use crate::config::identity::Identity;
use crate::config::{ConfigError, RawConfig};
use crate::encoders::audio::AudioEncoderConfig;
use crate::encoders::text::TextEncoderConfig;
use crate::encoders::video::VideoEncoderConfig;
use crate::encoders::{EncoderMode, InputConfig};
use crate::input::{DataConfig, MediaFeed, MediaLoadError, MediaNeeds, Sample};
use crate::run::RunConfig;
use crate::store::{Store, StoreError};
use crate::train::{Outcome, TrainData, TrainError, predict};

/// Where training runs on the CPU: Burn's ndarray backend with autodiff.
pub type CpuTraining = Autodiff<NdArray<f32>>;
/// Where evaluation and inference run.
pub type Inference = NdArray<f32>;
/// Training on an NVIDIA GPU; in a build without CUDA, the CPU.
#[cfg(feature = "cuda")]
pub type GpuTraining = Autodiff<burn::backend::Cuda>;
/// Training on an NVIDIA GPU; in a build without CUDA, the CPU.
#[cfg(not(feature = "cuda"))]
pub type GpuTraining = CpuTraining;
type GpuInference = <GpuTraining as AutodiffBackend>::InnerBackend;

/// Where to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Cpu,
    /// The NVIDIA GPU of this index (a `--features cuda` build).
    #[cfg(feature = "cuda")]
    Cuda(usize),
}

/// Where a run trains: one device, or several of one kind, each batch split over them
/// ([`crate::train::parallel`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Devices {
    /// The CPU, with this many replicas of the network (more than one only tests the
    /// data-parallel path: one replica already uses every core).
    Cpu(usize),
    /// The NVIDIA GPUs of these indices (a `--features cuda` build).
    #[cfg(feature = "cuda")]
    Cuda(Vec<usize>),
}

/// Why a run could not be prepared, trained or used.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Init(#[from] InitError),
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Media(#[from] MediaLoadError),
    #[error(transparent)]
    Cache(#[from] CacheError),
}

/// What a run reads and where it goes, whatever its architecture: what data preparation, media
/// decoding and the tools' output need.
#[derive(Debug, Clone)]
pub struct RunInputs {
    pub data: DataConfig,
    pub encoders: Vec<EncoderInfo>,
    /// The teachers, and what they read.
    pub teachers: Vec<TeacherInfo>,
    /// The first text, audio and video encoder, as configured.
    pub text: Option<TextEncoderConfig>,
    pub audio: Option<AudioEncoderConfig>,
    pub video: Option<VideoEncoderConfig>,
    /// The summary label (`1xE--A+T+V`).
    pub summary: String,
    pub identity: Identity,
    /// Where its checkpoint goes (or is): below `output.checkpoints`, named by its identity.
    pub checkpoint_dir: std::path::PathBuf,
}

impl RunInputs {
    /// Every modality's media, as evaluation and inference decode them (teachers' too: they run
    /// there).
    pub fn media_all(&self) -> MediaNeeds {
        MediaNeeds::of_all(
            self.encoders
                .iter()
                .map(|e| e.modality)
                .chain(self.teachers.iter().flat_map(|t| t.modalities.clone())),
        )
    }
}

/// The run config of architecture `C` (the name `architecture` defaults to), resolved, and the
/// TOML saved beside its checkpoint.
pub fn resolve<C: ArchitectureConfig>(
    raw: &RawConfig,
) -> Result<(RunConfig<C>, String), ConfigError> {
    let mut raw = raw.clone();
    raw.set_default_str("architecture", C::NAME);
    let run: RunConfig<C> = raw.resolve()?;
    let toml = toml::to_string_pretty(&run).expect("configs serialise to TOML");
    Ok((run, toml))
}

pub(super) fn data<C: ArchitectureConfig>(raw: &RawConfig) -> Result<DataConfig, ConfigError> {
    Ok(resolve::<C>(raw)?.0.data)
}

pub(super) fn inputs<C: ArchitectureConfig>(raw: &RawConfig) -> Result<RunInputs, ConfigError> {
    let (run, _) = resolve::<C>(raw)?;
    let model = &run.model;
    let mut out = RunInputs {
        data: run.data.clone(),
        encoders: model.encoders(),
        teachers: model.teachers(),
        text: None,
        audio: None,
        video: None,
        summary: model.summary().to_string(),
        identity: run.identity(),
        checkpoint_dir: std::path::PathBuf::from(&run.output.checkpoints)
            .join(run.checkpoint_id().relative_dir()),
    };
    for (_, input) in model.inputs() {
        match input {
            InputConfig::Text(c) => out.text = out.text.or_else(|| Some(c.clone())),
            InputConfig::Audio(c) => out.audio = out.audio.or_else(|| Some(c.clone())),
            InputConfig::Video(c) => out.video = out.video.or_else(|| Some(c.clone())),
        }
    }
    // A teacher reads what the student may not (a text teacher of an audio student): its inputs
    // are prepared as its own encoders configure them.
    for teacher in &out.teachers {
        out.text = out.text.take().or_else(|| teacher.text.clone());
        out.audio = out.audio.take().or_else(|| teacher.audio.clone());
        out.video = out.video.take().or_else(|| teacher.video.clone());
    }
    Ok(out)
}

pub(super) fn frozen_identities<C: ArchitectureConfig>(
    raw: &RawConfig,
    cache: &FeatureCache,
) -> Result<Vec<String>, RunError> {
    let (run, _) = resolve::<C>(raw)?;
    // Frozen encoders' features and teachers' outputs are what the cache holds for a run.
    let cached: Vec<&'static str> = run
        .model
        .encoders()
        .into_iter()
        .filter(|e| e.mode == EncoderMode::Frozen)
        .map(|e| e.field)
        .chain(run.model.teachers().into_iter().map(|t| t.field))
        .collect();
    if cached.is_empty() {
        return Ok(Vec::new());
    }
    // Seeded as training seeds it: a random frozen encoder's identity is its drawn weights.
    let device = Default::default();
    CpuTraining::seed(&device, run.training.seed);
    let network = C::Network::<CpuTraining>::try_init(&run.model, &device)?;
    cached
        .iter()
        .map(|field| {
            let identity = network
                .feature_identity(&run.model, field, cache)
                .expect("an encoder or teacher field")?;
            Ok(identity.digest)
        })
        .collect()
}

/// An architecture config whose network trains and predicts on every backend of this build:
/// every `#[derive(Architecture)]` config whose network implements [`Forward`].
pub trait Registrable: ArchitectureConfig {
    /// Trains `run` on `devices`.
    fn train_on(
        run: &RunConfig<Self>,
        config_toml: &str,
        data: &TrainData,
        store: &Store,
        devices: &Devices,
    ) -> Result<Outcome, TrainError>;

    /// Class probabilities of `samples` by the checkpoint at `checkpoint`, on the CPU.
    fn predict_with(
        run: &RunConfig<Self>,
        checkpoint: &Path,
        samples: &[Sample],
        pad_id: u32,
        media: (Option<&MediaFeed>, MediaNeeds),
    ) -> Result<Vec<Vec<f32>>, RunError>;
}

impl<C> Registrable for C
where
    C: ArchitectureConfig,
    C::Network<CpuTraining>:
        AutodiffModule<CpuTraining, InnerModule = C::Network<Inference>> + Forward<CpuTraining>,
    C::Network<Inference>: Forward<Inference>,
    C::Network<GpuTraining>:
        AutodiffModule<GpuTraining, InnerModule = C::Network<GpuInference>> + Forward<GpuTraining>,
    C::Network<GpuInference>: Forward<GpuInference>,
{
    fn train_on(
        run: &RunConfig<Self>,
        config_toml: &str,
        data: &TrainData,
        store: &Store,
        devices: &Devices,
    ) -> Result<Outcome, TrainError> {
        match devices {
            Devices::Cpu(replicas) => {
                crate::train::train_parallel::<CpuTraining, C::Network<CpuTraining>>(
                    run,
                    config_toml,
                    data,
                    store,
                    &vec![Default::default(); *replicas],
                )
            }
            #[cfg(feature = "cuda")]
            Devices::Cuda(indices) => {
                let cache = Path::new(&run.output.cache).join("cubecl");
                if let Some(file) = super::gpu::configure_cubecl(&cache) {
                    eprintln!("CubeCL settings: {}", file.display());
                }
                let devices: Vec<_> = indices
                    .iter()
                    .map(|&index| burn::backend::cuda::CudaDevice { index })
                    .collect();
                crate::train::train_parallel::<GpuTraining, C::Network<GpuTraining>>(
                    run,
                    config_toml,
                    data,
                    store,
                    &devices,
                )
            }
        }
    }

    fn predict_with(
        run: &RunConfig<Self>,
        checkpoint: &Path,
        samples: &[Sample],
        pad_id: u32,
        media: (Option<&MediaFeed>, MediaNeeds),
    ) -> Result<Vec<Vec<f32>>, RunError> {
        let store = Store::new(&run.output.checkpoints);
        let device = Default::default();
        let network = store.load(
            checkpoint,
            C::Network::<Inference>::try_init(&run.model, &device)?,
        )?;
        Ok(predict(
            &network,
            samples,
            pad_id,
            run.training.eval_batch_size,
            &device,
            media,
        )?)
    }
}

pub(super) fn train<C: Registrable>(
    raw: &RawConfig,
    data: &TrainData,
    devices: &Devices,
) -> Result<Outcome, RunError> {
    let (run, config_toml) = resolve::<C>(raw)?;
    let store = Store::new(&run.output.checkpoints);
    Ok(C::train_on(&run, &config_toml, data, &store, devices)?)
}

pub(super) fn predict_with_checkpoint<C: Registrable>(
    checkpoint: &Path,
    samples: &[Sample],
    pad_id: u32,
    media: (Option<&MediaFeed>, MediaNeeds),
) -> Result<Vec<Vec<f32>>, RunError> {
    let raw = RawConfig::load(&[&checkpoint.join("config.toml")], &[] as &[&str])?;
    let (run, _) = resolve::<C>(&raw)?;
    C::predict_with(&run, checkpoint, samples, pad_id, media)
}
