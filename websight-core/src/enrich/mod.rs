//! What a tracker's raw fields mean: where a session came from ([`channel`]: source,
//! medium, campaign and GA4's default channel group) and what client sent it ([`agent`]:
//! browser, OS, device type, bots).

pub mod agent;
pub mod channel;

pub use agent::{Agent, AgentParser};
pub use channel::{Acquisition, Channel, SourceCategory};
