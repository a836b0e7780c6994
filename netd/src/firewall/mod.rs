//! The host's firewall as netd sees it: parse `nft -j list ruleset`
//! ([`Ruleset`]), tell who owns each table ([`Owner`]), show it ([`show`]),
//! and explain what it does to a connection to a published port
//! ([`explain`]) — which rule drops it and the command that would let it
//! through. Pure: reading the ruleset is the caller's job.

mod compare;
mod devices;
mod eval;
mod explain;
mod expr;
mod fix;
mod flow;
mod host;
mod kernel;
mod legacy_save;
mod nat_effect;
mod outcome;
mod owner;
mod packet;
mod parse;
mod planned;
mod prio;
mod report;
mod ruleset;
mod show;
mod show_legacy;
mod text;
mod value;
mod walk;
mod xt_attach;
mod xt_eval;
mod xt_save;

pub use explain::explain;
pub use expr::{Expr, Nat, NatKind, Op, Stmt, Verdict};
pub use fix::Fix;
pub use flow::{DEFAULT_SOURCE_V4, DEFAULT_SOURCE_V6, Flow, HostAddr, Iface};
pub use host::{HostFacts, LegacyContents, LegacyTable};
pub use legacy_save::{LegacySaveError, parse_legacy_save};
pub use outcome::{
    Branch, ChainPass, Decided, Decision, Explanation, FlowVerdict, HookPass, HostEffect, Outcome,
    RuleRef,
};
pub use owner::Owner;
pub use packet::Phase;
pub use ruleset::{
    BaseChain, Chain, Family, Hook, NamedSet, ParseError, Policy, Rule, Ruleset, Table,
};
pub use show::{Show, show};
pub use xt_attach::{attach_xt_save, xtables_families};
pub use xt_save::{SaveRule, XtMatch, XtOpt, XtSave};

#[cfg(test)]
mod class_tests;
#[cfg(test)]
mod tests;
