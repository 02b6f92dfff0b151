//! Sans-IO SIP: everything here is plain data and state machines. Inputs carry
//! the time (`now`); outputs are messages to send and the next deadline. Nothing
//! here touches a socket or reads the clock — [`crate::server`] does that.

pub mod dialog;
pub mod digest;
pub mod endpoint;
pub mod framing;
pub mod headers;
pub mod message;
pub mod parse;
pub mod registrar;
pub mod session;
pub mod transaction;
pub mod transport;
pub mod uri;
