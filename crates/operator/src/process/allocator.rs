//! How the operator's memory goes back to the system (glibc's allocator; elsewhere, nothing).
//!
//! glibc keeps one arena per allocating thread. [`limit_arenas`] asks for one arena (the
//! operator's threads mostly wait), and for buffers of 128 KiB and more straight from mmap so that
//! they go back to the system when freed. It is one call at start, before any other thread.
//!
//! An earlier version also ran `malloc_trim` once a second after bursts: it took a restarted
//! process from 38 to 33 MiB after the burst but did not move the peak (made of live data), so no
//! measured goal needed it and it is gone, with its `unsafe` loop.

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
