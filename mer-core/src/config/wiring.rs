//! How a part's widths connect to its neighbours': what the architecture's declaration derives
//! so that a config never repeats a width.
//!
//! The generated `wire` of an architecture config asks each encoder for its output width, hands
//! the fusion its inputs' widths, the head the fusion's output width and the run's class count.
//! A derived key (`#[config(derived = "...")]`) left out of the TOML is filled in; written, it
//! must agree, or the problem names both keys.

use super::schema::Problem;

/// A part whose widths the declaration connects.
pub trait Wiring {
    /// The width of the vector the part outputs per utterance.
    fn output_width(&self) -> Result<usize, Problem>;

    /// Takes the widths of the parts that feed this one, in order; `from` names their keys.
    fn connect_inputs(&mut self, widths: &[usize], from: &str) -> Result<(), Problem> {
        let _ = (widths, from);
        Ok(())
    }

    /// Takes the number of classes of the run's labels; `from` names the keys that decide it.
    fn connect_classes(&mut self, classes: usize, from: &str) -> Result<(), Problem> {
        let _ = (classes, from);
        Ok(())
    }

    /// Takes the expert count a head is declared with (`#[head(experts = field)]`); a part
    /// without experts refuses it.
    fn connect_experts(&mut self, experts: usize, from: &str) -> Result<(), Problem> {
        Err(Problem::new(
            "",
            format!("has no experts, but the architecture gives it {experts} ({from})"),
        ))
    }
}

/// Fills the derived width at `key` (0 when left out) or checks the one written there.
pub fn derive_width(
    value: &mut usize,
    derived: usize,
    key: &str,
    from: &str,
) -> Result<(), Problem> {
    if *value == 0 {
        *value = derived;
        return Ok(());
    }
    if *value != derived {
        return Err(Problem::new(
            key,
            format!(
                "is {value}, which disagrees with {from} ({derived}): leave it out, it is derived"
            ),
        ));
    }
    Ok(())
}

/// [`derive_width`] for a list of widths (empty when left out).
pub fn derive_widths(
    value: &mut Vec<usize>,
    derived: &[usize],
    key: &str,
    from: &str,
) -> Result<(), Problem> {
    if value.is_empty() {
        *value = derived.to_vec();
        return Ok(());
    }
    if value != derived {
        return Err(Problem::new(
            key,
            format!(
                "is {value:?}, which disagrees with {from} ({derived:?}): leave it out, it is derived"
            ),
        ));
    }
    Ok(())
}

/// The one width of a part that takes a single input.
pub fn single_input(widths: &[usize], from: &str) -> Result<usize, Problem> {
    match widths {
        [width] => Ok(*width),
        _ => Err(Problem::new(
            "",
            format!(
                "takes one input, but is fed {} ({from}): declare a fusion before it",
                widths.len()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_left_out_width_is_filled_and_a_written_one_must_agree() {
        let mut width = 0;
        derive_width(&mut width, 64, "input", "model.text").unwrap();
        assert_eq!(width, 64);
        derive_width(&mut width, 64, "input", "model.text").unwrap();
        let problem = derive_width(&mut width, 32, "input", "model.text").unwrap_err();
        assert_eq!(problem.key, "input");
        assert!(
            problem.message.contains("model.text (32)"),
            "{}",
            problem.message
        );
        let mut widths = Vec::new();
        derive_widths(&mut widths, &[64, 32], "inputs", "model.text, model.audio").unwrap();
        assert_eq!(widths, [64, 32]);
        assert!(derive_widths(&mut widths, &[64, 16], "inputs", "x").is_err());
    }
}
