//! `telme`: TelME's fusion stage. With no arguments it runs the whole recipe on the built-in
//! demo: the text teacher, the audio and video students distilled from it, and the fusion over
//! them, each trained when its checkpoint is missing and reused otherwise; then all side by
//! side. `train`, `eval`, `infer` and `plan` as every architecture binary.

use std::process::ExitCode;

use mer_core::config::Source;
use models::telme::{DEMO_CONFIG, DEMO_CONFIG_NAME};

fn main() -> ExitCode {
    models::cli::architecture_main("telme", Source::new(DEMO_CONFIG_NAME, DEMO_CONFIG))
}
