//! The lengths batches are padded to, and the batch shapes a run has made.
//!
//! Padding each batch to its own longest input computes the least, which is what the CPU wants.
//! A GPU backend compiles and autotunes its kernels per shape (CubeCL keys its matrix-product
//! tuning by bucketed sizes and the divisibility of the contiguous one), so there every new
//! length costs a compile and a benchmark: rounding lengths up to a few buckets bounds the
//! shapes a whole run sees. Masks keep the padded positions out of every result.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Mutex;

/// Lengths an input is padded to: the smallest listed one that holds the batch's longest,
/// and past the last, the next multiple of the last (`[64]`: multiples of 64). Empty: the
/// batch's longest itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Buckets(Vec<usize>);

impl Buckets {
    /// Buckets of `lengths`, which must be positive and ascending (the config checks).
    pub fn new(lengths: Vec<usize>) -> Self {
        debug_assert!(lengths.iter().all(|&l| l > 0) && lengths.is_sorted());
        Buckets(lengths)
    }

    /// No buckets: each batch is padded to its longest.
    pub fn longest() -> Self {
        Buckets(Vec::new())
    }

    /// The length a batch whose longest input is `longest` is padded to.
    pub fn pad(&self, longest: usize) -> usize {
        match (self.0.iter().find(|&&b| b >= longest), self.0.last()) {
            (Some(&bucket), _) => bucket,
            (None, Some(&last)) => longest.div_ceil(last) * last,
            (None, None) => longest,
        }
    }
}

/// The shape of a padded batch, as the encoders see it (0 for a modality it lacks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BatchShape {
    pub rows: usize,
    pub tokens: usize,
    /// Audio samples.
    pub samples: usize,
    /// Video frames.
    pub frames: usize,
}

impl fmt::Display for BatchShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}×{} tokens", self.rows, self.tokens)?;
        if self.samples > 0 {
            write!(f, "×{} samples", self.samples)?;
        }
        if self.frames > 0 {
            write!(f, "×{} frames", self.frames)?;
        }
        Ok(())
    }
}

/// How a run pads its batches, and the distinct shapes it has padded them to.
#[derive(Debug, Default)]
pub struct Padding {
    /// Token lengths.
    pub text: Buckets,
    /// Audio lengths, in samples.
    pub audio: Buckets,
    /// The length texts were truncated to: no bucket pads past it, since the text encoder may
    /// have no positions beyond (0: no limit).
    pub max_tokens: usize,
    seen: Mutex<BTreeSet<BatchShape>>,
}

impl Padding {
    /// `text` buckets up to `max_tokens` (0: no limit), `audio` buckets.
    pub fn new(text: Buckets, audio: Buckets, max_tokens: usize) -> Self {
        Padding {
            text,
            audio,
            max_tokens,
            seen: Mutex::default(),
        }
    }

    /// The token length of a batch whose longest text is `longest` (at least 1).
    pub fn text_length(&self, longest: usize) -> usize {
        let padded = self.text.pad(longest.max(1));
        match self.max_tokens {
            0 => padded,
            limit => padded.min(limit).max(longest.max(1)),
        }
    }

    /// Notes that a batch of `shape` was made.
    pub fn record(&self, shape: BatchShape) {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(shape);
    }

    /// The distinct shapes batches were padded to so far, smallest first.
    pub fn shapes(&self) -> Vec<BatchShape> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_go_up_to_the_next_bucket_then_to_multiples_of_the_last() {
        let buckets = Buckets::new(vec![64, 128, 256]);
        assert_eq!(buckets.pad(1), 64);
        assert_eq!(buckets.pad(64), 64);
        assert_eq!(buckets.pad(65), 128);
        assert_eq!(buckets.pad(200), 256);
        assert_eq!(buckets.pad(257), 512);
        assert_eq!(buckets.pad(513), 768);
        let multiples = Buckets::new(vec![64]);
        assert_eq!((multiples.pad(3), multiples.pad(130)), (64, 192));
        assert_eq!(Buckets::longest().pad(37), 37);
    }

    #[test]
    fn text_is_never_padded_past_the_truncation_length() {
        let padding = Padding::new(Buckets::new(vec![64]), Buckets::longest(), 100);
        assert_eq!(padding.text_length(10), 64);
        assert_eq!(padding.text_length(70), 100);
        assert_eq!(padding.text_length(0), 64);
        // Text-free networks have empty ids and no limit to pad towards.
        let no_text = Padding::new(Buckets::new(vec![64]), Buckets::longest(), 1);
        assert_eq!(no_text.text_length(0), 1);
    }

    #[test]
    fn shapes_are_counted_once() {
        let padding = Padding::default();
        let shape = |rows, tokens| BatchShape {
            rows,
            tokens,
            samples: 0,
            frames: 0,
        };
        for s in [shape(8, 64), shape(8, 128), shape(8, 64), shape(3, 64)] {
            padding.record(s);
        }
        assert_eq!(
            padding.shapes(),
            [shape(3, 64), shape(8, 64), shape(8, 128)]
        );
        assert_eq!(shape(8, 64).to_string(), "8×64 tokens");
    }
}
