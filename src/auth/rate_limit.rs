//! Login-attempt limiter: after `max_failures` failed logins within a sliding window, further
//! attempts on the same key are refused until the oldest failure leaves the window. In memory
//! and per process: it slows down password guessing, it is not an audit record.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// Above this many keys, a write first drops the keys whose failures have all expired.
const PRUNE_THRESHOLD: usize = 10_000;
/// Hard bound on memory: if a flood of distinct keys is still live after pruning, the keys
/// whose latest failure is oldest are forgotten, down to 90 % of this bound. Losing a counter lets an attacker try a few
/// more passwords; unbounded memory would let them stop the server.
const MAX_KEYS: usize = 100_000;

pub struct LoginLimiter {
    max_failures: usize,
    window_secs: i64,
    state: Mutex<State>,
}

struct State {
    /// Per key, the times of its latest failures, oldest first, at most `max_failures` of them
    /// (older ones can no longer change the outcome).
    failures: HashMap<String, Vec<i64>>,
    /// Map size that triggers the next pruning; doubled after a pruning that left many live
    /// keys, so that pruning costs amortised O(1) per write.
    prune_at: usize,
}

impl LoginLimiter {
    /// `key` is chosen by the caller (e.g. the normalised e-mail); a zero `max_failures` or
    /// `window_secs` is raised to 1 so that the limiter never blocks everyone nor no one by
    /// accident.
    pub fn new(max_failures: u32, window_secs: i64) -> Self {
        Self {
            max_failures: usize::try_from(max_failures.max(1)).unwrap_or(usize::MAX),
            window_secs: window_secs.max(1),
            state: Mutex::new(State {
                failures: HashMap::new(),
                prune_at: PRUNE_THRESHOLD,
            }),
        }
    }

    /// `Err(seconds to wait)` when `key` already has `max_failures` failures within the window
    /// ending at `now`; call it before checking the password, so that a blocked attacker gets
    /// no answer about the password at all.
    pub fn check(&self, key: &str, now: i64) -> Result<(), i64> {
        let state = self.lock();
        let Some(times) = state.failures.get(key) else {
            return Ok(());
        };
        let recent: Vec<i64> = times
            .iter()
            .copied()
            .filter(|&t| self.is_live(t, now))
            .collect();
        if recent.len() < self.max_failures {
            return Ok(());
        }
        // Unblocked once enough failures have left the window to fall below the maximum.
        let freeing = recent[recent.len() - self.max_failures];
        Err((freeing.saturating_add(self.window_secs) - now).max(1))
    }

    pub fn record_failure(&self, key: &str, now: i64) {
        let mut state = self.lock();
        let times = state.failures.entry(key.to_owned()).or_default();
        times.retain(|&t| self.is_live(t, now));
        times.push(now);
        if times.len() > self.max_failures {
            times.drain(..times.len() - self.max_failures);
        }
        if state.failures.len() > state.prune_at {
            self.prune(&mut state, now);
        }
    }

    /// A successful login forgets the key's failures.
    pub fn record_success(&self, key: &str) {
        self.lock().failures.remove(key);
    }

    fn is_live(&self, failure: i64, now: i64) -> bool {
        failure.saturating_add(self.window_secs) > now
    }

    fn prune(&self, state: &mut State, now: i64) {
        state
            .failures
            .retain(|_, times| times.last().is_some_and(|&t| self.is_live(t, now)));
        // Evict down to 90 % of the bound so that the next eviction is at least 10 % of the
        // bound away: pruning stays amortised O(1) per write even under a flood.
        let target = MAX_KEYS / 10 * 9;
        if state.failures.len() > target {
            let mut latest: Vec<(i64, String)> = state
                .failures
                .iter()
                .map(|(key, times)| (times.last().copied().unwrap_or(i64::MIN), key.clone()))
                .collect();
            let evicted = latest.len() - target;
            latest.select_nth_unstable(evicted - 1);
            for (_, key) in &latest[..evicted] {
                state.failures.remove(key);
            }
        }
        state.prune_at = (state.failures.len() * 2).clamp(PRUNE_THRESHOLD, MAX_KEYS);
    }

    /// The state is a cache of counters, valid even if a holder panicked: recover it rather
    /// than turn every later login into a panic.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: i64 = 1_750_000_000;

    fn limiter() -> LoginLimiter {
        LoginLimiter::new(5, 900)
    }

    fn key_count(limiter: &LoginLimiter) -> usize {
        limiter.lock().failures.len()
    }

    #[test]
    fn fifth_failure_blocks_until_the_first_leaves_the_window() {
        let limiter = limiter();
        for i in 0..5 {
            assert_eq!(
                limiter.check("a@exemple.fr", START + i),
                Ok(()),
                "attempt {i}"
            );
            limiter.record_failure("a@exemple.fr", START + i);
        }
        assert_eq!(limiter.check("a@exemple.fr", START + 10), Err(890));
        assert_eq!(limiter.check("a@exemple.fr", START + 899), Err(1));
        assert_eq!(limiter.check("a@exemple.fr", START + 900), Ok(()));
        // One more failure now: the four failures still in the window plus this one block again,
        // until the second original failure (START + 1) expires.
        limiter.record_failure("a@exemple.fr", START + 900);
        assert_eq!(limiter.check("a@exemple.fr", START + 900), Err(1));
        assert_eq!(limiter.check("a@exemple.fr", START + 901), Ok(()));
    }

    #[test]
    fn four_failures_do_not_block() {
        let limiter = limiter();
        for i in 0..4 {
            limiter.record_failure("a@exemple.fr", START + i);
        }
        assert_eq!(limiter.check("a@exemple.fr", START + 5), Ok(()));
    }

    #[test]
    fn success_resets_the_key() {
        let limiter = limiter();
        for i in 0..5 {
            limiter.record_failure("a@exemple.fr", START + i);
        }
        assert!(limiter.check("a@exemple.fr", START + 5).is_err());
        limiter.record_success("a@exemple.fr");
        assert_eq!(limiter.check("a@exemple.fr", START + 5), Ok(()));
        limiter.record_failure("a@exemple.fr", START + 6);
        assert_eq!(limiter.check("a@exemple.fr", START + 6), Ok(()));
    }

    #[test]
    fn keys_are_independent() {
        let limiter = limiter();
        for i in 0..5 {
            limiter.record_failure("a@exemple.fr", START + i);
        }
        limiter.record_failure("b@exemple.fr", START);
        assert!(limiter.check("a@exemple.fr", START + 5).is_err());
        assert_eq!(limiter.check("b@exemple.fr", START + 5), Ok(()));
        assert_eq!(limiter.check("c@exemple.fr", START + 5), Ok(()));
    }

    #[test]
    fn expired_keys_are_pruned_on_write() {
        let limiter = limiter();
        for i in 0..PRUNE_THRESHOLD {
            limiter.record_failure(&format!("k{i}"), START);
        }
        assert_eq!(key_count(&limiter), PRUNE_THRESHOLD);
        // The key that crosses the threshold triggers the pruning; every earlier one expired.
        limiter.record_failure("late", START + 900);
        assert_eq!(key_count(&limiter), 1);
        assert!(limiter.lock().failures.contains_key("late"));
    }

    #[test]
    fn live_keys_are_bounded() {
        let limiter = limiter();
        for i in 0..MAX_KEYS + 100 {
            let at = START + i64::try_from(i / 1000).unwrap();
            limiter.record_failure(&format!("k{i}"), at);
        }
        assert!(key_count(&limiter) <= MAX_KEYS, "{}", key_count(&limiter));
        // The most recent keys are the ones kept.
        assert!(
            limiter
                .lock()
                .failures
                .contains_key(&format!("k{}", MAX_KEYS + 99))
        );
        assert!(!limiter.lock().failures.contains_key("k0"));
    }
}
