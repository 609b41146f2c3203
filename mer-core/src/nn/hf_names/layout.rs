//! How a tensor's values are laid out on each side, and the conversions both ways.

use std::collections::BTreeMap;

use super::table::{HfTensor, Layout};

/// `w = g · v / ‖v‖`, the norm over every dimension but the last (`weight_norm(dim=2)`).
pub(super) fn fold_weight_norm(
    g: &[f32],
    g_shape: &[usize],
    mut v: Vec<f32>,
    v_shape: &[usize],
) -> Result<(Vec<f32>, Vec<usize>), String> {
    let k = *v_shape.last().ok_or("weight_v has no dimensions")?;
    if g.len() != k || g_shape.iter().product::<usize>() != k {
        return Err(format!(
            "weight_g {g_shape:?} does not fit weight_v {v_shape:?}"
        ));
    }
    let mut norms = vec![0f64; k];
    for (i, x) in v.iter().enumerate() {
        norms[i % k] += f64::from(*x).powi(2);
    }
    for (i, x) in v.iter_mut().enumerate() {
        *x = (f64::from(*x) * f64::from(g[i % k]) / norms[i % k].sqrt().max(1e-12)) as f32;
    }
    Ok((v, v_shape.to_vec()))
}

/// Hugging Face's tensor (`values` of `shape`) in mer's layout of `dims`.
pub(super) fn to_mer(
    values: Vec<f32>,
    shape: &[usize],
    layout: Layout,
    dims: &[usize],
) -> Result<Vec<f32>, String> {
    let misfit = || format!("shape {shape:?} does not fit the encoder's {dims:?}");
    let count: usize = dims.iter().product();
    if values.len() != count {
        return Err(misfit());
    }
    match layout {
        Layout::Same => {
            let squeeze = |s: &[usize]| s.iter().copied().filter(|&d| d != 1).collect::<Vec<_>>();
            if squeeze(shape) != squeeze(dims) {
                return Err(misfit());
            }
            Ok(values)
        }
        Layout::Linear | Layout::Patch => {
            let out = shape[0];
            if dims.len() != 2 || dims[1] != out {
                return Err(misfit());
            }
            Ok(transpose(&values, out, count / out))
        }
        Layout::Conv1d | Layout::WeightNormConv1d => {
            let [groups, rows, out_g] = dims[..] else {
                return Err(misfit());
            };
            let [out, in_g, k] = shape[..] else {
                return Err(misfit());
            };
            if out != groups * out_g || rows != k * in_g {
                return Err(misfit());
            }
            // [g·out_g, in_g, k] → [g, k, in_g, out_g].
            let mut mer = vec![0f32; count];
            for g in 0..groups {
                for o in 0..out_g {
                    for c in 0..in_g {
                        for t in 0..k {
                            let hf = ((g * out_g + o) * in_g + c) * k + t;
                            mer[((g * k + t) * in_g + c) * out_g + o] = values[hf];
                        }
                    }
                }
            }
            Ok(mer)
        }
    }
}

/// `values` [rows, cols] → [cols, rows].
fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0f32; values.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = values[r * cols + c];
        }
    }
    out
}

/// mer's parameter back in Hugging Face's layout (one tensor, or a weight norm's two).
pub(super) fn from_mer(
    name: &str,
    values: Vec<f32>,
    dims: &[usize],
    layout: Layout,
    hf_shapes: &BTreeMap<String, Vec<usize>>,
) -> Vec<HfTensor> {
    let shape_of = |fallback: Vec<usize>| hf_shapes.get(name).cloned().unwrap_or(fallback);
    match layout {
        Layout::Same => vec![(name.to_owned(), shape_of(dims.to_vec()), values)],
        Layout::Linear | Layout::Patch => {
            let (rows, out) = (dims[0], dims[1]);
            vec![(
                name.to_owned(),
                shape_of(vec![out, rows]),
                transpose(&values, rows, out),
            )]
        }
        Layout::Conv1d | Layout::WeightNormConv1d => {
            let [groups, rows, out_g] = dims[..] else {
                unreachable!("a Conv1d weight has three dimensions")
            };
            // The kernel width is not in mer's flattened layout: the source checkpoint says it,
            // under the plain name or a weight norm's `v` half.
            let stem = name.strip_suffix(".weight").unwrap_or(name);
            let shape = [
                name.to_owned(),
                format!("{stem}.parametrizations.weight.original1"),
                format!("{stem}.weight_v"),
            ]
            .iter()
            .find_map(|n| hf_shapes.get(n))
            .filter(|s| s.len() == 3 && s[1] * s[2] == rows)
            .cloned()
            .unwrap_or_else(|| vec![groups * out_g, rows, 1]);
            let (in_g, k) = (shape[1], shape[2]);
            let mut hf = vec![0f32; values.len()];
            for g in 0..groups {
                for o in 0..out_g {
                    for c in 0..in_g {
                        for t in 0..k {
                            hf[((g * out_g + o) * in_g + c) * k + t] =
                                values[((g * k + t) * in_g + c) * out_g + o];
                        }
                    }
                }
            }
            if layout == Layout::Conv1d {
                return vec![(name.to_owned(), shape, hf)];
            }
            // g = ‖w‖ and v = w give back w exactly: g · v / ‖v‖.
            let mut norms = vec![0f64; k];
            for (i, x) in hf.iter().enumerate() {
                norms[i % k] += f64::from(*x).powi(2);
            }
            let stem = name.strip_suffix(".weight").unwrap_or(name);
            vec![
                (
                    format!("{stem}.parametrizations.weight.original0"),
                    vec![1, 1, k],
                    norms.iter().map(|n| n.sqrt() as f32).collect(),
                ),
                (
                    format!("{stem}.parametrizations.weight.original1"),
                    shape,
                    hf,
                ),
            ]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conv_weights_round_trip_through_both_layouts() {
        // [out 4, in/groups 3, k 2] with 2 groups → mer [2, 6, 2] and back.
        let hf: Vec<f32> = (0..24).map(|i| i as f32).collect();
        let mer = to_mer(hf.clone(), &[4, 3, 2], Layout::Conv1d, &[2, 6, 2]).unwrap();
        // Group 0, tap 1, channel 2, output 1 is HF's [1, 2, 1].
        assert_eq!(mer[(3 + 2) * 2 + 1], hf[(3 + 2) * 2 + 1]);
        let shapes = BTreeMap::from([("w".to_owned(), vec![4, 3, 2])]);
        let back = from_mer("w", mer, &[2, 6, 2], Layout::Conv1d, &shapes);
        assert_eq!(back[0].2, hf);
    }

    #[test]
    fn weight_norm_folds_and_unfolds_exactly() {
        let v: Vec<f32> = (0..12).map(|i| (i as f32 - 5.0) / 3.0).collect();
        let g = [2.0f32, 0.5];
        let (w, shape) = fold_weight_norm(&g, &[1, 1, 2], v, &[2, 3, 2]).unwrap();
        // Each tap's weights have norm g.
        for (t, g) in g.iter().enumerate() {
            let norm: f32 = w
                .iter()
                .skip(t)
                .step_by(2)
                .map(|x| x * x)
                .sum::<f32>()
                .sqrt();
            assert!((norm - g).abs() < 1e-5);
        }
        // As a checkpoint names it: only the weight norm's halves.
        let shapes = BTreeMap::from([(
            "c.parametrizations.weight.original1".to_owned(),
            shape.clone(),
        )]);
        let mer = to_mer(w.clone(), &shape, Layout::Conv1d, &[1, 6, 2]).unwrap();
        let parts = from_mer(
            "c.weight",
            mer,
            &[1, 6, 2],
            Layout::WeightNormConv1d,
            &shapes,
        );
        assert_eq!(
            parts[1].1, shape,
            "v keeps the checkpoint's [out, in/groups, kernel]"
        );
        let (g2, v2) = (&parts[0].2, &parts[1].2);
        let (again, _) = fold_weight_norm(g2, &parts[0].1, v2.clone(), &parts[1].1).unwrap();
        for (a, b) in again.iter().zip(&w) {
            assert!((a - b).abs() < 1e-6);
        }
    }
}
