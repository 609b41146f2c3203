//! The DSL's second version on a small test architecture: a fusion part that adds its own loss
//! term, a teacher loaded from a checkpoint trained in the same test, `init_from`, and the
//! teacher's identity in the student's.

use std::path::{Path, PathBuf};

use burn::backend::{Autodiff, NdArray};
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;
use mer_core::Architecture;
use mer_core::architecture::{Architecture as _, Forward, Output};
use mer_core::config::schema::Problem;
use mer_core::config::wiring::{Wiring, derive_width, single_input};
use mer_core::config::{RawConfig, Source};
use mer_core::encoders::text::{TextEncoder, TextEncoderConfig};
use mer_core::input::{Batch, Sample};
use mer_core::nn::loss::{Losses, distillation_kl};
use mer_core::nn::weights::module_bytes;
use mer_core::nn::{ClassifierHead, ClassifierHeadConfig, MoeHead, MoeHeadConfig};
use mer_core::run::RunConfig;
use mer_core::store::Store;
use mer_core::train::{self, Outcome, TrainData};
use models::unimodal::DEMO_CONFIG;
use models::{Unimodal, UnimodalConfig, text_data};

type B = NdArray<f32>;
type AB = Autodiff<B>;

/// A fusion that projects and adds an auxiliary loss: the mean square of its output.
#[mer_core::config(loss_terms = Self::terms)]
pub struct AuxFusionConfig {
    /// Width of the input.
    #[config(derived = "the encoder's output width")]
    pub input: usize,
    /// Width of the output.
    #[config(default = 32)]
    pub output: usize,
}

impl AuxFusionConfig {
    fn terms(&self) -> Vec<&'static str> {
        vec!["aux"]
    }

    pub fn init<B: Backend>(&self, device: &B::Device) -> AuxFusion<B> {
        AuxFusion {
            linear: LinearConfig::new(self.input, self.output).init(device),
        }
    }
}

impl Wiring for AuxFusionConfig {
    fn output_width(&self) -> Result<usize, Problem> {
        Ok(self.output)
    }

    fn connect_inputs(&mut self, widths: &[usize], from: &str) -> Result<(), Problem> {
        derive_width(&mut self.input, single_input(widths, from)?, "input", from)
    }
}

#[derive(Module, Debug)]
pub struct AuxFusion<B: Backend> {
    linear: Linear<B>,
}

impl<B: Backend> AuxFusion<B> {
    /// [N, input] → ([N, output], the auxiliary term [1]).
    fn forward(&self, x: Tensor<B, 2>) -> (Tensor<B, 2>, Tensor<B, 1>) {
        let y = self.linear.forward(x);
        let aux = y.clone().powf_scalar(2.0).mean();
        (y, aux)
    }
}

/// A text student distilled from a trained `unimodal` teacher.
#[derive(Module, Debug, Architecture)]
#[architecture(name = "test-student", loss_terms = ["distillation"])]
pub struct Student<B: Backend> {
    /// The utterance encoder.
    #[encoder(modality = "T")]
    pub text: TextEncoder<B>,
    /// Projection with an auxiliary loss.
    #[fusion]
    pub fusion: AuxFusion<B>,
    /// Logits.
    #[head]
    pub head: ClassifierHead<B>,
    /// The trained text-only network it learns from.
    #[teacher]
    pub teacher: Unimodal<B>,
}

impl<B: Backend> Forward<B> for Student<B> {
    fn forward(&self, batch: &Batch<B>, losses: Option<&Losses>) -> Output<B> {
        let (fused, aux) = self.fusion.forward(self.encode_text(batch));
        let logits = self.head.forward(fused);
        let Some(losses) = losses else {
            return Output::logits(logits);
        };
        let distillation = distillation_kl(
            logits.clone(),
            self.teacher_logits(batch),
            losses.temperature("distillation"),
        );
        Output::logits(logits)
            .with_term("aux", aux)
            .with_term("distillation", distillation)
    }
}

fn demo_config_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments/unimodal/demo.toml")
}

/// The teacher run's overrides: one epoch, into `root`'s store.
fn teacher_overrides(root: &Path) -> Vec<String> {
    vec![
        "training.epochs=1".to_owned(),
        format!(
            "output.checkpoints=\"{}\"",
            root.join("checkpoints").display()
        ),
        format!("output.cache=\"{}\"", root.join("cache").display()),
    ]
}

/// The student's config: the demo's text encoder, initialised from the teacher's.
fn student_config(root: &Path, extra: &str) -> String {
    let demo: toml::Value = toml::from_str(DEMO_CONFIG).unwrap();
    let mut text = demo["model"]["text"].as_table().unwrap().clone();
    text.insert("init_from".into(), "teacher.text".into());
    let teacher = toml::toml! { config = [] set = [] };
    let mut teacher = teacher;
    teacher.insert(
        "config".into(),
        toml::Value::Array(vec![demo_config_path().display().to_string().into()]),
    );
    teacher.insert(
        "set".into(),
        toml::Value::Array(
            teacher_overrides(root)
                .into_iter()
                .map(Into::into)
                .collect(),
        ),
    );
    let mut model = toml::Table::new();
    model.insert("text".into(), text.into());
    model.insert("teacher".into(), teacher.into());
    let mut config = toml::Table::new();
    config.insert("architecture".into(), "test-student".into());
    config.insert("model".into(), model.into());
    format!(
        "{}\n[training]\nepochs = 2\nlearning_rate = 2e-3\n\
         [training.losses.classification]\n[training.losses.aux]\nweight = 0.1\n\
         [training.losses.distillation]\ntemperature = 2.0\n\
         [output]\ncheckpoints = \"{}\"\ncache = \"{}\"\n{extra}",
        toml::to_string(&config).unwrap(),
        root.join("checkpoints").display(),
        root.join("cache").display()
    )
}

fn resolve<C: mer_core::architecture::ArchitectureConfig>(
    text: &str,
    overrides: &[&str],
) -> Result<RunConfig<C>, mer_core::config::ConfigError> {
    RawConfig::from_sources(&[Source::new("test.toml", text)], overrides)?.resolve()
}

fn demo_data() -> TrainData {
    let run: RunConfig<UnimodalConfig> = resolve(DEMO_CONFIG, &[]).unwrap();
    text_data::load(&run.data, Some(&run.model.text.config))
        .unwrap()
        .0
}

fn train_teacher(root: &Path, data: &TrainData) -> (RunConfig<UnimodalConfig>, Outcome) {
    let raw = RawConfig::load(&[demo_config_path()], &teacher_overrides(root)).unwrap();
    let run: RunConfig<UnimodalConfig> = raw.resolve().unwrap();
    let toml = toml::to_string_pretty(&run).unwrap();
    let store = Store::new(&run.output.checkpoints);
    let outcome =
        train::train::<AB, Unimodal<AB>>(&run, &toml, data, &store, &Default::default()).unwrap();
    (run, outcome)
}

fn train_student(run: &RunConfig<StudentConfig>, data: &TrainData) -> Outcome {
    let toml = toml::to_string_pretty(run).unwrap();
    let store = Store::new(&run.output.checkpoints);
    train::train::<AB, Student<AB>>(run, &toml, data, &store, &Default::default()).unwrap()
}

#[test]
fn a_student_learns_from_a_teacher_trained_first_with_its_own_loss_terms() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let data = demo_data();
    let config = student_config(root, "");

    // Before the teacher is trained, the student cannot be built, and says how to train it.
    let run: RunConfig<StudentConfig> = resolve(&config, &[]).unwrap();
    let missing = Student::<B>::try_init(&run.model, &Default::default()).unwrap_err();
    assert!(
        missing.to_string().contains("mer train") && missing.key() == "model.teacher",
        "{missing}"
    );

    let (teacher_run, teacher_outcome) = train_teacher(root, &data);
    let store = Store::new(&teacher_run.output.checkpoints);
    let teacher: Unimodal<B> = store
        .load(
            &teacher_outcome.dir,
            Unimodal::init(&teacher_run.model, &Default::default()),
        )
        .unwrap();
    assert!(
        teacher_outcome
            .dir
            .ends_with(PathBuf::from(&run.model.teacher.id)),
        "the student names the teacher's checkpoint: {}",
        run.model.teacher.id
    );

    // init_from copies the teacher's text encoder exactly.
    let fresh = Student::<B>::init(&run.model, &Default::default());
    let bytes = |m: &TextEncoder<B>| module_bytes(m, Path::new("text")).unwrap();
    assert_eq!(bytes(&fresh.text), bytes(&teacher.text));

    // The auxiliary term's gradient reaches the fusion's parameters.
    let student = Student::<AB>::init(&run.model, &Default::default());
    let samples: Vec<&Sample> = data.train.iter().take(4).collect();
    let batch = Batch::<AB>::new(&samples, data.pad_id, &Default::default());
    let output = student.forward(&batch, Some(&run.training.losses));
    let (_, aux) = output
        .terms
        .iter()
        .find(|(n, _)| *n == "aux")
        .unwrap()
        .clone();
    let grads = GradientsParams::from_grads(aux.backward(), &student);
    let weight = &student.fusion.linear.weight;
    let grad = grads
        .get::<B, 2>(weight.id)
        .expect("the fusion's weight gets a gradient from its own term");
    assert!(grad.abs().sum().into_scalar() > 0.0);

    // Training: every term in metrics.jsonl, the teacher's outputs computed once per input.
    let outcome = train_student(&run, &data);
    assert!(outcome.dir.to_string_lossy().contains("distillation/"));
    assert!(outcome.dir.to_string_lossy().contains("aux+distillation"));
    let metrics = std::fs::read_to_string(outcome.dir.join("metrics.jsonl")).unwrap();
    for line in metrics.lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        for term in ["classification", "aux", "distillation"] {
            assert!(
                record["losses"][term].as_f64().is_some_and(f64::is_finite),
                "{term} in {line}"
            );
        }
    }
    // Features are kept per split; within one, repeated inputs are computed once.
    let splits = [&data.train, &data.dev, &data.test];
    let inputs: usize = splits.iter().map(|s| s.len()).sum();
    let distinct: usize = splits
        .iter()
        .map(|split| {
            let keys: std::collections::HashSet<&Vec<u32>> =
                split.iter().map(|s| &s.text_ids).collect();
            keys.len()
        })
        .sum();
    assert_eq!(
        outcome.frozen_encoded, distinct,
        "each input once, before the first epoch"
    );

    // The teacher inside the trained student is bit-identical to its checkpoint.
    let trained: Student<B> = Store::new(&run.output.checkpoints)
        .load(&outcome.dir, Student::init(&run.model, &Default::default()))
        .unwrap();
    let all = |m: &Unimodal<B>| module_bytes(m, Path::new("teacher")).unwrap();
    assert_eq!(all(&trained.teacher), all(&teacher));
    assert_ne!(
        bytes(&trained.text),
        bytes(&teacher.text),
        "the student's own encoder trained"
    );

    // `mer cache prune` keeps what the student's config uses: the teacher's outputs.
    let raw =
        RawConfig::from_sources(&[Source::new("student.toml", &config)], &[] as &[&str]).unwrap();
    let registration = mer_core::registry::for_config(&raw, None).unwrap();
    let cache = mer_core::cache::FeatureCache::new(&run.output.cache, 0);
    let keep = (registration.frozen_identities)(&raw, &cache).unwrap();
    let listed: Vec<String> = cache
        .list()
        .unwrap()
        .into_iter()
        .map(|e| e.identity)
        .collect();
    assert!(!listed.is_empty() && listed.iter().all(|i| keep.contains(i)));

    // Another student seed reads every teacher output from the cache.
    let again: RunConfig<StudentConfig> =
        resolve(&config, &["training.seed=7", "training.epochs=1"]).unwrap();
    let second = train_student(&again, &data);
    assert_eq!(second.frozen_encoded, 0);
    assert_eq!(second.cache.hits, inputs);
}

#[test]
fn the_teachers_seed_is_in_the_students_identity_and_terms_must_match() {
    let tmp = tempfile::tempdir().unwrap();
    let config = student_config(tmp.path(), "");
    let a: RunConfig<StudentConfig> = resolve(&config, &[]).unwrap();
    let b: RunConfig<StudentConfig> = resolve(&config, &["model.teacher.seed=7"]).unwrap();
    assert_ne!(a.model.teacher.id, b.model.teacher.id);
    assert_ne!(a.identity(), b.identity());
    // Where the teacher's config is read from is not part of the identity: only its run is.
    let moved = config.replace(
        &demo_config_path().display().to_string(),
        &tmp.path().join("copy.toml").display().to_string(),
    );
    std::fs::copy(demo_config_path(), tmp.path().join("copy.toml")).unwrap();
    let c: RunConfig<StudentConfig> = resolve(&moved, &[]).unwrap();
    assert_eq!(a.identity(), c.identity());

    let extra = resolve::<StudentConfig>(&config, &["training.losses.other.weight=1"])
        .unwrap_err()
        .to_string();
    assert!(
        extra.contains("training.losses.other: is configured, but the network produces no such"),
        "{extra}"
    );
    let without_aux = config.replace("[training.losses.aux]\nweight = 0.1\n", "");
    let missing = resolve::<StudentConfig>(&without_aux, &[])
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("training.losses: has no `aux` term"),
        "{missing}"
    );
}

/// A text encoder and a head of experts whose count is a hyper-parameter.
#[derive(Module, Debug, Architecture)]
#[architecture(name = "test-experts")]
pub struct Experts<B: Backend> {
    /// The utterance encoder.
    #[encoder(modality = "T")]
    pub text: TextEncoder<B>,
    /// A mixture of experts.
    #[head(experts = experts)]
    pub head: MoeHead<B>,
    /// How many experts the head has.
    #[hyper(default = 3)]
    pub experts: usize,
}

impl<B: Backend> Forward<B> for Experts<B> {
    fn forward(&self, batch: &Batch<B>, _: Option<&Losses>) -> Output<B> {
        Output::logits(self.head.forward(self.encode_text(batch)))
    }
}

#[test]
fn a_heads_expert_count_comes_from_its_hyper_parameter() {
    let demo: toml::Value = toml::from_str(DEMO_CONFIG).unwrap();
    let mut model = toml::Table::new();
    model.insert("text".into(), demo["model"]["text"].clone());
    let mut config = toml::Table::new();
    config.insert("architecture".into(), "test-experts".into());
    config.insert("model".into(), model.into());
    let text = toml::to_string(&config).unwrap();

    let run: RunConfig<ExpertsConfig> = resolve(&text, &[]).unwrap();
    assert_eq!(run.model.head.experts, 3);
    assert_eq!(run.model.head.input, 64);
    assert_eq!(run.checkpoint_id().summary, "3xE--T");
    let network = Experts::<B>::init(&run.model, &Default::default());
    assert_eq!(network.head.experts(), 3);

    let four: RunConfig<ExpertsConfig> = resolve(&text, &["model.experts=4"]).unwrap();
    assert_eq!(four.model.head.experts, 4);
    assert_eq!(four.checkpoint_id().summary, "4xE--T");

    let clash = resolve::<ExpertsConfig>(&text, &["model.head.experts=2"])
        .unwrap_err()
        .to_string();
    assert!(
        clash.contains("model.head.experts: is 2, which disagrees with model.experts (3)"),
        "{clash}"
    );
}
