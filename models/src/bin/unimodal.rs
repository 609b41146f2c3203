//! `unimodal`: the text-only baseline's own binary.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mer_core::config::Source;
use models::cli::{self, PlanArgs};
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
    Plan(PlanArgs),
}

fn main() -> ExitCode {
    cli::main(|| {
        match Cli::parse().command {
            Command::Plan(args) => {
                let builtin = Source::new(DEMO_CONFIG_NAME, DEMO_CONFIG);
                let plan = cli::plan(&args.config, Some(builtin), Some("unimodal"))?;
                cli::print_plan(&plan, args.json)?;
            }
        }
        Ok(())
    })
}
