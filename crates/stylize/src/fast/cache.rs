//! The CPU's cache sizes, read at run time rather than written down for
//! one machine (gemm-common's detection: Linux's sysfs, `cpuid`, macOS's
//! `sysctl`, with its defaults where none answers).

/// Bytes of the last-level cache: the L3, or the L2 where the CPU reports
/// no L3 (Apple's M-series).
pub(crate) fn last_level_bytes() -> usize {
    let caches = &*gemm_common::cache::CACHE_INFO;
    if caches[2].cache_bytes > 0 {
        caches[2].cache_bytes
    } else {
        caches[1].cache_bytes
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_last_level_cache_is_found() {
        let bytes = super::last_level_bytes();
        assert!((256 << 10..=4 << 30).contains(&bytes), "{bytes}");
    }
}
