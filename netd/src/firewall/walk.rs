//! Walking one base chain: rules in order, jump/goto/return, the policy
//! when no rule decides, and both ways at a rule that cannot be evaluated.

use super::eval::{Action, eval_rule};
use super::expr::Verdict;
use super::outcome::{Branch, Decision, Outcome, RuleRef};
use super::ruleset::{Chain, Policy, Rule, Table};
use super::value::{Ctx, Tri};

/// Rules evaluated for one base chain at most, forks included.
const BUDGET: usize = 20_000;
/// Nested jumps at most (the kernel allows 16).
const MAX_DEPTH: usize = 32;

/// What walking a base chain found.
pub(super) struct Walked {
    pub outcome: Outcome,
    /// Rules that could not be evaluated but did not matter.
    pub notes: Vec<String>,
    /// NAT rules reached on some way through the chain.
    pub nat_hits: Vec<RuleRef>,
}

pub(super) fn walk_base_chain<'a>(table: &'a Table, base: &'a Chain, ctx: Ctx<'a>) -> Walked {
    let mut walker = Walker {
        table,
        base,
        ctx,
        budget: BUDGET,
        notes: Vec::new(),
        nat_hits: Vec::new(),
    };
    let outcome = walker.run();
    Walked {
        outcome,
        notes: walker.notes,
        nat_hits: walker.nat_hits,
    }
}

#[derive(Clone)]
struct Frame<'a> {
    chain: &'a Chain,
    next: usize,
}

struct Walker<'a> {
    table: &'a Table,
    base: &'a Chain,
    ctx: Ctx<'a>,
    budget: usize,
    notes: Vec<String>,
    /// NAT rules reached on some way through the chain.
    nat_hits: Vec<RuleRef>,
}

enum Step<'a> {
    Next(Vec<Frame<'a>>),
    Done(Outcome),
}

impl<'a> Walker<'a> {
    fn run(&mut self) -> Outcome {
        self.walk(vec![Frame {
            chain: self.base,
            next: 0,
        }])
    }

    fn rule_ref(&self, chain: &Chain, index: usize, rule: &Rule) -> RuleRef {
        RuleRef {
            family: self.table.family,
            table: self.table.name.clone(),
            chain: chain.name.clone(),
            handle: rule.handle,
            position: index + 1,
            text: rule.text(),
        }
    }

    fn policy(&self, frames: &[Frame<'a>]) -> Outcome {
        let policy = self.base.base.as_ref().map_or(Policy::Accept, |b| b.policy);
        let decision = Decision::Policy {
            family: self.table.family,
            table: self.table.name.clone(),
            chain: self.base.name.clone(),
            reached_end_of: frames
                .first()
                .map_or_else(|| self.base.name.clone(), |f| f.chain.name.clone()),
            policy,
        };
        match policy {
            Policy::Accept => Outcome::Accept { decision },
            Policy::Drop => Outcome::Drop { decision },
        }
    }

    fn walk(&mut self, mut frames: Vec<Frame<'a>>) -> Outcome {
        loop {
            let Some(top) = frames.last_mut() else {
                return self.policy(&frames);
            };
            let chain = top.chain;
            let Some(rule) = chain.rules.get(top.next) else {
                // End of a chain: back to the caller, or the base chain's policy.
                if frames.len() == 1 {
                    return self.policy(&frames);
                }
                frames.pop();
                continue;
            };
            let index = top.next;
            top.next += 1;
            let at = self.rule_ref(chain, index, rule);
            if self.budget == 0 {
                return Outcome::Undetermined {
                    at,
                    reason: "too many rules could not be evaluated to follow every way".into(),
                    branches: Vec::new(),
                };
            }
            self.budget -= 1;
            let ev = eval_rule(&self.ctx, rule);
            match ev.cond {
                Tri::False => {}
                Tri::True => match self.act(frames, &at, ev.action) {
                    Step::Next(f) => frames = f,
                    Step::Done(o) => return o,
                },
                Tri::Unknown(reason) => {
                    if matches!(ev.action, Action::Continue) {
                        continue;
                    }
                    let taken = match self.act(frames.clone(), &at, ev.action) {
                        Step::Next(f) => self.walk(f),
                        Step::Done(o) => o,
                    };
                    let not_taken = self.walk(frames);
                    return self.merge(
                        at,
                        reason,
                        vec![
                            Branch {
                                assume: "the rule matches".into(),
                                outcome: taken,
                            },
                            Branch {
                                assume: "the rule does not match".into(),
                                outcome: not_taken,
                            },
                        ],
                    );
                }
            }
        }
    }

    /// Same end on every branch: that end (the last branch's decision).
    /// Otherwise undetermined at `at`.
    fn merge(&mut self, at: RuleRef, reason: String, branches: Vec<Branch>) -> Outcome {
        let kinds: Vec<Option<bool>> = branches.iter().map(|b| b.outcome.kind()).collect();
        if kinds[0].is_some() && kinds.iter().all(|k| *k == kinds[0]) {
            self.notes.push(format!(
                "rule {at} could not be evaluated ({reason}), but the outcome is the same either way"
            ));
            return branches
                .into_iter()
                .next_back()
                .map(|b| b.outcome)
                .unwrap_or(Outcome::Undetermined {
                    at,
                    reason,
                    branches: Vec::new(),
                });
        }
        Outcome::Undetermined {
            at,
            reason,
            branches,
        }
    }

    fn act(&mut self, mut frames: Vec<Frame<'a>>, at: &RuleRef, action: Action) -> Step<'a> {
        match action {
            Action::Continue => Step::Next(frames),
            Action::Nat => {
                self.nat_hits.push(at.clone());
                Step::Done(Outcome::Accept {
                    decision: Decision::Rule(at.clone()),
                })
            }
            Action::Notrack => {
                self.notes.push(format!(
                    "rule {at} keeps the connection untracked: no NAT applies to it, so it never reaches the namespace's service"
                ));
                Step::Done(Outcome::Drop {
                    decision: Decision::Rule(at.clone()),
                })
            }
            Action::Unknowable(what) => Step::Done(Outcome::Undetermined {
                at: at.clone(),
                reason: format!("the effect of {what} cannot be known"),
                branches: Vec::new(),
            }),
            Action::Verdict(v) => self.verdict(frames, at, v),
            Action::Vmap(choices) => {
                let branches: Vec<Branch> = choices
                    .into_iter()
                    .map(|(assume, v)| {
                        let outcome = match v {
                            None => self.walk(frames.clone()),
                            Some(v) => match self.verdict(frames.clone(), at, v) {
                                Step::Next(f) => self.walk(f),
                                Step::Done(o) => o,
                            },
                        };
                        Branch { assume, outcome }
                    })
                    .collect();
                frames.clear();
                Step::Done(self.merge(
                    at.clone(),
                    "the verdict map's key is not known".into(),
                    branches,
                ))
            }
        }
    }

    fn verdict(&mut self, mut frames: Vec<Frame<'a>>, at: &RuleRef, v: Verdict) -> Step<'a> {
        let goto = matches!(v, Verdict::Goto(_));
        let decision = Decision::Rule(at.clone());
        match v {
            Verdict::Accept => Step::Done(Outcome::Accept { decision }),
            Verdict::Drop | Verdict::Reject(_) => Step::Done(Outcome::Drop { decision }),
            Verdict::Continue => Step::Next(frames),
            Verdict::Queue(_) => Step::Done(Outcome::Undetermined {
                at: at.clone(),
                reason: "queue hands the packet to a userspace program".into(),
                branches: Vec::new(),
            }),
            Verdict::Return => {
                if frames.len() == 1 {
                    return Step::Done(self.policy(&frames));
                }
                frames.pop();
                Step::Next(frames)
            }
            Verdict::Jump(target) | Verdict::Goto(target) => {
                let Some(chain) = self.table.chain(&target) else {
                    return Step::Done(Outcome::Undetermined {
                        at: at.clone(),
                        reason: format!("chain {target} is not in the listing"),
                        branches: Vec::new(),
                    });
                };
                if frames.len() >= MAX_DEPTH {
                    return Step::Done(Outcome::Undetermined {
                        at: at.clone(),
                        reason: "jumps nest deeper than the kernel allows (a loop?)".into(),
                        branches: Vec::new(),
                    });
                }
                if goto {
                    frames.pop();
                }
                frames.push(Frame { chain, next: 0 });
                Step::Next(frames)
            }
        }
    }
}
