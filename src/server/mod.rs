//! The tokio shell: owns sockets and timers and feeds the sans-IO cores.

use crate::cli::ServeArgs;
use crate::config::Config;

pub fn run(_cfg: Config, _args: &ServeArgs) -> anyhow::Result<()> {
    anyhow::bail!("the SIP server is being written")
}
