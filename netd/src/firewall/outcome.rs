//! What explain finds: per base chain an [`Outcome`] (accept, drop, or
//! undetermined with the ways it can go), per hook the chains met, and for
//! the flow a verdict with what decided it.

use serde::Serialize;

use super::fix::Fix;
use super::flow::Flow;
use super::owner::Owner;
use super::packet::Phase;
use super::ruleset::{Family, Hook, Policy};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleRef {
    pub family: Family,
    pub table: String,
    pub chain: String,
    pub handle: u64,
    /// 1-based position in its chain (what iptables -I takes).
    pub position: usize,
    pub text: String,
}

impl std::fmt::Display for RuleRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} handle {}: {}",
            self.family, self.table, self.chain, self.handle, self.text
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "by", rename_all = "lowercase")]
pub enum Decision {
    Rule(RuleRef),
    /// No rule decided: the base chain's policy.
    Policy {
        family: Family,
        table: String,
        chain: String,
        /// The chain whose end was reached: the base chain, or the chain a
        /// `goto` left it for.
        reached_end_of: String,
        policy: Policy,
    },
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Decision::Rule(r) => write!(f, "rule {r}"),
            Decision::Policy {
                family,
                table,
                chain,
                reached_end_of,
                policy,
            } if reached_end_of != chain => write!(
                f,
                "policy {policy} of {family} {table} {chain} (end of {reached_end_of}, reached by goto)"
            ),
            Decision::Policy {
                family,
                table,
                chain,
                policy,
                ..
            } => write!(f, "policy {policy} of {family} {table} {chain}"),
        }
    }
}

/// What one base chain does with the packet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "lowercase")]
pub enum Outcome {
    Accept {
        decision: Decision,
    },
    Drop {
        decision: Decision,
    },
    /// Depends on a rule that cannot be evaluated; `branches` are the
    /// outcomes for each way it can go (none when it is a verdict that
    /// cannot be known at all, like `queue`).
    Undetermined {
        at: RuleRef,
        reason: String,
        branches: Vec<Branch>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Branch {
    pub assume: String,
    pub outcome: Outcome,
}

impl Outcome {
    pub fn kind(&self) -> Option<bool> {
        match self {
            Outcome::Accept { .. } => Some(true),
            Outcome::Drop { .. } => Some(false),
            Outcome::Undetermined { .. } => None,
        }
    }

    /// Every drop this outcome may end in.
    pub fn drops(&self) -> Vec<&Decision> {
        match self {
            Outcome::Drop { decision } => vec![decision],
            Outcome::Accept { .. } => Vec::new(),
            Outcome::Undetermined { branches, .. } => {
                branches.iter().flat_map(|b| b.outcome.drops()).collect()
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FlowVerdict {
    Accepted,
    Dropped,
    Undetermined,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainPass {
    pub family: Family,
    pub table: String,
    pub chain: String,
    pub owner: Owner,
    #[serde(rename = "type")]
    pub kind: String,
    pub priority: i32,
    /// Whether the chain sees the packet after netd's DNAT.
    pub after_dnat: bool,
    /// None when the chain was skipped (see `skipped`).
    pub outcome: Option<Outcome>,
    pub skipped: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HookPass {
    pub hook: Hook,
    /// What the hook's first chain sees.
    pub packet: String,
    pub chains: Vec<ChainPass>,
}

/// The hook and base chain whose outcome decided the flow's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decided {
    /// Which packet of the connection: `first`, `reply` or `later`.
    pub packet: Phase,
    pub hook: Hook,
    pub family: Family,
    pub table: String,
    pub chain: String,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub flow: Flow,
    pub verdict: FlowVerdict,
    /// For a drop, the drop; when undetermined, the first undetermined
    /// chain; None when accepted (each chain's accept is in `hooks`).
    pub decided_by: Option<Decided>,
    /// The hooks the first packet reached, with every base chain it met.
    pub hooks: Vec<HookPass>,
    /// The same for the namespace's reply (empty when the first packet is
    /// dropped).
    pub reply: Vec<HookPass>,
    /// The same for the client's later packets (TCP; empty for UDP or when
    /// an earlier packet is dropped).
    pub later: Vec<HookPass>,
    /// What the host decides outside its nftables ruleset: sysctls, IPv6
    /// loopback, iptables-legacy tables, netd's own table missing.
    pub host: Vec<HostEffect>,
    /// Commands that would let the flow through, for each drop it meets or
    /// may meet.
    pub fixes: Vec<Fix>,
    pub notes: Vec<String>,
}

/// Something outside the nftables ruleset that drops the connection or
/// makes its fate unknown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostEffect {
    /// `dropped` or `undetermined`.
    pub effect: FlowVerdict,
    pub reason: String,
    /// What to check or run.
    pub check: String,
}

impl Explanation {
    pub fn hooks_passed(&self) -> Vec<Hook> {
        self.hooks.iter().map(|h| h.hook).collect()
    }
}
