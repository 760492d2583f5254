//! Client-side request pacing shared by every connector: a token bucket kept
//! a little inside the marketplace's, a pause after the marketplace said
//! "slow down", an optional cap on requests in flight, and sends going before
//! polls so a busy poll loop never delays a reply a person approved. Reads
//! take the bucket's slots in the order they asked.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;

/// What a request is for, when it waits for its turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Read,
    Send,
}

/// How long reads keep giving way after a throttled send's retry falls due:
/// longer than the sender's tick, so the retry finds the server's quota
/// before the next poll spends it.
const SEND_FIRST: Duration = Duration::from_secs(2);

pub struct RequestGate {
    limiter: Option<DefaultDirectRateLimiter>,
    /// Set after a throttling answer; no request leaves before it.
    blocked_until: Mutex<Option<Instant>>,
    /// Set when a send was throttled: reads wait until its retry has had its
    /// turn, or polling at the server's limit would starve it for ever.
    reads_held_until: Mutex<Option<Instant>>,
    /// Sends that have their turn and whose answer is not read yet.
    sends_in_flight: std::sync::Arc<AtomicU64>,
    /// How many sends wait for their turn; reads go only when none does.
    sends_waiting: watch::Sender<usize>,
    /// Reads wait for a slot in flight, any pause and the rate limit one at
    /// a time, in the order they came (tokio's mutex is fair). Left to race, a read that slept until its
    /// slot could lose it, slot after slot, to a busy poll that asked later.
    reads_in_line: tokio::sync::Mutex<()>,
    in_flight: Option<std::sync::Arc<Semaphore>>,
    /// Requests let through, and throttling answers, for the metrics.
    requests: AtomicU64,
    throttled: AtomicU64,
}

/// What a connector has asked of its marketplace so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    pub requests: u64,
    /// Answers that said "too many requests" (429, Yandex Market's 420).
    pub throttled: u64,
}

/// A send waiting for its turn. Reads give way while it exists; it goes away
/// when the send gets its turn or whoever waited gives up.
struct WaitingSend<'a>(&'a watch::Sender<usize>);

impl<'a> WaitingSend<'a> {
    fn new(count: &'a watch::Sender<usize>) -> Self {
        count.send_modify(|n| *n += 1);
        WaitingSend(count)
    }
}

impl Drop for WaitingSend<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

/// Held while a request is in flight; dropping it frees the slot.
#[must_use]
pub struct Turn {
    _permit: Option<OwnedSemaphorePermit>,
    _send: Option<SendInFlight>,
}

/// A send between its turn and its answer.
struct SendInFlight(std::sync::Arc<AtomicU64>);

impl Drop for SendInFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl RequestGate {
    /// At most `requests` per `period` (none when `requests` is 0) and at most
    /// `max_parallel` requests in flight (unbounded when `None`).
    pub fn new(requests: u32, period: Duration, max_parallel: Option<usize>) -> RequestGate {
        RequestGate {
            limiter: (requests > 0).then(|| RateLimiter::direct(client_quota(requests, period))),
            blocked_until: Mutex::new(None),
            reads_held_until: Mutex::new(None),
            sends_in_flight: std::sync::Arc::new(AtomicU64::new(0)),
            sends_waiting: watch::Sender::new(0),
            reads_in_line: tokio::sync::Mutex::new(()),
            in_flight: max_parallel.map(|n| std::sync::Arc::new(Semaphore::new(n.max(1)))),
            requests: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
        }
    }

    /// Wait until a request may leave. Keep the returned [`Turn`] until the
    /// response has been read. Cancel-safe: a dropped wait holds nothing back.
    pub async fn turn(&self, purpose: Purpose) -> Turn {
        let _waiting = match purpose {
            Purpose::Send => Some(WaitingSend::new(&self.sends_waiting)),
            Purpose::Read => {
                let mut sends = self.sends_waiting.subscribe();
                sends
                    .wait_for(|waiting| *waiting == 0)
                    .await
                    .expect("the gate holds the sender while it is borrowed");
                None
            }
        };
        // Reads wait in line from here: the one in front takes a slot in
        // flight, waits out any pause and then the bucket, so a pause set
        // while others queue holds them all, and none holds a slot in flight
        // only to queue. Sends skip the line: they go first anyway.
        let _line = match (purpose, &self.limiter) {
            (Purpose::Read, Some(_)) => Some(self.reads_in_line.lock().await),
            _ => None,
        };
        let permit = match &self.in_flight {
            Some(s) => s.clone().acquire_owned().await.ok(),
            None => None,
        };
        loop {
            let blocked = *self.blocked_until.lock().unwrap_or_else(|p| p.into_inner());
            let held = match purpose {
                Purpose::Read => *self
                    .reads_held_until
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()),
                Purpose::Send => None,
            };
            match blocked.max(held) {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t).await,
                _ => break,
            }
        }
        if let Some(l) = &self.limiter {
            l.until_ready().await;
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let send = (purpose == Purpose::Send).then(|| {
            self.sends_in_flight.fetch_add(1, Ordering::Relaxed);
            SendInFlight(self.sends_in_flight.clone())
        });
        Turn {
            _permit: permit,
            _send: send,
        }
    }

    /// Count a throttling answer (429, 420) for the metrics.
    pub fn note_throttled(&self) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
    }

    pub fn counts(&self) -> RequestCounts {
        RequestCounts {
            requests: self.requests.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
        }
    }

    /// Hold every request back for `wait`, e.g. after a 429 or 420. When a
    /// send is in flight (it may be the one throttled, and the sender retries
    /// it when `wait` is over), reads also give way for a while after that.
    pub fn block_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let later = |slot: &Mutex<Option<Instant>>, until: Instant| {
            let mut guard = slot.lock().unwrap_or_else(|p| p.into_inner());
            if guard.is_none_or(|t| t < until) {
                *guard = Some(until);
            }
        };
        later(&self.blocked_until, until);
        if self.sends_in_flight.load(Ordering::Relaxed) > 0 {
            later(&self.reads_held_until, until + SEND_FIRST);
        }
    }
}

/// Our side of the marketplace's token bucket, kept a little inside it: our
/// clock and theirs never agree to the millisecond, so requests are spaced 10 %
/// wider than the documented interval and the burst leaves 20 % headroom.
pub fn client_quota(requests: u32, period: Duration) -> Quota {
    let requests = requests.max(1);
    let interval = (period / requests)
        .mul_f64(1.1)
        .max(Duration::from_millis(1));
    let burst = NonZeroU32::new((requests * 8 / 10).max(1)).expect("max(1) is non-zero");
    Quota::with_period(interval)
        .expect("a positive period")
        .allow_burst(burst)
}

/// How long a poll goes on starting chat reads once it has read one. What it
/// read is then stored (and drafted) and the rest follow at once in the next
/// poll. A request budget alone can mean many seconds from a slow or loaded
/// server (or from our own request rate limit), all of it lost if the daemon
/// stops before the poll ends.
pub const READ_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// When a poll stops starting chat reads ([`READ_TIME`], or a test's shorter
/// time, from when its reads began): never before it has read one, so every
/// poll moves at least one chat on.
#[derive(Debug, Clone, Copy)]
pub struct ReadDeadline(std::time::Instant);

impl ReadDeadline {
    pub fn after(read_time: std::time::Duration) -> ReadDeadline {
        ReadDeadline(std::time::Instant::now() + read_time)
    }

    /// Whether a poll that has read a chat already (`read_any`) may start another.
    pub fn may_start(self, read_any: bool) -> bool {
        !read_any || std::time::Instant::now() < self.0
    }
}

/// Requests one `poll` may still make, across list and history pages: a
/// server that keeps handing out page tokens ends the poll early instead of
/// spending the shop's limits on it.
pub struct Budget(std::sync::atomic::AtomicUsize);

impl Budget {
    pub fn new(requests: usize) -> Budget {
        Budget(requests.into())
    }

    /// Take one request; `false` when none is left.
    pub fn take(&self) -> bool {
        use std::sync::atomic::Ordering::SeqCst;
        self.0
            .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

/// Chats read only for their read receipts, in turn: those after `last`
/// (the one a poll checked last) first, then the rest from the start. A
/// budget that reaches only some of them reaches the others on later polls.
pub fn in_turn(mut chat_ids: Vec<String>, last: Option<&str>) -> Vec<String> {
    chat_ids.sort();
    chat_ids.dedup();
    let first = last.map_or(0, |last| chat_ids.partition_point(|id| id.as_str() <= last));
    chat_ids.rotate_left(first);
    chat_ids
}

/// A seconds value from a response header, if present and sane.
pub fn header_secs(response: &reqwest::Response, name: &str) -> Option<f64> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chats_take_turns_after_the_one_checked_last() {
        let ids = || vec!["c".to_string(), "a".into(), "d".into(), "b".into()];
        assert_eq!(in_turn(ids(), None), ["a", "b", "c", "d"]);
        assert_eq!(in_turn(ids(), Some("b")), ["c", "d", "a", "b"]);
        assert_eq!(in_turn(ids(), Some("bb")), ["c", "d", "a", "b"]);
        assert_eq!(in_turn(ids(), Some("d")), ["a", "b", "c", "d"]);
    }

    #[test]
    fn a_budget_gives_out_exactly_its_requests() {
        let budget = Budget::new(2);
        assert!(budget.take() && budget.take());
        assert!(!budget.take() && !budget.take());
    }

    #[tokio::test]
    async fn at_most_the_parallel_limit_is_in_flight() {
        let gate = std::sync::Arc::new(RequestGate::new(0, Duration::from_secs(1), Some(2)));
        let a = gate.turn(Purpose::Read).await;
        let _b = gate.turn(Purpose::Read).await;
        let g = gate.clone();
        let third = tokio::spawn(async move {
            let _t = g.turn(Purpose::Read).await;
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !third.is_finished(),
            "a third request waits for a free slot"
        );
        drop(a);
        tokio::time::timeout(Duration::from_secs(1), third)
            .await
            .expect("a freed slot lets the third go")
            .unwrap();
    }

    #[tokio::test]
    async fn a_block_holds_requests_back() {
        let gate = RequestGate::new(0, Duration::from_secs(1), None);
        gate.block_for(Duration::from_millis(120));
        let start = Instant::now();
        let _t = gate.turn(Purpose::Read).await;
        assert!(start.elapsed() >= Duration::from_millis(110));
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_throttled_send_reads_wait_until_its_retry_has_gone() {
        let gate = RequestGate::new(0, Duration::from_secs(1), None);
        let send = gate.turn(Purpose::Send).await;
        gate.block_for(Duration::from_secs(1));
        drop(send);
        let start = Instant::now();
        let retry = gate.turn(Purpose::Send).await;
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(1),
            "the send waits out the block"
        );
        drop(retry);
        let _read = gate.turn(Purpose::Read).await;
        assert_eq!(start.elapsed(), Duration::from_secs(1) + SEND_FIRST);

        // A read throttled while no send is in flight holds back nothing more.
        let gate = RequestGate::new(0, Duration::from_secs(1), None);
        let read = gate.turn(Purpose::Read).await;
        gate.block_for(Duration::from_secs(1));
        drop(read);
        let start = Instant::now();
        let _read = gate.turn(Purpose::Read).await;
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test]
    async fn reads_waiting_for_the_rate_limit_go_in_the_order_they_came() {
        use std::sync::Arc;
        // 10 requests a second: once the burst of 8 is spent, one every 110 ms.
        let gate = Arc::new(RequestGate::new(10, Duration::from_secs(1), None));
        for _ in 0..8 {
            drop(gate.turn(Purpose::Read).await);
        }
        let order = Arc::new(Mutex::new(Vec::new()));
        let first = tokio::spawn({
            let (gate, order) = (gate.clone(), order.clone());
            async move {
                let _turn = gate.turn(Purpose::Read).await;
                order.lock().unwrap().push("first");
            }
        });
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        // The runtime is busy until after the next slot frees, as a loaded
        // daemon's is: the first read has not woken when the second asks.
        std::thread::sleep(Duration::from_millis(250));
        let second = gate.turn(Purpose::Read).await;
        order.lock().unwrap().push("second");
        drop(second);
        first.await.unwrap();
        assert_eq!(*order.lock().unwrap(), ["first", "second"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_send_frees_the_gate_for_reads_at_once() {
        let gate = RequestGate::new(0, Duration::from_secs(1), Some(1));
        let busy = gate.turn(Purpose::Read).await;
        let mut send = Box::pin(gate.turn(Purpose::Send));
        assert!(
            tokio::time::timeout(Duration::from_millis(1), &mut send)
                .await
                .is_err(),
            "the send waits for the one slot"
        );
        drop(send);
        drop(busy);
        let _read = tokio::time::timeout(Duration::from_secs(5), gate.turn(Purpose::Read))
            .await
            .expect("nothing waits any more, so a read goes at once");
    }
}
