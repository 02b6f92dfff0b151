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
                let problems = switchboard::ivr::commands::check(&cfg);
                if !problems.is_empty() {
                    for p in &problems {
                        eprintln!("{p}");
                    }
                    return ExitCode::FAILURE;
                }
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
        Command::Simulate(args) => print_or_fail(switchboard::ivr::commands::simulate(&args), None),
        Command::Graph(args) => print_or_fail(
            switchboard::ivr::commands::graph(&args),
            args.output.as_deref(),
        ),
        Command::Voicemail(switchboard::cli::VoicemailCommand::List(args)) => {
            let var = match (&args.var_dir, Config::load(&args.config.config)) {
                (Some(v), _) => v.clone(),
                (None, Ok(cfg)) => cfg.var_dir,
                (None, Err(e)) => return report(e),
            };
            print_or_fail(
                switchboard::store::voicemail::list_text(
                    &var.join("voicemail"),
                    args.mailbox.as_deref(),
                    args.json,
                ),
                None,
            )
        }
        Command::Cdr(switchboard::cli::CdrCommand::Export(args)) => {
            match switchboard::cdr::commands::export(&args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Report(args) => print_or_fail(switchboard::cdr::commands::report(&args), None),
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

/// Prints a subcommand's output (or writes it to `output`), or its error.
fn print_or_fail(r: Result<String, String>, output: Option<&std::path::Path>) -> ExitCode {
    match (r, output) {
        (Ok(text), None) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        (Ok(text), Some(path)) => match std::fs::write(path, text) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                ExitCode::FAILURE
            }
        },
        (Err(e), _) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn report(e: ConfigError) -> ExitCode {
    eprintln!("{e}");
    ExitCode::FAILURE
}
