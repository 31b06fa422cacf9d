//! How the operator's memory goes back to the system (glibc's allocator; elsewhere, nothing).
//!
//! glibc keeps what a process freed: one arena per allocating thread, and inside an arena every
//! free page below the top of the heap stays resident until `malloc_trim` hands it back. The
//! operator's bursts (the first lists of a restart, a thousand passes at once) free most of what
//! they allocated, and without a trim each burst's garbage stays under the next one. So:
//!
//! - [`limit_arenas`]: one arena (the operator's threads mostly wait), and buffers of 128 KiB and
//!   more straight from mmap so that they go back to the system when freed;
//! - [`return_freed_memory`]: once a second, when the allocator holds at least [`TRIM_AFTER`]
//!   more free bytes than after the last trim, `malloc_trim(0)` gives the free pages back. A
//!   quiet process pays one `mallinfo2` a second and no trim.

use std::time::Duration;

/// How much newly freed memory is worth a trim.
const TRIM_AFTER: usize = 1 << 20;
/// How often the allocator's free bytes are looked at.
const EVERY: Duration = Duration::from_secs(1);

/// At 1000 volumes one arena instead of one per thread took 4 MiB off the peak while creating and
/// 13 MiB off a restarted process's (3ec7992), and one instead of two about 2 MiB more
/// (BENCHMARKS.md). glibc's own `MALLOC_ARENA_MAX`, when set, still decides. Call it before any
/// other thread exists.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; it is called before any other thread exists.
    unsafe {
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

/// Whether to trim now: the allocator holds `free` bytes, and held `after_last_trim` right after
/// the last trim (free bytes that were handed back still count as free, so only growth says
/// that something new was freed).
fn should_trim(free: usize, after_last_trim: usize) -> bool {
    free >= after_last_trim.saturating_add(TRIM_AFTER)
}

/// The free bytes the allocator holds (in its arenas, not mmapped chunks), if it says.
fn free_bytes() -> Option<usize> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo2 only reads the allocator's counters.
        let info = unsafe { libc::mallinfo2() };
        Some(info.fordblks)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        None
    }
}

/// Hands free pages back to the system (glibc only).
fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases pages of free chunks; no live allocation moves.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Runs forever: see the module documentation. Returns at once where the allocator cannot say
/// how much it holds free.
pub async fn return_freed_memory() {
    let Some(mut baseline) = free_bytes() else { return };
    loop {
        tokio::time::sleep(EVERY).await;
        let Some(free) = free_bytes() else { return };
        if should_trim(free, baseline) {
            trim();
            baseline = free_bytes().unwrap_or(free);
        } else {
            // Freed memory taken up again: the next growth is measured from here.
            baseline = baseline.min(free);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_megabyte_more_free_than_after_the_last_trim_is_trimmed() {
        assert!(!should_trim(0, 0));
        assert!(!should_trim(TRIM_AFTER - 1, 0));
        assert!(should_trim(TRIM_AFTER, 0));
        // 30 MiB free that were already handed back: nothing new to trim.
        assert!(!should_trim(30 << 20, 30 << 20));
        assert!(should_trim((31 << 20) + 1, 30 << 20));
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn freeing_a_burst_of_small_allocations_shows_as_free_bytes() {
        let before = free_bytes().expect("glibc reports its free bytes");
        // Many small allocations (below the mmap threshold), each followed by a small one that
        // stays: the freed ones cannot merge into the top of the heap, which glibc gives back on
        // its own, so they stay as free bytes until a trim.
        let mut freed = Vec::with_capacity(4096);
        let mut kept = Vec::with_capacity(4096);
        for i in 0..4096u32 {
            freed.push(vec![(i % 251) as u8 + 1; 1024]);
            kept.push(vec![1u8; 16]);
        }
        let sum: u64 = freed.iter().map(|b| u64::from(b[0])).sum();
        drop(freed);
        let after = free_bytes().expect("glibc reports its free bytes");
        assert!(sum > 0 && kept.len() == 4096);
        assert!(after >= before + (2 << 20), "free bytes {before} -> {after}");
    }
}
