//! One id from first attempt to outcome: rate permit before every attempt, one replay after a
//! token refresh, backoff with full jitter between attempts, and the abort rules of design.md §3.

use std::time::Duration;

use tokio::time::Instant;
use tracing::{debug, warn};

use super::Context;
use crate::attempt::{Answer, AnswerClass, Backend};
use crate::auth::AuthError;
use crate::backoff::jitter_rng;
use crate::error::AbortReason;
use crate::model::{IdRecord, Operation, Outcome, OutcomeKind};

/// How long before an id's first failure a definitive answer from the server still shows that
/// the appliance was up, so that the id's failure is its own rather than an outage.
const OUTAGE_GRACE: Duration = Duration::from_secs(5);

/// What one answer means for the id.
enum Next {
    /// The id is decided.
    Decided(OutcomeKind, Answer),
    /// Fetch a fresh token and send again (once per id; not an attempt).
    Replay,
    /// A transient failure: wait and try again if attempts remain.
    Retry(Answer),
    /// The run is stopping and the id stays undecided.
    Abandon,
}

/// Runs `record` to an outcome; `None` when the run stopped before the id was decided, so it
/// gets no row and `--resume` picks it up.
pub(super) async fn process<B: Backend>(ctx: &Context<B>, record: IdRecord) -> Option<Outcome> {
    let started = Instant::now();
    let stop = ctx.control.token();
    let mut attempts = 0u32;
    let mut replayed = false;
    let mut maybe_applied = false;
    let mut rng = jitter_rng();
    let mut replay_token = None;
    let mut first_failure = None;
    loop {
        let replaying = replay_token.is_some();
        let mut token = match replay_token.take() {
            Some(token) => token,
            None => match ctx.backend.token().await {
                Ok(token) => token,
                Err(e) => {
                    abort_on_token_error(ctx, e);
                    return None;
                }
            },
        };
        // The token is taken before the permit so that a token fetch never holds back
        // permitted requests (they would then leave in a bunch). A long wait for the permit (a
        // `Retry-After` pause) can outlast a short-lived token: then the token is renewed and
        // the request waits for a permit of its own again, until it can leave with a token
        // that is still fresh, so that a refusal always means the token was refused.
        loop {
            if !ctx.pacer.acquire(stop).await {
                return None;
            }
            if ctx.backend.is_fresh(&token) {
                break;
            }
            token = match ctx.backend.token().await {
                Ok(token) => token,
                Err(e) => {
                    abort_on_token_error(ctx, e);
                    return None;
                }
            };
        }
        if replaying {
            ctx.metrics.record_replay();
        } else {
            attempts += 1;
            if attempts > 1 {
                ctx.metrics.record_retry();
            }
        }
        let sent_at = Instant::now();
        let answer = ctx.backend.send(record.id, &token).await;
        let decided = |kind: OutcomeKind, answer: Answer| {
            Some(outcome(record, kind, answer, attempts, started.elapsed()))
        };
        match judge(ctx, record, answer, replayed, maybe_applied) {
            Next::Decided(kind, answer) => return decided(kind, answer),
            Next::Abandon => return None,
            Next::Replay => {
                replayed = true;
                match ctx.backend.refresh(&token).await {
                    Ok(fresh) => replay_token = Some(fresh),
                    Err(e) => {
                        abort_on_token_error(ctx, e);
                        return None;
                    }
                }
            }
            Next::Retry(answer) => {
                maybe_applied |= answer.maybe_applied;
                // When the failing attempt was sent, not when it came back: a slow timeout
                // must not hide the answers other ids got meanwhile.
                let failing_since = *first_failure.get_or_insert(sent_at);
                // Out of attempts, the id is decided only if the server gave some definitive
                // answer shortly before or since this id started failing: then the failure is
                // this id's own. Otherwise the appliance is down; deciding would burn through
                // the list, so the id keeps probing until the server recovers or the outage
                // limit aborts the run (and it gets no row, for `--resume`).
                if attempts >= ctx.settings.max_attempts
                    && alive_since(
                        ctx,
                        failing_since
                            .checked_sub(OUTAGE_GRACE)
                            .unwrap_or(failing_since),
                    )
                {
                    return decided(transient_kind(answer.class), answer);
                }
                let delay = ctx
                    .settings
                    .backoff
                    .delay(attempts, answer.retry_after, &mut rng);
                debug!(
                    id = record.id,
                    attempt = attempts,
                    status = answer.http_status,
                    delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    "transient failure; retrying"
                );
                tokio::select! {
                    () = stop.cancelled() => return None,
                    () = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}

/// Applies design.md §3 to one answer: outcome, replay, retry, or abort of the whole run.
fn judge<B>(
    ctx: &Context<B>,
    record: IdRecord,
    mut answer: Answer,
    replayed: bool,
    maybe_applied: bool,
) -> Next {
    let operation = ctx.settings.operation;
    match answer.class {
        AnswerClass::AuthFlavoured if !replayed => {
            debug!(
                id = record.id,
                status = answer.http_status,
                "auth-flavoured answer; replaying once with a fresh token"
            );
            Next::Replay
        }
        AnswerClass::AuthFlavoured => {
            ctx.control.abort(AbortReason::AuthFailed {
                status: answer.http_status.unwrap_or(0),
                message: answer.message.clone(),
            });
            Next::Decided(OutcomeKind::AuthFailed, answer)
        }
        AnswerClass::ReadOnly => {
            ctx.control.abort(AbortReason::ReadOnly);
            Next::Decided(OutcomeKind::Forbidden, answer)
        }
        AnswerClass::WrongPrefix => {
            ctx.control
                .abort(AbortReason::WrongPrefix(answer.message.clone()));
            Next::Decided(OutcomeKind::Misconfigured, answer)
        }
        class if class.is_transient() => {
            if let Some(after) = answer
                .retry_after
                .filter(|_| matches!(answer.http_status, Some(429 | 503)))
            {
                ctx.pacer.pause_for(after);
            }
            if outage_exceeded(ctx) {
                ctx.control.abort(AbortReason::Outage {
                    secs: ctx.settings.max_outage.as_secs(),
                    last: answer.message,
                });
                return Next::Abandon;
            }
            Next::Retry(answer)
        }
        class => {
            mark_alive(ctx);
            let kind = match class {
                AnswerClass::Applied => done_kind(operation),
                AnswerClass::AlreadyDone if maybe_applied => {
                    answer.message = format!(
                        "confirmed on retry after an unanswered attempt: {}",
                        answer.message
                    );
                    done_kind(operation)
                }
                AnswerClass::AlreadyDone => match operation {
                    Operation::Enable => OutcomeKind::AlreadyEnabled,
                    Operation::Disable => OutcomeKind::AlreadyDisabled,
                },
                AnswerClass::NotFound => OutcomeKind::NotFound,
                AnswerClass::NoAccess => OutcomeKind::NoAccess,
                AnswerClass::NotACredential => OutcomeKind::NotACredential,
                AnswerClass::Rejected => OutcomeKind::Rejected,
                _ => {
                    warn!(id = record.id, status = answer.http_status, message = %answer.message, "unexpected answer");
                    OutcomeKind::UnexpectedResponse
                }
            };
            Next::Decided(kind, answer)
        }
    }
}

/// A token that cannot be had stops the run (unless the run is already stopping).
fn abort_on_token_error<B>(ctx: &Context<B>, error: AuthError) {
    match error {
        AuthError::Cancelled => {}
        AuthError::Rejected { status, message } => {
            ctx.control
                .abort(AbortReason::ClientRejected { status, message });
        }
        e @ AuthError::Unavailable { .. } => {
            ctx.control
                .abort(AbortReason::TokenUnavailable(e.to_string()));
        }
    }
}

fn done_kind(operation: Operation) -> OutcomeKind {
    match operation {
        Operation::Enable => OutcomeKind::Enabled,
        Operation::Disable => OutcomeKind::Disabled,
    }
}

fn transient_kind(class: AnswerClass) -> OutcomeKind {
    match class {
        AnswerClass::Timeout => OutcomeKind::Timeout,
        AnswerClass::RateLimited => OutcomeKind::RateLimited,
        AnswerClass::Network => OutcomeKind::NetworkError,
        _ => OutcomeKind::ServerError,
    }
}

fn mark_alive<B>(ctx: &Context<B>) {
    *ctx.last_alive
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Instant::now();
}

fn alive_since<B>(ctx: &Context<B>, since: Instant) -> bool {
    *ctx.last_alive
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        > since
}

fn outage_exceeded<B>(ctx: &Context<B>) -> bool {
    let last = *ctx
        .last_alive
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    last.elapsed() > ctx.settings.max_outage
}

fn outcome(
    record: IdRecord,
    kind: OutcomeKind,
    answer: Answer,
    attempts: u32,
    elapsed: Duration,
) -> Outcome {
    Outcome {
        line: record.line,
        id: record.id.to_string(),
        kind,
        http_status: answer.http_status,
        api_code: answer.api_code,
        message: answer.message,
        attempts,
        elapsed,
    }
}
