//! `unimodal`: the text-only baseline's own binary: `train` (with no arguments, on the built-in
//! demo default), `eval`, `infer`, `plan`.

use std::process::ExitCode;

use mer_core::config::Source;
use models::unimodal::{DEMO_CONFIG, DEMO_CONFIG_NAME};

fn main() -> ExitCode {
    models::cli::architecture_main("unimodal", Source::new(DEMO_CONFIG_NAME, DEMO_CONFIG))
}
