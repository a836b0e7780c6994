//! netd: long-lived network namespaces, bridges and links, converged from a
//! TOML file. The pipeline is config → model → observe → plan → apply.

pub mod anycast;
pub mod apply;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod engine;
pub mod firewall;
pub mod metrics;
pub mod model;
pub mod netlink;
pub mod netns;
pub mod nft;
pub mod observe;
pub mod plan;
pub mod state;
pub mod supervise;
pub mod systemd;
#[cfg(test)]
mod testutil;
