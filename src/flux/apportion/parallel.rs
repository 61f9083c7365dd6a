//! Two pieces of independent work at once, for large tables: the benchmark machine has two
//! cores. Every caller combines the two results in a fixed order, so the answer never depends on
//! whether the pieces ran in parallel, nor on which finished first.

use std::sync::Mutex;

/// Below this many cells, a second thread costs more than it saves.
pub(crate) const PARALLEL_CELLS: usize = 40_000;

/// Runs `a` and `b`, on two threads when `parallel` is true, and returns both results. Should
/// the system refuse a thread, `a` runs on the calling thread after `b`. A panic in either
/// propagates as it would in sequential code.
pub(crate) fn join<RA, RB>(
    parallel: bool,
    a: impl FnOnce() -> RA + Send,
    b: impl FnOnce() -> RB,
) -> (RA, RB)
where
    RA: Send,
{
    if !parallel {
        let ra = a();
        return (ra, b());
    }
    let slot = Mutex::new(Some(a));
    let take = || slot.lock().map_or(None, |mut s| s.take());
    std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new().spawn_scoped(scope, || take().map(|a| a()));
        let rb = b();
        let ra = match spawned.map(|handle| handle.join()) {
            Ok(Ok(Some(ra))) => Some(ra),
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Ok(Ok(None)) | Err(_) => None,
        };
        let ra = match ra {
            Some(ra) => ra,
            None => match take() {
                Some(a) => a(),
                None => unreachable_work(),
            },
        };
        (ra, rb)
    })
}

/// The work item is taken exactly once: by the thread that ran it, or here when no thread ran.
#[cold]
fn unreachable_work() -> ! {
    unreachable!("la tâche parallèle n'a été exécutée par aucun fil")
}

#[cfg(test)]
mod tests {
    use super::join;

    #[test]
    fn both_results_come_back_in_order_either_way() {
        for parallel in [false, true] {
            let data: Vec<u64> = (1..=1_000).collect();
            let (left, right) = join(
                parallel,
                || data[..500].iter().sum::<u64>(),
                || data[500..].iter().sum::<u64>(),
            );
            assert_eq!((left, right), (125_250, 375_250));
        }
    }

    #[test]
    fn a_panic_in_the_helper_thread_reaches_the_caller() {
        let outcome =
            std::panic::catch_unwind(|| join(true, || -> u8 { panic!("échec voulu") }, || 1u8));
        assert!(outcome.is_err());
    }
}
