//! Guards against a repair loop: if something undoes netd's repairs as fast
//! as it makes them (another program fighting over the same object), netd
//! slows down instead of spinning a core.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub const WINDOW: Duration = Duration::from_secs(10);
pub const MAX_REPAIRS: usize = 50;
pub const PAUSE: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct Throttle {
    recent: VecDeque<Instant>,
}

impl Throttle {
    /// Records a repair at `now`; returns how long to wait before the next.
    pub fn record(&mut self, now: Instant) -> Option<Duration> {
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) > WINDOW)
        {
            self.recent.pop_front();
        }
        self.recent.push_back(now);
        (self.recent.len() > MAX_REPAIRS).then_some(PAUSE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_slowed_and_a_quiet_period_resets() {
        let mut t = Throttle::default();
        let start = Instant::now();
        for i in 0..MAX_REPAIRS {
            assert_eq!(t.record(start + Duration::from_millis(i as u64)), None);
        }
        assert_eq!(t.record(start + Duration::from_millis(60)), Some(PAUSE));
        assert_eq!(t.record(start + WINDOW * 2), None);
    }
}
