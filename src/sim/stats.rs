//! What the simulator saw, from the server's side: counts per route and status, per-id
//! requests, state flips and lost answers, the busiest one-second window and the most requests
//! in flight, what the gateway let through and refused. `SimStats` is the snapshot (also served
//! as JSON at `GET /_sim/stats`); `Recorder` keeps the sliding window and, when asked, the
//! timeline of served requests.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::timeline::{Served, Timeline};

const WINDOW: Duration = Duration::from_secs(1);

/// A snapshot of the simulator's counters.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    /// POSTs to the token path (any answer).
    pub token_requests: u64,
    /// Tokens issued.
    pub token_fetches: u64,
    /// PUT/DELETE on credential paths of served prefixes (any answer).
    pub api_requests: u64,
    /// Every request except `GET /_sim/stats`.
    pub total_requests: u64,
    /// `"PUT /api/pam/credential"` (route without id), `"POST /iso/oauth2/token"`, … → status
    /// → count. A lost answer counts under 200, the status its headers carried.
    pub requests: BTreeMap<String, BTreeMap<u16, u64>>,
    /// PUT/DELETE that passed the auth check, per id.
    pub requests_per_id: BTreeMap<u64, u32>,
    /// Times an id went from disabled to active.
    pub activations: BTreeMap<u64, u32>,
    /// Times an id went from active to disabled.
    pub deactivations: BTreeMap<u64, u32>,
    /// Times an answer for an id was lost or hung (whether or not the request changed state),
    /// i.e. the times a client had good reason to send that id again.
    pub lost_answers: BTreeMap<u64, u32>,
    /// Most requests (token ones included) that arrived within any sliding one-second window.
    pub max_requests_per_second: u64,
    /// Most requests being handled at once.
    pub max_in_flight: u64,
    /// API requests the gateway let through to the appliance (all of them without a gateway).
    #[serde(default)]
    pub gateway_passed: u64,
    /// API requests the gateway refused with 429 (nginx or Kong).
    #[serde(default)]
    pub gateway_refused: u64,
}

/// Mutable counters behind the state mutex.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    pub(crate) stats: SimStats,
    /// Arrival times within the last second, oldest first.
    recent: VecDeque<Instant>,
    in_flight: u64,
    pub(crate) arrivals: Arrivals,
    /// Served API requests, when `SimConfig::record_timeline` asks for them.
    pub(crate) timeline: Option<Timeline>,
}

/// When requests arrived, for measuring a client from the server's side (time to its first
/// request, the rate it kept between its first and last). Wall-clock instants so a caller can
/// compare them with its own `std::time::Instant`s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Arrivals {
    /// The first request of any kind (the token fetch, for a credbulk run).
    pub first: Option<std::time::Instant>,
    /// The first PUT/DELETE on a credential path.
    pub first_api: Option<std::time::Instant>,
    /// The latest request of any kind.
    pub last: Option<std::time::Instant>,
}

impl Recorder {
    /// Counts one arriving request (anything but the stats endpoint); `api` marks a PUT/DELETE
    /// on a credential path.
    pub(crate) fn arrive(&mut self, now: Instant, api: bool) {
        self.stats.total_requests += 1;
        let wall = now.into_std();
        self.arrivals.first.get_or_insert(wall);
        if api {
            self.arrivals.first_api.get_or_insert(wall);
        }
        self.arrivals.last = Some(wall);
        self.recent.push_back(now);
        while self
            .recent
            .front()
            .is_some_and(|first| now.duration_since(*first) >= WINDOW)
        {
            self.recent.pop_front();
        }
        self.stats.max_requests_per_second = self
            .stats
            .max_requests_per_second
            .max(self.recent.len() as u64);
        self.in_flight += 1;
        self.stats.max_in_flight = self.stats.max_in_flight.max(self.in_flight);
    }

    /// A request finished (or its future was dropped).
    pub(crate) fn depart(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Counts the final status of a request on `route`.
    pub(crate) fn answered(&mut self, route: &str, status: u16) {
        let by_status = match self.stats.requests.get_mut(route) {
            Some(by_status) => by_status,
            None => self.stats.requests.entry(route.to_owned()).or_default(),
        };
        *by_status.entry(status).or_default() += 1;
    }

    /// Records an API request the appliance served (a no-op unless the timeline is kept).
    pub(crate) fn served(&mut self, served: Served) {
        if let Some(timeline) = &mut self.timeline {
            timeline.push(served);
        }
    }
}

/// Adds one to a per-id counter.
pub(crate) fn bump(map: &mut BTreeMap<u64, u32>, id: u64) {
    let slot = map.entry(id).or_default();
    *slot = slot.saturating_add(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_busiest_window_slides_rather_than_resets_on_the_second() {
        let mut rec = Recorder::default();
        let t0 = Instant::now();
        // Three at 0.6 s and three at 1.4 s: six within one sliding second, three per fixed one.
        for at in [600, 600, 600, 1400, 1400, 1400, 2500] {
            rec.arrive(t0 + Duration::from_millis(at), at > 600);
            rec.depart();
        }
        assert_eq!(rec.stats.max_requests_per_second, 6);
        assert_eq!(rec.stats.total_requests, 7);
        assert_eq!(rec.stats.max_in_flight, 1);
        let arrivals = rec.arrivals;
        let since = |at: Option<std::time::Instant>| at.map(|a| a - t0.into_std());
        assert_eq!(since(arrivals.first), Some(Duration::from_millis(600)));
        assert_eq!(since(arrivals.first_api), Some(Duration::from_millis(1400)));
        assert_eq!(since(arrivals.last), Some(Duration::from_millis(2500)));
    }

    #[test]
    fn stats_survive_a_json_round_trip_with_numeric_keys() {
        let mut rec = Recorder::default();
        rec.answered("PUT /api/pam/credential", 200);
        rec.answered("PUT /api/pam/credential", 200);
        bump(&mut rec.stats.activations, 7);
        let json = serde_json::to_string(&rec.stats).expect("serialize");
        let back: SimStats = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, rec.stats);
        assert_eq!(back.requests["PUT /api/pam/credential"][&200], 2);
    }
}
