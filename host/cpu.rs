//! CPU-bound work called from async code (compiling a component, chunking
//! and embedding a document).

/// Runs `f` in place. On a multi-thread tokio runtime the worker is marked
/// as blocking first, so other tasks move to another worker; elsewhere
/// (current-thread runtime, no runtime) `block_in_place` would panic, so `f`
/// simply runs.
pub fn run_cpu_bound<R>(f: impl FnOnce() -> R) -> R {
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi_thread {
        tokio::task::block_in_place(f)
    } else {
        f()
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test(flavor = "current_thread")]
    async fn runs_on_a_current_thread_runtime() {
        assert_eq!(super::run_cpu_bound(|| 2 + 2), 4);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn runs_on_a_multi_thread_runtime() {
        assert_eq!(super::run_cpu_bound(|| 2 + 2), 4);
    }
}
