//! Command-line interface. `switchboard` with no subcommand serves `./switchboard.yaml`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Telephony IVR and skill-based call-routing engine",
    long_about = "Switchboard answers calls over SIP, walks callers through YAML IVR menus \
                  (ivr-flows/), queues them by skill and bridges them to agents whose \
                  softphones register as extensions.\n\nWith no subcommand it runs `serve` \
                  with ./switchboard.yaml."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub log: LogArgs,
}

#[derive(Debug, Args, Clone)]
pub struct LogArgs {
    /// Log format: human-readable text or one JSON object per line.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "SWITCHBOARD_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// Log filter in tracing-subscriber's EnvFilter syntax, e.g. `info` or `switchboard::sip=debug`.
    #[arg(long, global = true, default_value = "info", env = "SWITCHBOARD_LOG")]
    pub log: String,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the call centre: SIP registrar and call handling (default).
    Serve(ServeArgs),
    /// Validate the configuration and every file it names; exit 1 with
    /// `file:line:column: message` lines on any problem.
    Check(ConfigArg),
}

#[derive(Debug, Args, Clone)]
pub struct ConfigArg {
    /// Configuration file.
    #[arg(
        short,
        long,
        default_value = "switchboard.yaml",
        env = "SWITCHBOARD_CONFIG"
    )]
    pub config: PathBuf,
}

#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Override `sip.listen` (address for every SIP transport), e.g. 127.0.0.1:15060.
    #[arg(long)]
    pub sip_listen: Option<SocketAddr>,
    /// Override `var_dir` (registrations, CDRs, recordings).
    #[arg(long)]
    pub var_dir: Option<PathBuf>,
}

impl Default for ServeArgs {
    fn default() -> Self {
        ServeArgs {
            config: ConfigArg {
                config: PathBuf::from("switchboard.yaml"),
            },
            sip_listen: None,
            var_dir: None,
        }
    }
}
