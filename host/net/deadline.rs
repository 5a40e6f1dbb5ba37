//! Deadlines for outbound exchanges, watched by one host thread rather than
//! the async runtime's timer.
//!
//! Every exchange needs a timer (connect, first byte, total), and almost
//! none fires. A runtime timer costs more than its bookkeeping: registering
//! one can wake the thread that drives the runtime's I/O, and on a small
//! machine that handoff is several microseconds of a loopback request.
//! Here arming is an insert into a map under a lock and disarming a
//! removal; the watching thread sleeps until the earliest deadline and is
//! only woken when a new deadline is earlier than the time it will look
//! anyway. When nothing is armed it looks once a second for a while, then
//! sleeps until something is armed. If the thread cannot be started, each
//! alarm falls back to a runtime timer.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// How long the thread waits between looks while nothing is armed.
const IDLE_LOOK: Duration = Duration::from_secs(1);
/// Idle looks before the thread waits to be notified instead.
const IDLE_LOOKS: u32 = 30;

struct Watch {
    state: Mutex<State>,
    notify: Condvar,
}

#[derive(Default)]
struct State {
    /// Armed alarms by deadline (and a sequence number for uniqueness).
    armed: BTreeMap<(Instant, u64), Arc<Shared>>,
    /// When the thread looks next, if it is waiting with a timeout.
    next_look: Option<Instant>,
    seq: u64,
}

#[derive(Default)]
struct Shared {
    fired: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Shared {
    fn waker(&self) -> MutexGuard<'_, Option<Waker>> {
        self.waker.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Watch {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn run(&self) {
        let mut idle = 0u32;
        let mut state = self.state();
        loop {
            let now = Instant::now();
            let mut due = Vec::new();
            while let Some(entry) = state.armed.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                due.push(entry.remove());
            }
            if !due.is_empty() {
                // Woken outside the lock: a waker may run code of its own.
                drop(state);
                for shared in due {
                    shared.fired.store(true, Ordering::Release);
                    if let Some(waker) = shared.waker().take() {
                        waker.wake();
                    }
                }
                state = self.state();
                continue;
            }
            let wait = match state.armed.first_key_value() {
                Some(((at, _), _)) => {
                    idle = 0;
                    Some(at.saturating_duration_since(now))
                }
                None if idle < IDLE_LOOKS => {
                    idle += 1;
                    Some(IDLE_LOOK)
                }
                None => None,
            };
            state.next_look = wait.map(|w| now + w);
            state = match wait {
                Some(w) => match self.notify.wait_timeout(state, w) {
                    Ok((s, _)) => s,
                    Err(p) => p.into_inner().0,
                },
                None => match self.notify.wait(state) {
                    Ok(s) => s,
                    Err(p) => p.into_inner(),
                },
            };
        }
    }
}

/// The watching thread, started on first use; `None` if it could not be.
fn watch() -> Option<&'static Watch> {
    static WATCH: OnceLock<Option<&'static Watch>> = OnceLock::new();
    *WATCH.get_or_init(|| {
        let watch: &'static Watch = Box::leak(Box::new(Watch {
            state: Mutex::new(State::default()),
            notify: Condvar::new(),
        }));
        let started = std::thread::Builder::new()
            .name("ironclaw-net-deadlines".into())
            .spawn(move || watch.run());
        match started {
            Ok(_) => Some(watch),
            Err(e) => {
                tracing::warn!(error = %e, "deadline thread not started; outbound timeouts use the runtime timer");
                None
            }
        }
    })
}

/// One exchange's alarm: armed for one deadline at a time, ready once that
/// deadline has passed. Disarmed when dropped.
#[derive(Default)]
struct Alarm {
    armed: Option<Armed>,
}

enum Armed {
    Watched {
        key: (Instant, u64),
        shared: Arc<Shared>,
    },
    Runtime(Pin<Box<tokio::time::Sleep>>),
}

impl Alarm {
    /// Arms the alarm for `at`, replacing any earlier arming.
    fn set(&mut self, at: Instant) {
        self.disarm();
        let Some(watch) = watch() else {
            self.armed = Some(Armed::Runtime(Box::pin(tokio::time::sleep_until(
                at.into(),
            ))));
            return;
        };
        let shared = Arc::new(Shared::default());
        let mut state = watch.state();
        state.seq += 1;
        let key = (at, state.seq);
        state.armed.insert(key, shared.clone());
        let wake = state.next_look.is_none_or(|look| at < look);
        if wake {
            state.next_look = Some(at);
        }
        drop(state);
        if wake {
            watch.notify.notify_one();
        }
        self.armed = Some(Armed::Watched { key, shared });
    }

    /// Ready once the armed deadline has passed; never ready unarmed.
    fn poll_fired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.armed {
            None => Poll::Pending,
            Some(Armed::Runtime(sleep)) => sleep.as_mut().poll(cx),
            Some(Armed::Watched { shared, .. }) => {
                if shared.fired.load(Ordering::Acquire) {
                    return Poll::Ready(());
                }
                {
                    let mut waker = shared.waker();
                    match waker.as_ref() {
                        Some(w) if w.will_wake(cx.waker()) => {}
                        _ => *waker = Some(cx.waker().clone()),
                    }
                }
                // It may have fired before the waker was in place.
                if shared.fired.load(Ordering::Acquire) {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            }
        }
    }

    fn disarm(&mut self) {
        if let Some(Armed::Watched { key, shared }) = self.armed.take()
            && !shared.fired.load(Ordering::Acquire)
            && let Some(watch) = watch()
        {
            watch.state().armed.remove(&key);
        }
    }
}

impl Drop for Alarm {
    fn drop(&mut self) {
        self.disarm();
    }
}

/// Which limit ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Limit {
    /// The whole exchange's deadline.
    Total,
    Connect,
    FirstByte,
}

/// One exchange's alarm and the total deadline it never passes.
///
/// The alarm only moves later, and only once it has gone off: it is set,
/// when a step first has to wait, for that step's limit; a later step whose
/// own limit is further away leaves it where it is and, if it goes off
/// first, moves it on and keeps waiting. A fast exchange arms one alarm
/// once and disarms it at the end.
pub(super) struct Clock {
    total: Instant,
    alarm: Alarm,
    /// When the alarm is set for, once it is.
    armed: Option<Instant>,
}

impl Clock {
    pub fn new(total: Instant) -> Clock {
        Clock {
            total,
            alarm: Alarm::default(),
            armed: None,
        }
    }

    /// `fut`, unless the step's own limit (`Some((which, how long))` from
    /// now) or the total deadline, whichever is earlier, passes first.
    pub async fn run<F: Future>(
        &mut self,
        step: Option<(Limit, Duration)>,
        fut: F,
    ) -> Result<F::Output, Limit> {
        let (at, limit) = match step {
            Some((limit, within)) => match Instant::now().checked_add(within) {
                Some(at) if at < self.total => (at, limit),
                _ => (self.total, Limit::Total),
            },
            None => (self.total, Limit::Total),
        };
        let mut fut = std::pin::pin!(fut);
        std::future::poll_fn(|cx| {
            if let Poll::Ready(out) = fut.as_mut().poll(cx) {
                return Poll::Ready(Ok(out));
            }
            if self.armed.is_none_or(|armed| armed > at) {
                self.alarm.set(at);
                self.armed = Some(at);
            }
            while self.alarm.poll_fired(cx).is_ready() {
                if Instant::now() >= at {
                    return Poll::Ready(Err(limit));
                }
                // An earlier step's limit: this step has longer.
                self.alarm.set(at);
                self.armed = Some(at);
            }
            Poll::Pending
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn fired(alarm: &mut Alarm) {
        std::future::poll_fn(|cx| alarm.poll_fired(cx)).await
    }

    #[tokio::test]
    async fn a_step_ends_at_its_own_limit_or_the_total() {
        let never = std::future::pending::<()>;
        let mut clock = Clock::new(Instant::now() + Duration::from_secs(5));
        let step = Some((Limit::Connect, Duration::from_millis(30)));
        assert_eq!(clock.run(step, never()).await, Err(Limit::Connect));
        let mut clock = Clock::new(Instant::now() + Duration::from_millis(30));
        let step = Some((Limit::FirstByte, Duration::from_secs(5)));
        assert_eq!(clock.run(step, never()).await, Err(Limit::Total));
        assert_eq!(clock.run(None, async { 7 }).await, Ok(7));
    }

    #[tokio::test]
    async fn an_earlier_steps_alarm_does_not_cut_a_later_step_short() {
        let mut clock = Clock::new(Instant::now() + Duration::from_secs(5));
        let short = Some((Limit::Connect, Duration::from_millis(30)));
        let wait = |ms| tokio::time::sleep(Duration::from_millis(ms));
        // Waits, so the alarm is armed for 30 ms from now.
        assert_eq!(clock.run(short, wait(5)).await, Ok(()));
        let long = Some((Limit::FirstByte, Duration::from_millis(500)));
        assert_eq!(clock.run(long, wait(100)).await, Ok(()));
        let start = Instant::now();
        assert_eq!(
            clock.run(long, std::future::pending::<()>()).await,
            Err(Limit::FirstByte)
        );
        assert!(start.elapsed() >= Duration::from_millis(500));
    }

    #[tokio::test]
    async fn fires_at_the_deadline_not_before() {
        let start = Instant::now();
        let mut alarm = Alarm::default();
        alarm.set(start + Duration::from_millis(50));
        fired(&mut alarm).await;
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(50), "{took:?}");
        assert!(took < Duration::from_secs(1), "{took:?}");
    }

    #[tokio::test]
    async fn an_earlier_deadline_wakes_the_watcher() {
        // A far deadline first, so the watcher sleeps long; the near one
        // must still fire on time.
        let mut far = Alarm::default();
        far.set(Instant::now() + Duration::from_secs(30));
        let start = Instant::now();
        let mut near = Alarm::default();
        near.set(start + Duration::from_millis(30));
        fired(&mut near).await;
        assert!(start.elapsed() < Duration::from_secs(1));
        let waker = std::task::Waker::noop();
        assert!(far.poll_fired(&mut Context::from_waker(waker)).is_pending());
    }

    #[tokio::test]
    async fn rearming_moves_the_deadline_and_drop_disarms() {
        let start = Instant::now();
        let mut alarm = Alarm::default();
        alarm.set(start + Duration::from_millis(20));
        alarm.set(start + Duration::from_millis(80));
        fired(&mut alarm).await;
        assert!(start.elapsed() >= Duration::from_millis(80));
        let mut dropped = Alarm::default();
        dropped.set(Instant::now() + Duration::from_secs(60));
        drop(dropped);
        let w = watch().map(|w| w.state().armed.len());
        assert!(w.is_none_or(|n| n < 1000));
    }
}
