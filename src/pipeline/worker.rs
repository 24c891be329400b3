//! One id from first attempt to outcome: rate permit before every attempt, a token that is
//! fresh when the request leaves, one replay after a token refresh, backoff with full jitter
//! between attempts, failures counted toward `--max-attempts` only when the evidence says they
//! were the id's own (see `outage`), and the abort rules of design.md §3.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tracing::{debug, warn};

use super::Context;
use super::outage::{PROBE, Resolution, Spell, Verdict};
use crate::attempt::{Answer, AnswerClass, Backend, Evidence};
use crate::auth::AuthError;
use crate::backoff::jitter_rng;
use crate::error::AbortReason;
use crate::model::{IdRecord, Operation, Outcome, OutcomeKind};

/// What one answer means for the id.
enum Next {
    /// The id is decided.
    Decided(OutcomeKind, Answer),
    /// Fetch a fresh token and send again (once per id; not an attempt).
    Replay,
    /// A transient failure: wait and try again if attempts remain.
    Retry(Answer),
}

/// Failures of an id in a spell of unreachable answers that has not ended yet.
struct Doubt {
    spell: Arc<Spell>,
    failures: u32,
}

/// How a wait for a permit or a backoff ended.
enum Waited {
    Done,
    /// The spell the id's failures are in ended first.
    Resolved,
    Cancelled,
}

/// Runs `record` to an outcome; `None` when the run stopped before the id was decided, so it
/// gets no row and `--resume` picks it up.
pub(super) async fn process<B: Backend>(ctx: &Context<B>, record: IdRecord) -> Option<Outcome> {
    let _active = ctx.watch.active();
    let started = Instant::now();
    let max_attempts = ctx.settings.max_attempts.max(1);
    // Requests sent for the id (the report's column) and failures that count against
    // `--max-attempts`: a failure while the appliance was down does not.
    let mut attempts = 0u32;
    let mut counted = 0u32;
    let mut doubt: Option<Doubt> = None;
    let mut last_failure: Option<Answer> = None;
    let mut replayed = false;
    let mut maybe_applied = false;
    let mut rng = jitter_rng();
    let mut replay_token = None;
    // The appliance answered this id's probe just before its next attempt: if that attempt
    // fails and a probe right after it is answered too, the failure was the id's own, however
    // many other ids failed meanwhile (they may be failing on their own as well).
    let mut known_up = false;
    loop {
        // A spell ends when the appliance answers a request sent since it began: up now.
        known_up |= settle(&mut counted, &mut doubt);
        if counted >= max_attempts
            && let Some(answer) = last_failure.take()
        {
            return Some(outcome(
                record,
                transient_kind(answer.class),
                answer,
                attempts,
                started.elapsed(),
            ));
        }
        // The next request would decide the id if its pending failures turn out to be its own:
        // then it waits for that evidence too, and asks the appliance on its own behalf.
        let deciding = deciding_spell(doubt.as_ref(), counted, max_attempts);
        let replaying = replay_token.is_some();
        let mut token = match replay_token.take() {
            Some(token) => token,
            None => fresh_token(ctx).await?,
        };
        // The token is taken before the permit so that a token fetch rarely holds back a
        // permitted request. A long wait for the permit can outlast a short-lived token: then
        // the current one is taken after the permit (a fetch, if needed, goes ahead of the
        // queue), and the request leaves with the permit it has. Never waiting for a second
        // permit is what keeps a queue longer than a token's life from refetching without end.
        match wait_permit(ctx, deciding.as_deref()).await {
            Waited::Done => {}
            Waited::Resolved => continue,
            Waited::Cancelled => return None,
        }
        if !ctx.backend.is_fresh(&token) {
            token = fresh_token(ctx).await?;
        }
        // A spell that would decide the id has not ended: a request that changes nothing tells
        // whether the appliance answers at all. Without it, ids that all fail on their own
        // (the last few of a run) would wait for answers that nobody asks for.
        if let Some(spell) = deciding.as_deref().filter(|s| s.resolution().is_none())
            && let Some(up) = probe(ctx, record.id, &token, spell, &mut rng, attempts).await
        {
            known_up = up?;
            continue;
        }
        if replaying {
            ctx.metrics.record_replay();
        } else {
            attempts += 1;
            if attempts > 1 {
                ctx.metrics.record_retry();
            }
        }
        let (answer, verdict) = send(ctx, record.id, &token, &mut known_up).await?;
        match judge(ctx, record, answer, replayed, maybe_applied) {
            Next::Decided(kind, answer) => {
                return Some(outcome(record, kind, answer, attempts, started.elapsed()));
            }
            Next::Replay => {
                replayed = true;
                replay_token = Some(refreshed(ctx, &token).await?);
            }
            Next::Retry(answer) => {
                maybe_applied |= answer.maybe_applied;
                match verdict {
                    Verdict::Exceeded => {
                        abort_outage(ctx, answer.message);
                        return None;
                    }
                    Verdict::Counts => counted += 1,
                    Verdict::InDoubt(spell) => add_doubt(&mut counted, &mut doubt, spell),
                }
                debug!(
                    id = record.id,
                    attempt = attempts,
                    counted,
                    status = answer.http_status,
                    "transient failure"
                );
                let retry_after = answer.retry_after;
                last_failure = Some(answer);
                if counted >= max_attempts {
                    continue;
                }
                let deciding = deciding_spell(doubt.as_ref(), counted, max_attempts);
                if !backoff(ctx, &mut rng, attempts, retry_after, deciding.as_deref()).await {
                    return None;
                }
            }
        }
    }
}

/// The current token (fetched if needed); `None` when none can be had and the run stops.
async fn fresh_token<B: Backend>(ctx: &Context<B>) -> Option<B::Token> {
    match ctx.backend.token().await {
        Ok(token) => Some(token),
        Err(e) => {
            abort_on_token_error(ctx, e);
            None
        }
    }
}

/// A freshly fetched token to replay with after `rejected` drew an auth-flavoured answer;
/// `None` when none can be had and the run stops.
async fn refreshed<B: Backend>(ctx: &Context<B>, rejected: &B::Token) -> Option<B::Token> {
    match ctx.backend.refresh(rejected).await {
        Ok(token) => Some(token),
        Err(e) => {
            abort_on_token_error(ctx, e);
            None
        }
    }
}

/// Asks the appliance, with a request that changes nothing, whether it answers at all: for an
/// id whose failures in `spell` would decide it. `None` when the backend has no probe (the id
/// is sent instead); `Some(None)` when the run stops; `Some(Some(up))` otherwise, `up` when
/// the appliance answered the probe.
async fn probe<B: Backend>(
    ctx: &Context<B>,
    id: u64,
    token: &B::Token,
    spell: &Spell,
    rng: &mut impl rand::Rng,
    attempts: u32,
) -> Option<Option<bool>> {
    let sent_at = Instant::now();
    let answer = ctx.backend.probe(token).await?;
    observe(ctx, sent_at, &answer);
    debug!(id, status = answer.http_status, "probed the appliance");
    if let Verdict::Exceeded = ctx.watch.record(PROBE, sent_at, answer.evidence()) {
        abort_outage(ctx, answer.message);
        return Some(None);
    }
    if spell.resolution().is_none() {
        // Unreachable (or a 429): wait and ask again, backing off as the id's attempts would.
        let go_on = backoff(ctx, rng, attempts.max(1), answer.retry_after, None).await;
        return Some(go_on.then_some(false));
    }
    Some(Some(answer.evidence() == Evidence::Answered))
}

/// Sends one attempt for `id`: its answer, what that shows, and whether the appliance is known
/// to be up before the id's next attempt. When it was known up before this one and the
/// request failed unreachable, a probe right after it decides. `None` when the run stops.
async fn send<B: Backend>(
    ctx: &Context<B>,
    id: u64,
    token: &B::Token,
    known_up: &mut bool,
) -> Option<(Answer, Verdict)> {
    let sent_at = Instant::now();
    let answer = ctx.backend.send(id, token).await;
    observe(ctx, sent_at, &answer);
    let evidence = answer.evidence();
    let mut verdict = ctx.watch.record(id, sent_at, evidence);
    if std::mem::take(known_up) && matches!(verdict, Verdict::InDoubt(_)) {
        verdict = match after_failure(ctx, id, token).await? {
            Verdict::InDoubt(_) => verdict,
            other => other,
        };
    }
    // The appliance answered this request, or one sent after it: it is up before the next.
    *known_up = matches!(verdict, Verdict::Counts) && evidence != Evidence::Gateway;
    Some((answer, verdict))
}

/// Counts a 429 and feeds the answer to `--rate auto`, if it is on.
fn observe<B>(ctx: &Context<B>, sent_at: Instant, answer: &Answer) {
    if answer.http_status == Some(429) {
        ctx.metrics.record_throttled();
    }
    if let Some(pace) = &ctx.settings.pace {
        pace.observe(sent_at, answer);
    }
}

/// One probe, with a permit of its own, right after an attempt failed with the appliance
/// answering just before it (see [`probe_once`]); `None` when the run stops.
async fn after_failure<B: Backend>(ctx: &Context<B>, id: u64, token: &B::Token) -> Option<Verdict> {
    match wait_permit(ctx, None).await {
        Waited::Cancelled => None,
        Waited::Done | Waited::Resolved => Some(probe_once(ctx, id, token).await),
    }
}

/// One probe right after an attempt failed with the appliance answering just before it:
/// `Counts` when the appliance answers it (the failure was the id's own), `InDoubt` when it
/// does not (or the backend has no probe), `Exceeded` past `--max-outage`.
async fn probe_once<B: Backend>(ctx: &Context<B>, id: u64, token: &B::Token) -> Verdict {
    let sent_at = Instant::now();
    let Some(answer) = ctx.backend.probe(token).await else {
        return Verdict::InDoubt(Arc::default());
    };
    observe(ctx, sent_at, &answer);
    debug!(
        id,
        status = answer.http_status,
        "probed the appliance after a failure"
    );
    match ctx.watch.record(PROBE, sent_at, answer.evidence()) {
        Verdict::Exceeded => Verdict::Exceeded,
        _ if answer.evidence() == Evidence::Answered => Verdict::Counts,
        other => other,
    }
}

/// The spell whose end decides the id (its failures in it would use up its attempts).
fn deciding_spell(doubt: Option<&Doubt>, counted: u32, max_attempts: u32) -> Option<Arc<Spell>> {
    doubt
        .filter(|d| counted + d.failures >= max_attempts)
        .map(|d| Arc::clone(&d.spell))
}

/// Adds a failure whose count depends on how `spell` ends.
fn add_doubt(counted: &mut u32, doubt: &mut Option<Doubt>, spell: Arc<Spell>) {
    let _ = settle(counted, doubt);
    match doubt {
        Some(d) if Arc::ptr_eq(&d.spell, &spell) => d.failures += 1,
        _ => *doubt = Some(Doubt { spell, failures: 1 }),
    }
}

/// Applies the end of the spell an id's pending failures are in; true if it ended.
fn settle(counted: &mut u32, doubt: &mut Option<Doubt>) -> bool {
    if let Some(d) = doubt {
        match d.spell.resolution() {
            Some(Resolution::Own) => *counted += d.failures,
            Some(Resolution::Outage) => {}
            None => return false,
        }
        *doubt = None;
        return true;
    }
    false
}

/// Waits for a rate permit; when `spell` is given, gives up the place in the queue as soon as
/// that spell ends (its outcome may decide the id without another request).
async fn wait_permit<B: Backend>(ctx: &Context<B>, spell: Option<&Spell>) -> Waited {
    let stop = ctx.control.token();
    let Some(spell) = spell else {
        return if ctx.pacer.acquire(stop).await {
            Waited::Done
        } else {
            Waited::Cancelled
        };
    };
    let acquire = ctx.pacer.acquire(stop);
    tokio::pin!(acquire);
    loop {
        let resolved = ctx.watch.resolved();
        tokio::pin!(resolved);
        resolved.as_mut().enable();
        if spell.resolution().is_some() {
            return Waited::Resolved;
        }
        tokio::select! {
            got = &mut acquire => return if got { Waited::Done } else { Waited::Cancelled },
            () = &mut resolved => {}
        }
    }
}

/// Sleeps the backoff before attempt `attempt + 1`; cut short when `spell` ends. False when
/// the run is stopping.
async fn backoff<B: Backend>(
    ctx: &Context<B>,
    rng: &mut impl rand::Rng,
    attempt: u32,
    retry_after: Option<Duration>,
    spell: Option<&Spell>,
) -> bool {
    let delay = ctx.settings.backoff.delay(attempt, retry_after, rng);
    let sleep = tokio::time::sleep(delay);
    tokio::pin!(sleep);
    let stop = ctx.control.token();
    loop {
        let resolved = ctx.watch.resolved();
        tokio::pin!(resolved);
        resolved.as_mut().enable();
        if spell.is_some_and(|s| s.resolution().is_some()) {
            return true;
        }
        tokio::select! {
            () = stop.cancelled() => return false,
            () = &mut sleep => return true,
            () = &mut resolved, if spell.is_some() => {}
        }
    }
}

fn abort_outage<B>(ctx: &Context<B>, last: String) {
    ctx.control.abort(AbortReason::Outage {
        secs: ctx.settings.max_outage.as_secs(),
        last,
    });
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
            Next::Retry(answer)
        }
        class => {
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
        AuthError::Misconfigured(problem) => {
            ctx.control.abort(AbortReason::Misconfigured(problem));
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
        kept: crate::model::KeptCells::default(),
    }
}
