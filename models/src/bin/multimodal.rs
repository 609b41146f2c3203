//! `multimodal`: text, audio and video encoders with late fusion: `train` (with no arguments, on
//! the built-in demo default, all three modalities of the demo dataset), `eval`, `infer`, `plan`.

use std::process::ExitCode;

use mer_core::config::Source;
use models::multimodal::{DEMO_CONFIG, DEMO_CONFIG_NAME};

fn main() -> ExitCode {
    models::cli::architecture_main("multimodal", Source::new(DEMO_CONFIG_NAME, DEMO_CONFIG))
}
