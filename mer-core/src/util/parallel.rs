//! Work spread over scoped threads.

/// Runs `work(&state, i)` for every `i` in `0..count` on `workers` threads and returns the
/// results in item order. Item `i` goes to thread `i % workers`, so long and short items spread
/// evenly; each thread gets its own `state()` (a handle on weights, say), made on the calling
/// thread.
///
/// With more than one worker, each runs its items inside a rayon pool of its own single thread:
/// the items are the parallelism, so the CPU kernels' rayon loops (which otherwise split every
/// operation over the global pool) stay on the worker's core instead of all workers queueing
/// for the same threads (MiniLM on MELD: 190 → 290 utterances/s on 2 cores).
pub fn round_robin<S: Send, R: Send>(
    count: usize,
    workers: usize,
    mut state: impl FnMut() -> S,
    work: impl Fn(&S, usize) -> R + Sync,
) -> Vec<R> {
    let workers = workers.clamp(1, count.max(1));
    if workers == 1 {
        let state = state();
        return (0..count).map(|i| work(&state, i)).collect();
    }
    let mut out: Vec<Option<R>> = (0..count).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let (state, work) = (state(), &work);
                scope.spawn(move || {
                    let own = rayon::ThreadPoolBuilder::new().num_threads(1).build();
                    let items = move || {
                        (w..count)
                            .step_by(workers)
                            .map(|i| (i, work(&state, i)))
                            .collect::<Vec<_>>()
                    };
                    match own {
                        Ok(pool) => pool.install(items),
                        // No thread to spare: the items still run, sharing the global pool.
                        Err(_) => items(),
                    }
                })
            })
            .collect();
        for handle in handles {
            for (i, result) in handle.join().expect("a worker thread") {
                out[i] = Some(result);
            }
        }
    });
    out.into_iter()
        .map(|r| r.expect("every item ran"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_item_order_from_every_thread() {
        let threads = std::sync::Mutex::new(std::collections::HashSet::new());
        let mut handed_out = 0;
        let out = round_robin(
            10,
            3,
            || {
                handed_out += 1;
                handed_out
            },
            |_, i| {
                threads.lock().unwrap().insert(std::thread::current().id());
                assert_eq!(
                    rayon::current_num_threads(),
                    1,
                    "a worker's rayon loops stay on it"
                );
                i * i
            },
        );
        assert_eq!(handed_out, 3, "one state per thread");
        assert_eq!(out, (0..10).map(|i| i * i).collect::<Vec<_>>());
        assert_eq!(threads.lock().unwrap().len(), 3);
        assert_eq!(round_robin(0, 4, || (), |_, i| i), Vec::<usize>::new());
    }
}
