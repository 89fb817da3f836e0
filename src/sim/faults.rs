//! Faults a test switches on while the simulator serves: throttling, server errors, revoked
//! tokens, expired sessions, slowness, short pages and broken connections. Every switch is shared with the running
//! server, so a test can flip it between two requests of the client under test.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Faults injected into the simulator's responses; see [`super::Simulator::faults`].
#[derive(Debug, Default)]
pub struct Faults {
    forced_429: AtomicU32,
    failures: Mutex<Vec<PathFault>>,
    drops: Mutex<Vec<PathFault>>,
    delay_ms: AtomicU64,
    truncate: AtomicBool,
    token_epoch: AtomicU64,
    ps_session_epoch: AtomicU64,
}

/// One `fail_path` or `drop_connections` rule.
#[derive(Debug)]
struct PathFault {
    prefix: String,
    status: u16,
    remaining: u32,
}

/// `u32::MAX` as a count of times means "for ever".
const FOREVER: u32 = u32::MAX;

impl Faults {
    /// The next `n` API requests (under `/api/config/v1`) are answered with 429, `Retry-After: 1`
    /// and the `X-RateLimit-*` headers, whatever the rate limiter says. Password Safe documents
    /// no throttling, so its requests are never forced; `fail_path` with 429 still can.
    pub fn force_429(&self, n: u32) {
        self.forced_429.store(n, Ordering::SeqCst);
    }

    /// Requests whose path (the full path, e.g. `/api/config/v1/jump-group`) starts with
    /// `prefix` are answered with `status` and a `{"message": ...}` body, `times` times
    /// (`u32::MAX`: until the simulator is dropped). Rules added earlier match first. Password
    /// Safe paths (`/BeyondTrust/api/public/v3/...`) match ignoring case, as the API does, and
    /// get a JSON string body, as its errors are.
    pub fn fail_path(&self, prefix: &str, status: u16, times: u32) {
        lock(&self.failures).push(PathFault {
            prefix: prefix.to_owned(),
            status,
            remaining: times,
        });
    }

    /// Every token issued so far becomes invalid, as when the API account's secret is
    /// regenerated. Tokens issued afterwards work.
    pub fn revoke_tokens(&self) {
        self.token_epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Every Password Safe session ends, as when the appliance restarts or its idle timeout
    /// passes: the next request with an old session cookie gets 401 `"User not authenticated"`.
    /// Sessions signed in afterwards work.
    pub fn expire_ps_sessions(&self) {
        self.ps_session_epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Every response is delayed by `ms` milliseconds (0: no delay).
    pub fn set_delay(&self, ms: u64) {
        self.delay_ms.store(ms, Ordering::SeqCst);
    }

    /// While on, every non-empty page of a paginated list lacks its last row, while
    /// `X-BT-Pagination-Total` and `Link` still announce the full list. On Password Safe, a
    /// `{TotalCount, Data}` page lacks its last row while `TotalCount` counts it, and a full
    /// `GET ManagedAccounts` page (as many rows as `limit`) lacks its last row.
    pub fn truncate_pages(&self, on: bool) {
        self.truncate.store(on, Ordering::SeqCst);
    }

    /// The next `times` requests whose path starts with `prefix` get a 200 status line and
    /// headers, then part of a body and an aborted connection: the client sees a transport
    /// error, not an HTTP status. Password Safe paths match ignoring case.
    pub fn drop_connections(&self, prefix: &str, times: u32) {
        lock(&self.drops).push(PathFault {
            prefix: prefix.to_owned(),
            status: 200,
            remaining: times,
        });
    }

    /// Lifts every `fail_path` and `drop_connections` rule, spent or not: the appliance
    /// recovers.
    pub fn clear_path_faults(&self) {
        lock(&self.failures).clear();
        lock(&self.drops).clear();
    }

    /// Consumes one forced 429, if any are left.
    pub(crate) fn take_429(&self) -> bool {
        self.forced_429
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    /// The status a `fail_path` rule imposes on `path`, consuming one of its times;
    /// `fold_case` compares the prefix ignoring ASCII case.
    pub(crate) fn take_failure(&self, path: &str, fold_case: bool) -> Option<u16> {
        take(&mut lock(&self.failures), path, fold_case)
    }

    /// Whether a `drop_connections` rule applies to `path`, consuming one of its times.
    pub(crate) fn take_drop(&self, path: &str, fold_case: bool) -> bool {
        take(&mut lock(&self.drops), path, fold_case).is_some()
    }

    pub(crate) fn delay_ms(&self) -> u64 {
        self.delay_ms.load(Ordering::SeqCst)
    }

    pub(crate) fn truncating(&self) -> bool {
        self.truncate.load(Ordering::SeqCst)
    }

    /// Tokens remember the epoch they were issued in; `revoke_tokens` starts a new one.
    pub(crate) fn token_epoch(&self) -> u64 {
        self.token_epoch.load(Ordering::SeqCst)
    }

    /// Password Safe sessions remember the epoch they were opened in; `expire_ps_sessions`
    /// starts a new one.
    pub(crate) fn ps_session_epoch(&self) -> u64 {
        self.ps_session_epoch.load(Ordering::SeqCst)
    }
}

fn take(rules: &mut Vec<PathFault>, path: &str, fold_case: bool) -> Option<u16> {
    let matches = |prefix: &str| {
        if fold_case {
            path.get(..prefix.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
        } else {
            path.starts_with(prefix)
        }
    };
    let index = rules
        .iter()
        .position(|r| r.remaining > 0 && matches(&r.prefix))?;
    let rule = &mut rules[index];
    let status = rule.status;
    if rule.remaining != FOREVER {
        rule.remaining -= 1;
    }
    if rule.remaining == 0 {
        rules.remove(index);
    }
    Some(status)
}

/// Locks a mutex; a panic in another request's handler leaves the data consistent enough for a
/// simulator, so poisoning is ignored.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_faults_count_down_and_match_by_prefix() {
        let f = Faults::default();
        f.fail_path("/api/config/v1/jump-group", 500, 2);
        assert_eq!(
            f.take_failure("/api/config/v1/jump-item/shell-jump", false),
            None
        );
        assert_eq!(
            f.take_failure("/api/config/v1/jump-group/4/user", false),
            Some(500)
        );
        assert_eq!(f.take_failure("/api/config/v1/JUMP-group", false), None);
        assert_eq!(f.take_failure("/api/config/v1/JUMP-group", true), Some(500));
        assert_eq!(f.take_failure("/api/config/v1/jump-group", false), None);
    }

    #[test]
    fn a_permanent_fault_never_runs_out() {
        let f = Faults::default();
        f.fail_path("/", 503, u32::MAX);
        for _ in 0..1000 {
            assert_eq!(f.take_failure("/api/config/v1/user", false), Some(503));
        }
    }

    #[test]
    fn cleared_faults_stop_at_once() {
        let f = Faults::default();
        f.fail_path("/", 503, u32::MAX);
        f.drop_connections("/", u32::MAX);
        f.clear_path_faults();
        assert_eq!(f.take_failure("/api/config/v1/user", false), None);
        assert!(!f.take_drop("/api/config/v1/user", false));
    }

    #[test]
    fn forced_429s_are_consumed_one_by_one() {
        let f = Faults::default();
        f.force_429(2);
        assert!(f.take_429());
        assert!(f.take_429());
        assert!(!f.take_429());
    }
}
