//! Padding batches to buckets ([`crate::input::Padding`]) changes no encoder's output: every
//! position past an input's end is masked out of attention, pooling and the audio encoder's
//! position convolution. Random weights at the default (demo-sized) shapes.

use burn::backend::{Autodiff, NdArray};
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

use super::Encode;
use super::audio::AudioEncoderConfig;
use super::text::{Pooling, TextEncoderConfig};
use crate::config::schema::defaults;
use crate::input::{Batch, Buckets, Media, Padding, Sample};

type B = NdArray<f32>;

fn sample(tokens: usize) -> Sample {
    Sample {
        text_ids: (0..tokens as u32).map(|i| 5 + i % 50).collect(),
        label: 0,
        audio: None,
        video: None,
    }
}

/// `encoder`'s outputs for one batch padded to its longest and to `bucketed`: they must agree,
/// and the bucketed batch must really be longer.
fn same_outputs<E: Encode<B>>(
    encoder: &E,
    samples: &[Sample],
    media: &[Media],
    bucketed: Padding,
) -> Tensor<B, 2> {
    let refs: Vec<&Sample> = samples.iter().collect();
    let device = Default::default();
    let longest = Batch::<B>::padded(&refs, media, 1, &Padding::default(), &device);
    let padded = Batch::<B>::padded(&refs, media, 1, &bucketed, &device);
    assert!(padded.shape() > longest.shape(), "{:?}", padded.shape());
    assert_eq!(bucketed.shapes(), [padded.shape()]);
    let (a, b) = (encoder.encode(&longest), encoder.encode(&padded));
    let diff: f32 = (a.clone() - b).abs().max().into_scalar();
    let scale: f32 = a.clone().abs().max().into_scalar();
    assert!(scale > 0.0, "the outputs are not all zero");
    assert!(diff <= 1e-5 * scale.max(1.0), "differs by {diff}");
    a
}

/// The default text encoder, pooled over every real token (the mean reads all positions).
fn text_config() -> TextEncoderConfig {
    let mut config = defaults::<TextEncoderConfig>().expect("defaults");
    config.shape = Some(defaults().expect("defaults"));
    config.pooling = Pooling::Mean;
    config
}

#[test]
fn text_padded_to_buckets_encodes_as_padded_to_the_longest() {
    let config = text_config();
    B::seed(&Default::default(), 3);
    let encoder = config.init::<B>(&Default::default());
    let samples = [sample(7), sample(19), sample(3)];
    let media = vec![Media::default(); samples.len()];
    let padding = Padding::new(Buckets::new(vec![32]), Buckets::longest(), 100);
    same_outputs(&encoder, &samples, &media, padding);
}

#[test]
fn audio_padded_to_buckets_encodes_as_padded_to_the_longest() {
    let mut config = defaults::<AudioEncoderConfig>().expect("defaults");
    config.shape = Some(defaults().expect("defaults"));
    B::seed(&Default::default(), 4);
    let encoder = config.init::<B>(&Default::default());
    let wave = |n: usize| {
        (0..n)
            .map(|i| (i as f32 * 0.01).sin())
            .collect::<Vec<f32>>()
    };
    let media: Vec<Media> = [2_400, 5_000]
        .into_iter()
        .map(|n| Media {
            audio: Some(wave(n)),
            video: None,
        })
        .collect();
    let samples = [sample(2), sample(2)];
    let padding = Padding::new(Buckets::longest(), Buckets::new(vec![8_000]), 0);
    same_outputs(&encoder, &samples, &media, padding);
}

#[test]
fn bf16_products_stay_within_bf16_rounding_of_f32() {
    // No dropout: both passes must see the same network.
    let config = TextEncoderConfig {
        dropout: 0.0,
        ..text_config()
    };
    B::seed(&Default::default(), 5);
    let encoder = config.init::<Autodiff<B>>(&Default::default());
    let refs = [sample(9), sample(12)];
    let refs: Vec<&Sample> = refs.iter().collect();
    let batch = Batch::<Autodiff<B>>::new(&refs, 1, &Default::default());
    let f32 = encoder.encode(&batch);
    let bf16 = mer_kernels::autocast(mer_kernels::Precision::Bf16, || encoder.encode(&batch));
    let diff: f32 = (f32.clone() - bf16.clone()).abs().max().into_scalar();
    let scale: f32 = f32.abs().max().into_scalar();
    // bf16 keeps 8 significant bits (relative error 2^-9 per rounding); a few layers of
    // products accumulate some of it, f32 alone would agree to ~1e-6.
    assert!(
        diff > 1e-5 * scale && diff < 0.05 * scale,
        "{diff} of {scale}"
    );
    // The gradient reaches the f32 weights through the casts.
    let grads = bf16.sum().backward();
    let weight = &encoder.bert.encoder.layer[0]
        .attention
        .self_attn
        .query
        .weight;
    let grad = weight
        .grad(&grads)
        .expect("a gradient for the query weight");
    assert!(grad.abs().sum().into_scalar() > 0.0);
}
