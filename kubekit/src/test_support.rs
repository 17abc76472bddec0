//! Helpers shared by the unit tests.

/// `PROPTEST_CASES` from the environment for a longer property-test run, else `default`.
pub(crate) fn proptest_cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(default)
}
