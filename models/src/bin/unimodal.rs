//! `unimodal`: the text-only baseline's own binary.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mer_core::config::Source;
use models::cli::{self, ConfigArgs};
use models::unimodal::{DEMO_CONFIG, DEMO_CONFIG_NAME};

/// The unimodal architecture: one encoder, a projector, a classifier head.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the resolved config, summary, parameter table, hash and checkpoint folder without
    /// training. With no config: the built-in demo default.
    Plan {
        #[command(flatten)]
        config: ConfigArgs,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    cli::main(|| {
        match Cli::parse().command {
            Command::Plan { config, json } => {
                let builtin = Source::new(DEMO_CONFIG_NAME, DEMO_CONFIG);
                let plan = cli::plan(&config, Some(builtin), Some("unimodal"))?;
                cli::print_plan(&plan, json)?;
            }
        }
        Ok(())
    })
}
