//! The `switchboard` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser;
use switchboard::cli::{Cli, Command, ServeArgs};
use switchboard::config::{Config, ConfigError};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Check(args) => match Config::load(&args.config) {
            Ok(cfg) => {
                println!(
                    "{}: OK ({} agents, {} numbers)",
                    args.config.display(),
                    cfg.agents.len(),
                    cfg.numbers.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => report(e),
        },
        Command::Serve(args) => {
            if let Err(e) = switchboard::logging::init(cli.log.log_format, &cli.log.log) {
                eprintln!("{e:#}");
                return ExitCode::FAILURE;
            }
            let cfg = match Config::load(&args.config.config) {
                Ok(cfg) => cfg,
                Err(e) => return report(e),
            };
            match switchboard::server::run(cfg, &args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e:#}");
                    eprintln!("switchboard: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn report(e: ConfigError) -> ExitCode {
    eprintln!("{e}");
    ExitCode::FAILURE
}
