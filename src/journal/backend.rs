//! [`InDoubt`]: a [`Backend`] that wraps another and keeps the journal true. Before delegating
//! an attempt it appends `+id`; after the answer it appends `-id` when the answer proves that
//! nothing was applied and the id was not already in doubt. For an id left in doubt by an
//! earlier run, an "already" answer is turned into an `Applied` one whose message says it was
//! confirmed, so the report reads `enabled`/`disabled`: the change was this tool's own.
//! Written as a decorator so that the pipeline's worker needs no knowledge of it.

use std::sync::{Arc, Mutex, PoisonError};

use roaring::RoaringTreemap;

use super::Journal;
use crate::api::{Answer, AnswerClass};
use crate::auth::AuthError;
use crate::control::Control;
use crate::error::AbortReason;
use crate::pipeline::Backend;

/// What the decorator knows besides the file.
#[derive(Debug, Default)]
struct State {
    /// Ids whose change may have been applied without a success to show for it: from earlier
    /// runs, and from this run's lost or timed-out attempts.
    doubt: RoaringTreemap,
    /// Ids whose last journal record is `+` and that got no final answer yet: what the journal
    /// must still hold when the run ends.
    pending: RoaringTreemap,
}

/// The journaling decorator around the backend `B`.
#[derive(Debug)]
pub struct InDoubt<B> {
    inner: B,
    journal: Journal,
    /// In doubt when this run started (read-only: the translation applies to these only; doubt
    /// born in this run is the worker's to resolve).
    earlier: RoaringTreemap,
    state: Mutex<State>,
    control: Arc<Control>,
}

impl<B> InDoubt<B> {
    /// Wraps `inner`; `earlier` are the ids the journal left in doubt.
    #[must_use]
    pub fn new(inner: B, journal: Journal, earlier: RoaringTreemap, control: Arc<Control>) -> Self {
        let state = State {
            doubt: earlier.clone(),
            pending: earlier.clone(),
        };
        Self {
            inner,
            journal,
            earlier,
            state: Mutex::new(state),
            control,
        }
    }

    /// Ends the run's journal: compacted to the ids still in doubt when every row was written
    /// (`rows_complete`), else left as it is, which is always safe.
    pub fn finish(self, rows_complete: bool) -> std::io::Result<()> {
        if !rows_complete {
            return Ok(());
        }
        let state = self
            .state
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        self.journal.compact(&state.pending)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether `answer` shows the change was not applied by that attempt.
fn proves_nothing_applied(answer: &Answer) -> bool {
    if answer.maybe_applied {
        return false;
    }
    match answer.class {
        // A 2xx the tool cannot read may well sit on an applied change.
        AnswerClass::Unexpected => !answer.http_status.is_some_and(|s| (200..300).contains(&s)),
        AnswerClass::Applied => false,
        _ => true,
    }
}

/// Whether the worker decides the id on `class` with a final row (resume will not send it).
fn is_final(class: AnswerClass) -> bool {
    matches!(
        class,
        AnswerClass::Applied
            | AnswerClass::AlreadyDone
            | AnswerClass::NotFound
            | AnswerClass::NoAccess
            | AnswerClass::NotACredential
            | AnswerClass::Rejected
    )
}

impl<B: Backend> Backend for InDoubt<B> {
    type Token = B::Token;

    async fn token(&self) -> Result<Self::Token, AuthError> {
        self.inner.token().await
    }

    async fn refresh(&self, rejected: &Self::Token) -> Result<Self::Token, AuthError> {
        self.inner.refresh(rejected).await
    }

    fn is_fresh(&self, token: &Self::Token) -> bool {
        self.inner.is_fresh(token)
    }

    async fn send(&self, id: u64, token: &Self::Token) -> Answer {
        // An id in doubt already ends its journal with `+`: no need to say it again.
        let in_doubt = self.state().doubt.contains(id);
        if !in_doubt && let Err(e) = self.journal.sent(id) {
            // Unrecorded, the attempt must not go out: a crash could then forget it.
            self.control.abort(AbortReason::ReportWrite(format!(
                "{}: {e}",
                self.journal.path.display()
            )));
            return Answer::transport(
                AnswerClass::Network,
                format!("not sent: the in-doubt journal could not be written ({e})"),
                false,
            );
        }
        self.state().pending.insert(id);
        let mut answer = self.inner.send(id, token).await;
        let refused = {
            let mut state = self.state();
            if answer.maybe_applied
                || (answer.class == AnswerClass::Unexpected && !proves_nothing_applied(&answer))
            {
                state.doubt.insert(id);
            }
            if is_final(answer.class) {
                state.pending.remove(id);
            }
            let refused = !state.doubt.contains(id) && proves_nothing_applied(&answer);
            if refused {
                state.pending.remove(id);
            }
            refused
        };
        // A `-` that cannot be written would leave the id claimable by a later "already":
        // stop the run as for the `+`, so that nothing more is sent on a broken journal.
        if refused && let Err(e) = self.journal.refused(id) {
            self.state().pending.insert(id);
            self.control.abort(AbortReason::ReportWrite(format!(
                "{}: {e}",
                self.journal.path.display()
            )));
        }
        if answer.class == AnswerClass::AlreadyDone && self.earlier.contains(id) {
            answer.class = AnswerClass::Applied;
            answer.message = format!(
                "confirmed after an earlier run's unanswered attempt: {}",
                answer.message
            );
        }
        answer
    }
}
