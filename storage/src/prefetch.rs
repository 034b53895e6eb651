//! Prefetching: how a walk over scattered memory overlaps its cache misses.
//!
//! A Hamming search is bound by memory latency: a query probes hundreds of buckets scattered over the
//! tables, and each directory entry and each run is a likely miss; a sparse model's scatter reads one row
//! per seen item. Rather than wait on each in turn, such a walk goes through its list with [`pipelined`],
//! which asks the CPU for the item [`AHEAD`] places on before reading the current one, so that up to that
//! many misses are in flight at once. Prefetches are hints: they never change what is read.

/// Items are prefetched this many ahead of their reading.
const AHEAD: usize = 8;

/// Asks the CPU to start loading the cache line of `item` (a hint: no effect on results).
#[inline(always)]
pub fn prefetch<T>(item: Option<&T>) {
    #[cfg(target_arch = "x86_64")]
    if let Some(item) = item {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch reads nothing architecturally and never faults; the pointer comes from a
        // reference, and SSE is part of the x86-64 baseline.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(item as *const T as *const i8) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = item;
}

/// Calls `read` on each of `items` in order, after calling `ahead` (which should prefetch what `read`
/// will touch) on the item [`AHEAD`] places further on, and on the first [`AHEAD`] items up front.
#[inline(always)]
pub fn pipelined<T>(items: &[T], mut ahead: impl FnMut(&T), mut read: impl FnMut(&T)) {
    for item in items.iter().take(AHEAD) {
        ahead(item);
    }
    for (i, item) in items.iter().enumerate() {
        if let Some(next) = items.get(i + AHEAD) {
            ahead(next);
        }
        read(item);
    }
}
