//! mer's BERT and RoBERTa against PyTorch transformers, on real and fixture weights.

use std::path::{Path, PathBuf};
use std::process::Command;

use burn::backend::NdArray;
use burn::tensor::{Int, Tensor, TensorData};
use mer_core::encoders::text::{Pooling, PromptKind, TextEncoderConfig, TextError};
use safetensors::SafeTensors;

type B = NdArray<f32>;

const TOLERANCE: f32 = 1e-4;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// A reference file made by scripts/reference/make_text_fixtures.py.
struct Reference {
    input_ids: Vec<Vec<u32>>,
    attention_mask: Vec<Vec<u32>>,
    last_hidden_state: Vec<f32>,
    hidden: usize,
}

fn read_reference(path: &Path) -> Reference {
    let bytes = std::fs::read(path).unwrap();
    let tensors = SafeTensors::deserialize(&bytes).unwrap();
    let ints = |name: &str| {
        let view = tensors.tensor(name).unwrap();
        let t = view.shape()[1];
        let values: Vec<u32> = view
            .data()
            .chunks(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as u32)
            .collect();
        values.chunks(t).map(<[u32]>::to_vec).collect::<Vec<_>>()
    };
    let states = tensors.tensor("last_hidden_state").unwrap();
    Reference {
        input_ids: ints("input_ids"),
        attention_mask: ints("attention_mask"),
        hidden: states.shape()[2],
        last_hidden_state: states
            .data()
            .chunks(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect(),
    }
}

fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// The folder scripts/fetch-minilm unpacks, or `None` (with the reason printed) when no
/// registry can be reached.
fn minilm() -> Option<PathBuf> {
    let output = Command::new("bash")
        .arg(workspace().join("scripts/fetch-minilm"))
        .output()
        .unwrap();
    match output.status.code() {
        Some(0) => Some(PathBuf::from(
            String::from_utf8(output.stdout).unwrap().trim(),
        )),
        Some(3) => {
            eprintln!(
                "skipping: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
            None
        }
        _ => panic!(
            "scripts/fetch-minilm failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

#[test]
fn minilm_matches_transformers_and_the_model_card() {
    let Some(dir) = minilm() else { return };
    let reference =
        read_reference(&workspace().join("tests/fixtures/minilm/reference.safetensors"));
    let texts = [
        "This is an example sentence",
        "Each sentence is converted",
        "mer reads a dialogue one utterance at a time, and this one is longer than the others.",
    ]
    .map(String::from);
    let encoded = models::encode::encode(&dir, &texts).unwrap();
    assert_eq!(encoded.batch.ids, reference.input_ids);
    assert_eq!(encoded.batch.attention_mask, reference.attention_mask);
    assert_eq!(encoded.hidden, reference.hidden);
    let diff = max_difference(&encoded.last_hidden_state, &reference.last_hidden_state);
    assert!(diff < TOLERANCE, "last_hidden_state differs by {diff}");

    // The model card's sentence embedding: mean over tokens, L2-normalised.
    let h = encoded.hidden;
    let mask = &encoded.batch.attention_mask[0];
    let mut embedding = vec![0f32; h];
    for (t, &m) in mask.iter().enumerate() {
        for (e, x) in embedding
            .iter_mut()
            .zip(&encoded.last_hidden_state[t * h..(t + 1) * h])
        {
            *e += m as f32 * x;
        }
    }
    let norm = embedding.iter().map(|x| x * x).sum::<f32>().sqrt();
    let card = [0.0676569, 0.0634959, 0.0487131, 0.079305];
    for (i, expected) in card.iter().enumerate() {
        let got = embedding[i] / norm;
        assert!(
            (got - expected).abs() < TOLERANCE,
            "dimension {i}: {got} vs {expected}"
        );
    }
}

fn tiny_roberta() -> PathBuf {
    workspace().join("tests/fixtures/tiny-roberta")
}

fn tiny_config(dir: &Path) -> TextEncoderConfig {
    TextEncoderConfig {
        pretrained: Some(dir.display().to_string()),
        tokenizer: None,
        shape: None,
        max_len: 64,
        pooling: Pooling::Mask,
        prompt: PromptKind::Dialogue,
        dropout: 0.0,
    }
}

/// A masked-LM checkpoint (`roberta.` prefixes, an LM head) with speaker tokens added.
#[test]
fn tiny_roberta_matches_transformers() {
    let reference = read_reference(&tiny_roberta().join("reference.safetensors"));
    let config = tiny_config(&tiny_roberta());
    let tokenizer = config.tokenizer().unwrap();
    let texts = [
        "I am so happy about the wedding!",
        "Ew, the couch is disgusting.",
        "<s0> Wait, the concert? Really? </s> Now <s0> feels <mask>",
    ]
    .map(String::from);
    let batch = tokenizer.encode_batch(&texts).unwrap();
    assert_eq!(
        batch.ids, reference.input_ids,
        "same tokens as transformers"
    );
    assert_eq!(batch.attention_mask, reference.attention_mask);

    let device = Default::default();
    let encoder = config.try_init::<B>(&device).unwrap();
    let (n, t) = (batch.ids.len(), batch.ids[0].len());
    let tensor = |rows: &[Vec<u32>]| {
        let flat: Vec<i64> = rows.iter().flatten().map(|&x| i64::from(x)).collect();
        Tensor::<B, 2, Int>::from_data(TensorData::new(flat, [n, t]), &device)
    };
    let states = encoder
        .bert
        .forward(tensor(&batch.ids), tensor(&batch.attention_mask));
    let states: Vec<f32> = states.into_data().into_vec().unwrap();
    let diff = max_difference(&states, &reference.last_hidden_state);
    assert!(diff < TOLERANCE, "last_hidden_state differs by {diff}");

    // Mask pooling reads the state at the real <mask> position of the prompt.
    let pooled: Vec<f32> = encoder
        .forward(tensor(&batch.ids), tensor(&batch.attention_mask))
        .into_data()
        .into_vec()
        .unwrap();
    let h = reference.hidden;
    let mask_id = tokenizer.token_id("<mask>").unwrap();
    let position = batch.ids[2].iter().position(|&id| id == mask_id).unwrap();
    let at_mask = &reference.last_hidden_state[(2 * t + position) * h..(2 * t + position + 1) * h];
    assert!(max_difference(&pooled[2 * h..3 * h], at_mask) < TOLERANCE);
}

fn broken_copy(edit: impl FnOnce(&Path)) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("model");
    std::fs::create_dir(&dir).unwrap();
    for file in ["config.json", "model.safetensors", "tokenizer.json"] {
        std::fs::copy(tiny_roberta().join(file), dir.join(file)).unwrap();
    }
    edit(&dir);
    (tmp, dir)
}

#[test]
fn folders_that_do_not_fit_are_refused_with_their_file() {
    let rewrite = |dir: &Path, from: &str, to: &str| {
        let path = dir.join("config.json");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from));
        std::fs::write(&path, text.replace(from, to)).unwrap();
    };
    let (_keep, dir) =
        broken_copy(|d| rewrite(d, "\"model_type\": \"roberta\"", "\"model_type\": \"gpt2\""));
    let err = tiny_config(&dir)
        .try_init::<B>(&Default::default())
        .unwrap_err();
    assert!(matches!(err, TextError::Unsupported { .. }), "{err}");
    assert!(
        err.to_string().contains("config.json") && err.to_string().contains("gpt2"),
        "{err}"
    );

    let (_keep, dir) =
        broken_copy(|d| rewrite(d, "\"num_hidden_layers\": 2", "\"num_hidden_layers\": 3"));
    let err = tiny_config(&dir)
        .try_init::<B>(&Default::default())
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("model.safetensors") && message.contains("encoder.layer.2"),
        "{message}"
    );

    let (_keep, dir) =
        broken_copy(|d| std::fs::write(d.join("model.safetensors"), b"not weights").unwrap());
    let err = tiny_config(&dir)
        .try_init::<B>(&Default::default())
        .unwrap_err();
    assert!(err.to_string().contains("model.safetensors"), "{err}");
}
