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
    /// customer is being dialled. `direct`: a call to the agent's own
    /// extension, outside the queues ([`Input::DirectCall`](super::Input::DirectCall)).
    Offered {
        call: CallId,
        direct: bool,
    },
    /// Talking on `call`; `direct` as for `Offered` (no wrap-up after it).
    OnCall {
        call: CallId,
        direct: bool,
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
    /// (An agent on a direct call staffs by where it rests after it, which
    /// the state alone does not tell; the router counts that case itself.)
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
            AgentState::Offered { call, .. } | AgentState::OnCall { call, .. } => Some(*call),
            _ => None,
        }
    }
}

impl fmt::Display for AgentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentState::Offered {
                call,
                direct: false,
            }
            | AgentState::OnCall {
                call,
                direct: false,
            } => write!(f, "{} ({call})", self.name()),
            AgentState::Offered { call, direct: true }
            | AgentState::OnCall { call, direct: true } => {
                write!(f, "{} ({call}, direct)", self.name())
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
        // A call to its own extension rings a paused or logged-out agent
        // too (it is out of the queues, not away from its phone); a queue
        // never offers it one.
        (Paused { .. } | LoggedOut, Offered { direct: true, .. }) => true,
        // Answered (a queue offer becomes a queue call, a direct call a
        // direct one); given up (back, paused by policy or by the agent,
        // logged out while ringing); phone gone.
        (Offered { direct: a, .. }, OnCall { direct: b, .. }) => a == b,
        (Offered { .. }, Available | Paused { .. } | LoggedOut | Unreachable) => true,
        // A queue call always ends in wrap-up; a direct call has none: the
        // agent goes back to where it rests.
        (OnCall { direct: false, .. }, WrapUp { .. }) => true,
        (OnCall { direct: true, .. }, Available | Paused { .. } | LoggedOut | Unreachable) => true,
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
        let offered = |direct| AgentState::Offered { call: c, direct };
        let on_call = |direct| AgentState::OnCall { call: c, direct };
        let all = [
            AgentState::LoggedOut,
            AgentState::Available,
            offered(false),
            offered(true),
            on_call(false),
            on_call(true),
            AgentState::WrapUp { until: now },
            AgentState::Paused { reason: "x".into() },
            AgentState::Unreachable,
        ];
        let allowed: usize = all
            .iter()
            .flat_map(|a| all.iter().map(move |b| (a, b)))
            .filter(|(a, b)| check_transition("1", a, b).is_ok())
            .count();
        // logged-out 2 + 1, available 5, offered 5 + 5, on-call 1 + 4,
        // wrap-up 4, paused 4 (incl. paused->paused) + 1, unreachable 3
        assert_eq!(allowed, 35);
        // The ones that matter most: a call can never be skipped over, a
        // queue never offers a paused agent, a queue call and a direct call
        // never turn into each other.
        for bad in [
            (AgentState::Available, on_call(false)),
            (AgentState::Available, on_call(true)),
            (on_call(false), AgentState::Available),
            (on_call(false), AgentState::LoggedOut),
            (on_call(true), AgentState::WrapUp { until: now }),
            (offered(false), on_call(true)),
            (offered(true), on_call(false)),
            (AgentState::Unreachable, offered(false)),
            (AgentState::Unreachable, offered(true)),
            (AgentState::Paused { reason: "x".into() }, offered(false)),
            (AgentState::LoggedOut, offered(false)),
            (
                offered(false),
                AgentState::Offered {
                    call: CallId(2),
                    direct: false,
                },
            ),
            (offered(true), offered(false)),
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
