//! Compile errors of `#[kubekit::test]` misuse: each `tests/ui/*.rs` must fail to compile with
//! the message in its `.stderr` (regenerate with `TRYBUILD=overwrite`).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
