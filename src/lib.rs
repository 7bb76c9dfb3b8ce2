//! Packet Walk: follow one packet through a Kubernetes node — kube-proxy's
//! iptables chains, conntrack, and the routes Calico or Flannel wrote.
//!
//! [`engine`] is the simulator (native and wasm alike); [`ui`] is the Yew
//! web front end, built only for `wasm32`.

pub mod engine;

#[cfg(target_arch = "wasm32")]
pub mod ui;
