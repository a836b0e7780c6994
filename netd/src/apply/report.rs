//! What an apply did, for the user and for `--json`.

use serde::Serialize;

use crate::plan::{Change, ChangeSummary};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub change: Change,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub outcomes: Vec<Outcome>,
}

#[derive(Serialize)]
struct FailedJson {
    #[serde(flatten)]
    change: ChangeSummary,
    error: String,
}

#[derive(Serialize)]
struct ReportJson {
    changes: Vec<ChangeSummary>,
    errors: Vec<FailedJson>,
}

impl Report {
    pub fn push(&mut self, change: Change, result: Result<(), String>) {
        match &result {
            Ok(()) => tracing::info!(change = %change, "applied"),
            Err(e) => tracing::warn!(change = %change, error = %e, "failed"),
        }
        self.outcomes.push(Outcome {
            change,
            error: result.err(),
        });
    }

    /// Turns the outcome of a change reported as done into a failure (its
    /// second half failed later), or reports the failure.
    pub fn fail_done(&mut self, change: Change, why: String) {
        tracing::warn!(change = %change, error = %why, "failed");
        match self.outcomes.iter_mut().find(|o| o.change == change) {
            Some(o) => o.error = o.error.take().or(Some(why)),
            None => self.outcomes.push(Outcome {
                change,
                error: Some(why),
            }),
        }
    }

    pub fn done(&self) -> impl Iterator<Item = &Change> {
        self.outcomes
            .iter()
            .filter(|o| o.error.is_none())
            .map(|o| &o.change)
    }

    pub fn failed(&self) -> impl Iterator<Item = &Outcome> {
        self.outcomes.iter().filter(|o| o.error.is_some())
    }

    pub fn is_ok(&self) -> bool {
        self.failed().next().is_none()
    }

    pub fn to_json(&self) -> serde_json::Value {
        let report = ReportJson {
            changes: self.done().map(Change::summary).collect(),
            errors: self
                .failed()
                .map(|o| FailedJson {
                    change: o.change.summary(),
                    error: o.error.clone().unwrap_or_default(),
                })
                .collect(),
        };
        serde_json::to_value(report).unwrap_or_default()
    }
}
