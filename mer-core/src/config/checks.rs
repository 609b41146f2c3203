//! Checks of config values that many config types share: counts, rates, divisibility, memory
//! and the ranges `#[config(range = ...)]` declares.

use super::schema::{Problem, Range};

/// Every `(key, value)` must be at least 1 (layer counts, widths, kernel sizes).
pub fn at_least_one(fields: &[(&'static str, usize)]) -> Result<(), Problem> {
    match fields.iter().find(|(_, value)| *value == 0) {
        Some((key, _)) => Err(Problem::new(*key, "must be at least 1")),
        None => Ok(()),
    }
}

/// `key` is a probability that leaves something to keep: in [0, 1) (dropout rates).
pub fn below_one(key: &'static str, value: f64) -> Result<(), Problem> {
    if (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        Err(Problem::new(key, "must be in [0, 1)"))
    }
}

/// This machine's memory in bytes (`MemTotal`), or 1 TiB where it cannot be read.
fn memory_bytes() -> u128 {
    static MEMORY: std::sync::OnceLock<u128> = std::sync::OnceLock::new();
    *MEMORY.get_or_init(|| {
        std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|info| {
                let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
                let kib: u128 = line.split_whitespace().nth(1)?.parse().ok()?;
                Some(kib * 1024)
            })
            .unwrap_or(1 << 40)
    })
}

/// A network of `parameters` f32 weights fits in this machine's memory; `key` names the setting
/// that grows it (a layer count, say), so an impossible shape is refused before anything is
/// allocated.
pub fn fits_in_memory(key: &'static str, parameters: u128) -> Result<(), Problem> {
    let (bytes, memory) = (parameters.saturating_mul(4), memory_bytes());
    if bytes <= memory {
        return Ok(());
    }
    let gib = |b: u128| b as f64 / (1u128 << 30) as f64;
    Err(Problem::new(
        key,
        format!(
            "makes a network of {parameters} parameters ({:.1} GiB of weights), more than this \
             machine's {:.1} GiB of memory",
            gib(bytes),
            gib(memory)
        ),
    ))
}

/// `key`'s `divisor` must split `hidden` evenly (attention heads, convolution groups).
pub fn divides_hidden(key: &'static str, divisor: usize, hidden: usize) -> Result<(), Problem> {
    if divisor == 0 || !hidden.is_multiple_of(divisor) {
        return Err(Problem::new(
            key,
            format!("must divide hidden ({hidden}), found {divisor}"),
        ));
    }
    Ok(())
}

/// A value made of numbers a [`Range`] can check: a number, or an optional number or list of
/// them.
pub trait RangeValues {
    fn range_values(&self) -> Vec<f64>;
}

macro_rules! range_values_as_f64 {
    ($($t:ty),*) => {$(
        impl RangeValues for $t {
            fn range_values(&self) -> Vec<f64> {
                vec![*self as f64]
            }
        }
    )*};
}
range_values_as_f64!(f64, f32, usize, u64, u32, i64, i32);

impl<T: RangeValues> RangeValues for Option<T> {
    fn range_values(&self) -> Vec<f64> {
        self.as_ref()
            .map_or_else(Vec::new, RangeValues::range_values)
    }
}

impl<T: RangeValues> RangeValues for Vec<T> {
    fn range_values(&self) -> Vec<f64> {
        self.iter().flat_map(RangeValues::range_values).collect()
    }
}

/// `key`'s every number lies in `range`.
pub fn check_range(
    key: &'static str,
    value: &impl RangeValues,
    range: Range,
) -> Result<(), Problem> {
    match value
        .range_values()
        .into_iter()
        .find(|v| !range.contains(*v))
    {
        Some(bad) => Err(Problem::new(
            key,
            format!("must be {}, found {bad}", range.describe()),
        )),
        None => Ok(()),
    }
}
