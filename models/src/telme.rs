//! TelME (Yun et al., NAACL 2024) as three architectures that train in one command: a text
//! teacher (`unimodal`), audio and video students distilled from it (`telme-audio`,
//! `telme-video`: DIST on the logits, feature distillation on the vector each head reads), and
//! `telme`, attention-shifting fusion over the frozen students' and teacher's encoders.
//! Upstream: yuntaeyang/TelME, `MELD/student.py`, `MELD/fusion.py`, `MELD/meld_kd.py`.
//!
//! `telme` names its three source networks as teachers, so `cargo run -p models --bin telme`
//! trains what is missing in order (teacher, then each student, then the fusion) and reuses
//! what exists.

use burn::module::Module;
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;
use mer_core::Architecture;
use mer_core::architecture::{Forward, Output};
use mer_core::config::schema::Problem;
use mer_core::config::wiring::Wiring;
use mer_core::encoders::audio::{AudioEncoder, AudioEncoderConfig};
use mer_core::encoders::text::{TextEncoder, TextEncoderConfig};
use mer_core::encoders::video::{VideoEncoder, VideoEncoderConfig};
use mer_core::input::Batch;
use mer_core::nn::fusion::{AttentionShiftFusion, AttentionShiftFusionConfig};
use mer_core::nn::loss::{Losses, dist, feature_distillation};
use mer_core::nn::{ClassifierHead, ClassifierHeadConfig};

use crate::makd::DISTILLATION;
use crate::unimodal::{Unimodal, UnimodalConfig};

/// The loss term between what a student's head reads and what the teacher's reads: TelME's
/// feature distillation at `[training.losses.feature_distillation] temperature`.
pub const FEATURE_DISTILLATION: &str = "feature_distillation";

/// The built-in demo defaults: the fusion stage, and the two students it names.
pub const DEMO_CONFIG: &str = include_str!("../../experiments/telme/demo.toml");

/// The name errors show for [`DEMO_CONFIG`].
pub const DEMO_CONFIG_NAME: &str = "experiments/telme/demo.toml (built in)";

/// A student's output: its logits, and when training, DIST towards the teacher's logits and
/// feature distillation towards the teacher's features.
fn student_output<B: Backend>(
    features: Tensor<B, 2>,
    head: &ClassifierHead<B>,
    teacher: impl FnOnce() -> (Tensor<B, 2>, Option<Tensor<B, 2>>),
    losses: Option<&Losses>,
) -> Output<B> {
    let logits = head.forward(features.clone());
    let output = Output::logits(logits.clone()).with_features(features.clone());
    let Some(losses) = losses else {
        return output;
    };
    let (teacher_logits, teacher_features) = teacher();
    let teacher_features = teacher_features
        .expect("the teacher is a `unimodal` network, whose output carries its features");
    output
        .with_term(
            DISTILLATION,
            dist(logits, teacher_logits, losses.temperature(DISTILLATION)),
        )
        .with_term(
            FEATURE_DISTILLATION,
            feature_distillation(
                features,
                teacher_features,
                losses.temperature(FEATURE_DISTILLATION),
            ),
        )
}

/// Feature distillation compares vectors of one width: the student's encoder must be as wide
/// as the teacher's projector.
fn check_student_width(
    student: &impl Wiring,
    teacher: Option<&UnimodalConfig>,
    key: &str,
) -> Result<(), Problem> {
    let (Ok(width), Some(teacher)) = (student.output_width(), teacher) else {
        return Ok(());
    };
    let teacher_width = teacher.projector.output;
    if width == teacher_width {
        return Ok(());
    }
    Err(Problem::new(
        key,
        format!(
            "is {width} wide, the teacher's features (its `model.projector.output`) are \
             {teacher_width}: feature distillation needs them equal"
        ),
    ))
}

/// TelME's audio student: a waveform encoder and a linear head, learning the labels and the
/// text teacher's class ranking (DIST) and feature relations.
#[derive(Module, Debug, Architecture)]
#[architecture(
    name = "telme-audio",
    loss_terms = ["distillation", "feature_distillation"],
    check = Self::check_values
)]
pub struct TelmeAudio<B: Backend> {
    /// The waveform encoder; its pooled output is what the head reads (TelME's first position,
    /// or the configured pooling).
    #[encoder(modality = "A")]
    pub audio: AudioEncoder<B>,
    /// Emotion or sentiment logits.
    #[head]
    pub head: ClassifierHead<B>,
    /// The trained text network it learns from.
    #[teacher]
    pub teacher: Unimodal<B>,
}

impl TelmeAudioConfig {
    fn check_values(&self) -> Result<(), Problem> {
        check_student_width(
            &self.audio.config,
            self.teacher.model(),
            "audio.shape.hidden",
        )
    }
}

impl<B: Backend> Forward<B> for TelmeAudio<B> {
    fn forward(&self, batch: &Batch<B>, losses: Option<&Losses>) -> Output<B> {
        let teacher = || (self.teacher_logits(batch), self.teacher_features(batch));
        student_output(self.encode_audio(batch), &self.head, teacher, losses)
    }
}

/// TelME's video student: a frame encoder and a linear head, distilled as the audio student is.
#[derive(Module, Debug, Architecture)]
#[architecture(
    name = "telme-video",
    loss_terms = ["distillation", "feature_distillation"],
    check = Self::check_values
)]
pub struct TelmeVideo<B: Backend> {
    /// The frame encoder; its pooled output is what the head reads.
    #[encoder(modality = "V")]
    pub video: VideoEncoder<B>,
    /// Emotion or sentiment logits.
    #[head]
    pub head: ClassifierHead<B>,
    /// The trained text network it learns from.
    #[teacher]
    pub teacher: Unimodal<B>,
}

impl TelmeVideoConfig {
    fn check_values(&self) -> Result<(), Problem> {
        check_student_width(
            &self.video.config,
            self.teacher.model(),
            "video.shape.hidden",
        )
    }
}

impl<B: Backend> Forward<B> for TelmeVideo<B> {
    fn forward(&self, batch: &Batch<B>, losses: Option<&Losses>) -> Output<B> {
        let teacher = || (self.teacher_logits(batch), self.teacher_features(batch));
        student_output(self.encode_video(batch), &self.head, teacher, losses)
    }
}

/// TelME's fusion stage: the teacher's text encoder and the students' audio and video
/// encoders, frozen (`init_from` each source, `mode = "frozen"`: their outputs are computed
/// once per input), and attention-shifting fusion with a linear head trained over them.
///
/// TelME fuses the teacher's projected text vector; here the fusion reads its text encoder's
/// pooled output, so that every input is an encoder the feature cache serves.
#[derive(Module, Debug, Architecture)]
#[architecture(name = "telme")]
pub struct Telme<B: Backend> {
    /// The teacher's utterance encoder.
    #[encoder(modality = "T")]
    pub text: TextEncoder<B>,
    /// The audio student's waveform encoder.
    #[encoder(modality = "A")]
    pub audio: AudioEncoder<B>,
    /// The video student's frame encoder.
    #[encoder(modality = "V")]
    pub video: VideoEncoder<B>,
    /// Audio and video shift the text vector by at most β of its norm.
    #[fusion(inputs = [text, audio, video])]
    pub fusion: AttentionShiftFusion<B>,
    /// Emotion or sentiment logits.
    #[head]
    pub head: ClassifierHead<B>,
    /// The text teacher (source of `text`).
    #[teacher]
    pub teacher: Unimodal<B>,
    /// The audio student (source of `audio`).
    #[teacher]
    pub audio_student: TelmeAudio<B>,
    /// The video student (source of `video`).
    #[teacher]
    pub video_student: TelmeVideo<B>,
}

impl<B: Backend> Forward<B> for Telme<B> {
    fn forward(&self, batch: &Batch<B>, _losses: Option<&Losses>) -> Output<B> {
        let fused = self.fusion.forward(vec![
            self.encode_text(batch),
            self.encode_audio(batch),
            self.encode_video(batch),
        ]);
        Output::logits(self.head.forward(fused.clone())).with_features(fused)
    }
}
