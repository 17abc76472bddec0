//! Compile-fail tests: what a user sees when a builder is missing a required member.
//!
//! Regenerate the expected output with
//! `TRYBUILD=overwrite cargo test -p kubekit --no-default-features --test ui`.

#[test]
fn missing_required_members_do_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
