//! Which operation wrote a report (design.md §10: a report belongs to one operation). The
//! columns stay those of design §5, so the evidence is carried by what every row already holds:
//! the outcome (`enabled`, `already_disabled`, …) and the run id, which starts with the
//! operation (`enable-20261126T224512Z-3f9a1c`). Rows of reports written before the run id
//! carried it are told by their outcome alone; a report with only neutral rows of that age (or
//! no rows) names no operation, and any operation may take it. Pure: no I/O.

use crate::model::{Operation, OutcomeKind};

/// The operation a run id names, if it was written with one.
#[must_use]
pub fn run_id_operation(run_id: &str) -> Option<Operation> {
    let (head, _) = run_id.split_once('-')?;
    [Operation::Enable, Operation::Disable]
        .into_iter()
        .find(|op| op.name() == head)
}

fn outcome_operation(kind: OutcomeKind) -> Option<Operation> {
    match kind {
        OutcomeKind::Enabled | OutcomeKind::AlreadyEnabled => Some(Operation::Enable),
        OutcomeKind::Disabled | OutcomeKind::AlreadyDisabled => Some(Operation::Disable),
        _ => None,
    }
}

/// The operations the rows of one report name, accumulated row by row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OperationSeen {
    enable: bool,
    disable: bool,
}

impl OperationSeen {
    /// Takes the evidence of one row.
    pub fn add(&mut self, kind: OutcomeKind, run_id: &str) {
        for op in [outcome_operation(kind), run_id_operation(run_id)]
            .into_iter()
            .flatten()
        {
            match op {
                Operation::Enable => self.enable = true,
                Operation::Disable => self.disable = true,
            }
        }
    }

    /// The operation that wrote the report; `None` when no row says (or rows disagree).
    #[must_use]
    pub fn operation(self) -> Option<Operation> {
        match (self.enable, self.disable) {
            (true, false) => Some(Operation::Enable),
            (false, true) => Some(Operation::Disable),
            _ => None,
        }
    }

    /// Rows of both operations: not one run's evidence.
    #[must_use]
    pub fn is_mixed(self) -> bool {
        self.enable && self.disable
    }

    /// Why `operation` may not resume this report, if it may not.
    #[must_use]
    pub fn refusal(self, operation: Operation) -> Option<String> {
        if self.is_mixed() {
            return Some(
                "holds rows of both enable and disable runs: it is not one run's report".to_owned(),
            );
        }
        self.operation()
            .filter(|wrote| *wrote != operation)
            .map(|wrote| {
                format!(
                    "was written by `credbulk {}`, not `credbulk {}`",
                    wrote.name(),
                    operation.name()
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_and_run_ids_both_name_the_operation() {
        let mut seen = OperationSeen::default();
        seen.add(OutcomeKind::Timeout, "20261126T224512Z-3f9a1c");
        assert_eq!(seen.operation(), None, "an old neutral row names nothing");
        seen.add(OutcomeKind::NotFound, "disable-20261126T224512Z-3f9a1c");
        assert_eq!(seen.operation(), Some(Operation::Disable));
        assert!(
            seen.refusal(Operation::Enable)
                .unwrap()
                .contains("credbulk disable")
        );
        assert_eq!(seen.refusal(Operation::Disable), None);
        seen.add(OutcomeKind::AlreadyEnabled, "r");
        assert!(seen.is_mixed());
        assert!(seen.refusal(Operation::Disable).is_some());
    }
}
