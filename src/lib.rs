//! Packet Walk: follow one packet through a Kubernetes node — kube-proxy's
//! iptables chains, conntrack, and the routes Calico or Flannel wrote.
//!
//! [`engine`] is the simulator (native and wasm alike); [`ui`] is the Yew
//! web front end: its state and sharing formats build everywhere (and are
//! tested natively), its components only for `wasm32`.

pub mod engine;

pub mod ui;
