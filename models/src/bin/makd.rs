//! `makd`: multimodal knowledge distillation. With no arguments it runs the whole pipeline on
//! the built-in demo: trains the text teacher when its checkpoint is missing, trains the
//! student, and prints both side by side. `train`, `eval`, `infer` and `plan` as every
//! architecture binary.

use std::process::ExitCode;

use mer_core::config::Source;
use models::makd::{DEMO_CONFIG, DEMO_CONFIG_NAME};

fn main() -> ExitCode {
    models::cli::architecture_main("makd", Source::new(DEMO_CONFIG_NAME, DEMO_CONFIG))
}
