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
    /// Validate the configuration and every file it names (IVR flows included);
    /// exit 1 with `file:line:column: message` lines on any problem.
    Check(ConfigArg),
    /// Run an IVR flow offline with a scripted caller and virtual time.
    Simulate(SimulateArgs),
    /// Write an IVR flow as a Graphviz DOT or Mermaid diagram.
    Graph(GraphArgs),
    /// Voicemail left by callers (after hours, or when they chose it).
    #[command(subcommand)]
    Voicemail(VoicemailCommand),
    /// Call records (one per call, with its journey) and the event log.
    #[command(subcommand)]
    Cdr(CdrCommand),
    /// Queue, agent, hourly or daily figures for a period (offered, answered,
    /// abandoned, service level, ASA, AHT, occupancy...) with Erlang C and
    /// Erlang A staffing advice.
    Report(ReportArgs),
}

#[derive(Debug, Subcommand)]
pub enum CdrCommand {
    /// Write the records of calls that arrived in a period (default: all).
    Export(CdrExportArgs),
}

/// Which calls, from which store.
#[derive(Debug, Args, Clone)]
pub struct PeriodArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Start (inclusive) of the period: a date (2026-11-23), a local time
    /// (2026-11-23T10:00), RFC 3339, `today`, `yesterday` or `now`.
    #[arg(long)]
    pub since: Option<String>,
    /// End (exclusive) of the period; same forms as --since.
    #[arg(long)]
    pub until: Option<String>,
    /// Time zone for dates, hours and days (default: the system's), e.g. Europe/London.
    #[arg(long)]
    pub tz: Option<String>,
    /// Override `var_dir` (where `cdr.db` is by default).
    #[arg(long)]
    pub var_dir: Option<PathBuf>,
    #[command(flatten)]
    pub cdr: CdrStoreArg,
}

#[derive(Debug, Args, Clone)]
pub struct CdrExportArgs {
    #[command(flatten)]
    pub period: PeriodArgs,
    #[arg(long, value_enum, default_value_t = crate::cdr::export::Format::Csv)]
    pub format: crate::cdr::export::Format,
    /// The event log (call and agent state changes) instead of the records.
    #[arg(long)]
    pub events: bool,
    /// Write to this file instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ReportFormat {
    Text,
    Json,
}

#[derive(Debug, Args, Clone)]
pub struct ReportArgs {
    #[command(flatten)]
    pub period: PeriodArgs,
    /// One row per queue, agent, clock hour or day (default: queue).
    #[arg(long, value_enum, default_value_t = crate::cdr::report::GroupBy::Queue)]
    pub by: crate::cdr::report::GroupBy,
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

#[derive(Debug, Subcommand)]
pub enum VoicemailCommand {
    /// List messages, newest first: box, time, caller, duration, file.
    List(VoicemailListArgs),
}

#[derive(Debug, Args, Clone)]
pub struct VoicemailListArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Only this mailbox.
    #[arg(long = "box")]
    pub mailbox: Option<String>,
    /// Override `var_dir`.
    #[arg(long)]
    pub var_dir: Option<PathBuf>,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args, Clone)]
pub struct SimulateArgs {
    /// Flow name (`support` → `<flows_dir>/support.yaml`) or path to a flow file.
    pub flow: String,
    #[command(flatten)]
    pub config: ConfigArg,
    /// What the caller does, comma-separated: keys pressed once the prompt has
    /// played (`1`, `42#`), keys that interrupt a prompt (`!1`), `wait 6s`, `hangup`.
    #[arg(long, default_value = "")]
    pub input: String,
    /// Calling number.
    #[arg(long, default_value = "anonymous")]
    pub caller: String,
    /// Dialled number.
    #[arg(long, default_value = "")]
    pub dialed: String,
    /// Wall time at the start: `2026-11-23T10:00:00[Europe/London]` or RFC 3339
    /// (`2026-11-23T10:00:00Z`); default now.
    #[arg(long)]
    pub at: Option<String>,
    /// Reply to a lookup: JSON, `error` or `timeout`. Repeat for several
    /// lookups (the last one repeats); without it every lookup fails.
    #[arg(long)]
    pub lookup: Vec<String>,
    /// Language at the start (default: `media.default_language`).
    #[arg(long)]
    pub language: Option<String>,
    /// How long each prompt plays in virtual time.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub prompt_length: std::time::Duration,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum GraphFormat {
    Dot,
    Mermaid,
}

#[derive(Debug, Args, Clone)]
pub struct GraphArgs {
    /// Flow name (`support` → `<flows_dir>/support.yaml`) or path to a flow file.
    pub flow: String,
    #[command(flatten)]
    pub config: ConfigArg,
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
    /// Write to this file instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
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
    #[command(flatten)]
    pub cdr: CdrStoreArg,
    /// Override `admin.listen` (the admin API and wallboard), e.g.
    /// 127.0.0.1:18080; serves them even when the configuration has no `admin:`.
    #[arg(long)]
    pub admin_listen: Option<SocketAddr>,
}

impl Default for ServeArgs {
    fn default() -> Self {
        ServeArgs {
            config: ConfigArg {
                config: PathBuf::from("switchboard.yaml"),
            },
            sip_listen: None,
            var_dir: None,
            cdr: CdrStoreArg::default(),
            admin_listen: None,
        }
    }
}

#[derive(Debug, Args, Clone, Default)]
pub struct CdrStoreArg {
    /// Store call records in PostgreSQL (libpq connection string), overriding
    /// `cdr:` in the configuration; docker-compose sets it.
    #[arg(long, env = "SWITCHBOARD_CDR_POSTGRES", hide_env_values = true)]
    pub cdr_postgres: Option<String>,
}

impl CdrStoreArg {
    pub fn apply(&self, cfg: &mut crate::config::Config) {
        if let Some(c) = &self.cdr_postgres {
            cfg.cdr.store = crate::config::cdr::StoreKind::Postgres;
            cfg.cdr.postgres = Some(c.clone());
            cfg.cdr.sqlite = None;
        }
    }
}
