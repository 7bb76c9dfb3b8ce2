//! The simulator: pure Rust, no web dependency, deterministic.
//!
//! Data flows one way: text ([`iptables::save`], [`route_text`]) and a
//! [`scenario::Scenario`] are compiled into a [`scenario::World`]; [`sim::send`]
//! walks one packet through it, updating [`sim::SimState`] (conntrack,
//! counters, the random stream), and returns a [`trace::Trace`].

pub mod cni;
pub mod conntrack;
pub mod decimal;
pub mod error;
pub mod generator;
pub mod iptables;
pub mod k8s;
pub mod kubeproxy;
pub mod lex;
pub mod nat;
pub mod packet;
pub mod policy;
pub mod render;
pub mod rng;
pub mod route;
pub mod route_text;
pub mod scenario;
pub mod sim;
pub mod text;
pub mod trace;

pub use error::{Errors, ParseError};
pub use scenario::{Scenario, World};
pub use sim::{send, SendSpec, SimState};
pub use trace::Trace;
