//! `mdn`: the multimodal disentanglement network: `train` (with no arguments, on the built-in
//! demo default), `eval`, `infer`, `plan`.

use std::process::ExitCode;

use mer_core::config::Source;
use models::mdn::{DEMO_CONFIG, DEMO_CONFIG_NAME};

fn main() -> ExitCode {
    models::cli::architecture_main("mdn", Source::new(DEMO_CONFIG_NAME, DEMO_CONFIG))
}
