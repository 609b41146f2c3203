//! Decoding ahead of the consumer: items are decoded on worker threads, at most `ahead` items
//! past the one being consumed, and handed over in their original order.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

struct State<R> {
    /// The next item a worker takes.
    next: usize,
    /// The next item the consumer takes.
    consumed: usize,
    done: BTreeMap<usize, R>,
    stop: bool,
}

/// An in-order iterator over `decode(item)` for every item, decoded by background workers.
pub struct Prefetch<R> {
    shared: Arc<(Mutex<State<R>>, Condvar)>,
    total: usize,
    workers: Vec<JoinHandle<()>>,
}

/// Starts `workers` threads decoding `items` with `decode`, staying at most `ahead` items
/// ahead of the consumer.
pub fn prefetch<T, R, F>(items: Vec<T>, workers: usize, ahead: usize, decode: F) -> Prefetch<R>
where
    T: Send + Sync + 'static,
    R: Send + 'static,
    F: Fn(&T) -> R + Send + Sync + 'static,
{
    let total = items.len();
    let shared = Arc::new((
        Mutex::new(State {
            next: 0,
            consumed: 0,
            done: BTreeMap::new(),
            stop: false,
        }),
        Condvar::new(),
    ));
    let items = Arc::new(items);
    let decode = Arc::new(decode);
    let ahead = ahead.max(1);
    let handles = (0..workers.max(1))
        .map(|_| {
            let (shared, items, decode) = (shared.clone(), items.clone(), decode.clone());
            std::thread::spawn(move || {
                let (lock, ready) = &*shared;
                loop {
                    let index = {
                        let mut state = lock.lock().expect("prefetch lock");
                        while !state.stop
                            && state.next < total
                            && state.next >= state.consumed + ahead
                        {
                            state = ready.wait(state).expect("prefetch lock");
                        }
                        if state.stop || state.next >= total {
                            return;
                        }
                        state.next += 1;
                        state.next - 1
                    };
                    let result = decode(&items[index]);
                    lock.lock()
                        .expect("prefetch lock")
                        .done
                        .insert(index, result);
                    ready.notify_all();
                }
            })
        })
        .collect();
    Prefetch {
        shared,
        total,
        workers: handles,
    }
}

impl<R> Iterator for Prefetch<R> {
    type Item = R;

    fn next(&mut self) -> Option<R> {
        let (lock, ready) = &*self.shared;
        let mut state = lock.lock().expect("prefetch lock");
        if state.consumed >= self.total {
            return None;
        }
        loop {
            let consumed = state.consumed;
            if let Some(result) = state.done.remove(&consumed) {
                state.consumed += 1;
                ready.notify_all();
                return Some(result);
            }
            state = ready.wait(state).expect("prefetch lock");
        }
    }
}

impl<R> Drop for Prefetch<R> {
    fn drop(&mut self) {
        let (lock, ready) = &*self.shared;
        if let Ok(mut state) = lock.lock() {
            state.stop = true;
        }
        ready.notify_all();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[test]
    fn yields_in_order_and_decodes_ahead_in_parallel() {
        let active = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        let (a, m, s) = (active.clone(), most.clone(), started.clone());
        let items: Vec<usize> = (0..12).collect();
        let mut stream = prefetch(items, 2, 4, move |&i| {
            s.fetch_add(1, Ordering::SeqCst);
            let now = a.fetch_add(1, Ordering::SeqCst) + 1;
            m.fetch_max(now, Ordering::SeqCst);
            // Later items finish first: order must still hold.
            std::thread::sleep(Duration::from_millis(if i % 2 == 0 { 20 } else { 5 }));
            a.fetch_sub(1, Ordering::SeqCst);
            i * 10
        });
        assert_eq!(stream.next(), Some(0));
        std::thread::sleep(Duration::from_millis(100));
        // Consumed 1: workers may have started items up to 1 + 4, no further.
        let ahead = started.load(Ordering::SeqCst);
        assert!((2..=5).contains(&ahead), "{ahead} started");
        let rest: Vec<usize> = stream.collect();
        assert_eq!(rest, (1..12).map(|i| i * 10).collect::<Vec<_>>());
        assert_eq!(most.load(Ordering::SeqCst), 2, "two decodes ran at once");
    }

    #[test]
    fn dropping_early_stops_the_workers() {
        let stream = prefetch((0..1000).collect::<Vec<u32>>(), 2, 2, |&i| i);
        let first: Vec<u32> = stream.take(3).collect();
        assert_eq!(first, [0, 1, 2]);
    }
}
