//! Agent states, the one place their transitions are checked, and the
//! feature codes agents dial to change them.

use std::fmt;
use std::time::Instant;

use super::CallId;

/// Feature code: log in when logged out, log out otherwise.
pub const FEATURE_LOGIN_TOGGLE: &str = "*45";
/// Feature code: pause when not paused (reason `break`), unpause when paused.
pub const FEATURE_PAUSE_TOGGLE: &str = "*46";

/// Pause reason given by [`FEATURE_PAUSE_TOGGLE`].
pub const PAUSE_BREAK: &str = "break";
/// Pause reasons set by the agent policy.
pub const PAUSE_NO_ANSWER: &str = "no-answer";
pub const PAUSE_BUSY: &str = "busy";
pub const PAUSE_UNREACHABLE: &str = "unreachable";

/// Where an agent is. Exactly one at a time; see [`check_transition`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentState {
    LoggedOut,
    Available,
    /// Ringing with `call` — or, for a queued callback, reserved while the
    /// customer is being dialled.
    Offered {
        call: CallId,
    },
    OnCall {
        call: CallId,
    },
    /// After a call; Available again at exactly `until`.
    WrapUp {
        until: Instant,
    },
    Paused {
        reason: String,
    },
    /// No live registration, or qualify failed: never offered a call.
    Unreachable,
}

impl AgentState {
    /// Short name for logs and errors.
    pub fn name(&self) -> &'static str {
        match self {
            AgentState::LoggedOut => "logged-out",
            AgentState::Available => "available",
            AgentState::Offered { .. } => "offered",
            AgentState::OnCall { .. } => "on-call",
            AgentState::WrapUp { .. } => "wrap-up",
            AgentState::Paused { .. } => "paused",
            AgentState::Unreachable => "unreachable",
        }
    }

    /// Logged in, reachable and not paused: the agent will take calls now or
    /// after the current one. Queues with no such agent overflow (`when_empty`).
    pub fn staffs(&self) -> bool {
        matches!(
            self,
            AgentState::Available
                | AgentState::Offered { .. }
                | AgentState::OnCall { .. }
                | AgentState::WrapUp { .. }
        )
    }

    /// The call this agent is tied to, if any.
    pub fn call(&self) -> Option<CallId> {
        match self {
            AgentState::Offered { call } | AgentState::OnCall { call } => Some(*call),
            _ => None,
        }
    }
}

impl fmt::Display for AgentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentState::Offered { call } | AgentState::OnCall { call } => {
                write!(f, "{} ({call})", self.name())
            }
            AgentState::Paused { reason } => write!(f, "paused ({reason})"),
            _ => f.write_str(self.name()),
        }
    }
}

/// What an agent asks for (feature codes, later the admin API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Login,
    Logout,
    Pause { reason: String },
    Unpause,
}

impl Command {
    /// The command a feature code means for an agent in `current`
    /// (the codes toggle), or `None` for a code that is not ours.
    pub fn from_feature_code(code: &str, current: &AgentState) -> Option<Command> {
        match code {
            FEATURE_LOGIN_TOGGLE => Some(match current {
                AgentState::LoggedOut => Command::Login,
                _ => Command::Logout,
            }),
            FEATURE_PAUSE_TOGGLE => Some(match current {
                AgentState::Paused { .. } => Command::Unpause,
                _ => Command::Pause {
                    reason: PAUSE_BREAK.into(),
                },
            }),
            _ => None,
        }
    }
}

/// An attempt to move an agent between states that the model forbids.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("agent {extension}: {from} -> {to} is not allowed")]
pub struct IllegalTransition {
    pub extension: String,
    pub from: &'static str,
    pub to: &'static str,
}

/// The only judge of agent transitions. Every state change in the router goes
/// through here, so a stuck or impossible state (the mod_callcenter bugs this
/// design answers) shows up as an error instead of silently happening.
pub fn check_transition(
    extension: &str,
    from: &AgentState,
    to: &AgentState,
) -> Result<(), IllegalTransition> {
    use AgentState::*;
    let ok = match (from, to) {
        // Re-entering the same state is a no-op the router never asks for,
        // except pause with a new reason.
        (Paused { .. }, Paused { .. }) => true,
        (LoggedOut, Available | Unreachable) => true,
        (Available, Offered { .. } | Paused { .. } | LoggedOut | Unreachable) => true,
        // Answered; given up (back, paused by policy or by the agent, logged
        // out while ringing); phone gone.
        (Offered { .. }, OnCall { .. } | Available | Paused { .. } | LoggedOut | Unreachable) => {
            true
        }
        (OnCall { .. }, WrapUp { .. }) => true,
        (WrapUp { .. }, Available | Paused { .. } | LoggedOut | Unreachable) => true,
        (Paused { .. }, Available | LoggedOut | Unreachable) => true,
        (Unreachable, LoggedOut | Available | Paused { .. }) => true,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(IllegalTransition {
            extension: extension.to_string(),
            from: from.name(),
            to: to.name(),
        })
    }
}

/// A resting state: where an agent goes after a call, or returns to when its
/// phone registers again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rest {
    LoggedOut,
    Available,
    Paused(String),
}

impl Rest {
    pub(crate) fn state(&self) -> AgentState {
        match self {
            Rest::LoggedOut => AgentState::LoggedOut,
            Rest::Available => AgentState::Available,
            Rest::Paused(r) => AgentState::Paused { reason: r.clone() },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_table() {
        let now = Instant::now();
        let c = CallId(1);
        let all = [
            AgentState::LoggedOut,
            AgentState::Available,
            AgentState::Offered { call: c },
            AgentState::OnCall { call: c },
            AgentState::WrapUp { until: now },
            AgentState::Paused { reason: "x".into() },
            AgentState::Unreachable,
        ];
        let allowed: usize = all
            .iter()
            .flat_map(|a| all.iter().map(move |b| (a, b)))
            .filter(|(a, b)| check_transition("1", a, b).is_ok())
            .count();
        // 2 + 4 + 5 + 1 + 4 + 4 (incl. paused->paused) + 3
        assert_eq!(allowed, 23);
        // The ones that matter most: a call can never be skipped over.
        for bad in [
            (AgentState::Available, AgentState::OnCall { call: c }),
            (AgentState::OnCall { call: c }, AgentState::Available),
            (AgentState::OnCall { call: c }, AgentState::LoggedOut),
            (AgentState::Unreachable, AgentState::Offered { call: c }),
            (
                AgentState::Paused { reason: "x".into() },
                AgentState::Offered { call: c },
            ),
            (
                AgentState::Offered { call: c },
                AgentState::Offered { call: CallId(2) },
            ),
        ] {
            let e = check_transition("1001", &bad.0, &bad.1).unwrap_err();
            assert_eq!(e.extension, "1001");
        }
    }

    #[test]
    fn feature_codes_toggle() {
        assert_eq!(
            Command::from_feature_code("*45", &AgentState::LoggedOut),
            Some(Command::Login)
        );
        assert_eq!(
            Command::from_feature_code("*45", &AgentState::Available),
            Some(Command::Logout)
        );
        assert_eq!(
            Command::from_feature_code("*46", &AgentState::Available),
            Some(Command::Pause {
                reason: PAUSE_BREAK.into()
            })
        );
        assert_eq!(
            Command::from_feature_code("*46", &AgentState::Paused { reason: "x".into() }),
            Some(Command::Unpause)
        );
        assert_eq!(
            Command::from_feature_code("*99", &AgentState::LoggedOut),
            None
        );
    }
}
