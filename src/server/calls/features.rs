//! Agents at their phones: feature codes and registration presence.

use std::time::Instant;

use tracing::{info, warn};

use super::Calls;
use crate::acd::{Command, Input as AcdInput};
use crate::sip::endpoint::Endpoint;
use crate::sip::transport::Peer;

impl Calls {
    /// `*45` (log in/out) and `*46` (pause/unpause) dialled from an agent's
    /// phone. The caller must be an agent whose registered phone is where the
    /// INVITE came from: the registration was digest-authenticated, the call
    /// is not, so the source address is what ties the two.
    pub(super) fn feature_code(
        &mut self,
        now: Instant,
        ep: &Endpoint,
        agent: &str,
        code: &str,
        source: Peer,
    ) -> Result<(), u16> {
        if !Self::own_phone(ep, agent, source) {
            warn!(%agent, %code, %source, "feature code from a phone not registered to that agent");
            return Err(403);
        }
        let state = self.router.agent_state(agent).cloned().ok_or(404u16)?;
        let command = Command::from_feature_code(code, &state).ok_or(404u16)?;
        info!(%agent, %code, ?command, "feature code");
        self.router
            .agent_command(now, agent, command)
            .map_err(|e| {
                warn!(%agent, %code, "feature code refused: {e}");
                480u16
            })?;
        Ok(())
    }

    /// The call comes from a phone registered to `agent` (same address).
    pub(super) fn own_phone(ep: &Endpoint, agent: &str, source: Peer) -> bool {
        ep.registrar()
            .bindings(agent)
            .iter()
            .any(|b| b.source.addr.ip() == source.addr.ip())
    }

    /// An agent's registrations changed or a qualify ping answered or failed.
    pub fn agent_presence(&mut self, now: Instant, ep: &mut Endpoint, extension: &str) {
        let input = if ep.registrar().reachable(extension) {
            AcdInput::AgentRegistered {
                agent: extension.to_string(),
            }
        } else {
            AcdInput::AgentUnreachable {
                agent: extension.to_string(),
            }
        };
        if let Err(e) = self.router.handle(now, input) {
            warn!(%extension, "router refused a presence change: {e}");
        }
        self.run_router(now, ep);
    }
}
