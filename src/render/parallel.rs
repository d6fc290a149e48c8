//! A small work-sharing pool on scoped threads: the view model and the rendering use all cores.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Waits for a thread; a panic in it (a bug) goes on in the caller.
pub(super) fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// The number of threads to use.
pub(super) fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `items.iter().map(f).collect()`, on all cores: threads take runs of items in turn.
pub(super) fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    const RUN: usize = 64;
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let start = next.fetch_add(RUN, Ordering::Relaxed);
            let Some(run) = items.get(start..(start + RUN).min(items.len())) else {
                break;
            };
            if run.is_empty() {
                break;
            }
            done.push((start, run.iter().map(&f).collect::<Vec<R>>()));
        }
        done
    };
    let mut runs = std::thread::scope(|scope| {
        let others: Vec<_> = (1..threads()).map(|_| scope.spawn(work)).collect();
        let mut runs = work();
        runs.extend(others.into_iter().flat_map(join));
        runs
    });
    runs.sort_by_key(|(start, _)| *start);
    runs.into_iter().flat_map(|(_, run)| run).collect()
}
