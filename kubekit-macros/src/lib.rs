//! Procedural macros for kubekit: [`#[kubekit::test]`](macro@test).
//!
//! Use them through `kubekit` (feature `testing`), which re-exports them and holds the runtime
//! support the generated code calls; this crate is not meant to be used on its own.

mod fixtures;
mod test_attr;

use proc_macro::TokenStream;

/// Turns an `async fn` into a test against the run's shared Kubernetes cluster, in a
/// namespace of its own, like `#[sqlx::test]` does for databases.
///
/// The generated `#[test]` builds a Tokio runtime, creates a namespace named after the test's
/// path (`module::path::test_name`), applies the fixtures into it, then calls the function
/// with what its parameters ask for. The namespace is deleted when the test passes and kept,
/// with the `kubectl` command to inspect it, when it fails.
///
/// ```no_run
/// use k8s_openapi::api::core::v1::ConfigMap;
/// use kubekit::testing::{NamespaceName, TestNamespace};
///
/// // A kubekit client whose default namespace is the test's.
/// #[kubekit::test]
/// async fn creates_a_config_map(client: kubekit::Client) -> kubekit::Result<()> {
///     client
///         .apply_manifest("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n")
///         .await?;
///     assert!(client.get_opt::<ConfigMap>("settings").await?.is_some());
///     Ok(())
/// }
///
/// // Fixtures are applied into the namespace before the body runs.
/// #[kubekit::test(fixtures("tests/fixtures/web-pod.yaml"))]
/// async fn sees_its_fixture(client: kubekit::Client, ns: NamespaceName) {
///     println!("testing in {ns}");
/// }
///
/// // The namespace guard itself (name, cluster, a kube client), on a multi-thread runtime.
/// #[kubekit::test(flavor = "multi_thread", worker_threads = 2)]
/// async fn raw(ns: &TestNamespace, kube: kube::Client) {
///     assert_eq!(kube.default_namespace(), ns.name());
/// }
/// # fn main() {}
/// ```
///
/// # Parameters
///
/// Each parameter's type picks what the test receives (any type implementing
/// `kubekit::testing::TestArg`), in any order and number:
///
/// | type | what it is |
/// | --- | --- |
/// | `kubekit::Client` | a client whose default namespace is the test's |
/// | `kube::Client` | a kube client whose default namespace is the test's |
/// | `&kubekit::testing::TestNamespace` | the namespace guard: name, cluster, client |
/// | `kubekit::testing::NamespaceName` | the namespace's name (derefs to `str`) |
/// | `&'static kubekit::testing::Cluster` | the shared cluster |
///
/// # Arguments
///
/// - `fixtures("path.yaml", ...)`: multi-document YAML files, relative to the crate's
///   directory (`CARGO_MANIFEST_DIR`), applied in order with
///   `kubekit::Client::apply_manifest` into the test's namespace (objects that name no
///   namespace land there). They are read and parsed at compile time: a missing file, YAML
///   that does not parse or a document without `apiVersion` or `kind` is a compile error at
///   the path. They are embedded with `include_str!`, so editing one rebuilds the test.
/// - `flavor = "current_thread"` (the default) or `flavor = "multi_thread"`: the Tokio
///   runtime the test runs on.
/// - `worker_threads = N`: the multi-thread runtime's worker count.
///
/// # Return type
///
/// `()` or `Result<(), E>` with `E: Debug`; an `Err` fails the test with the error (and
/// keeps the namespace). Other attributes (`#[ignore]`, `#[should_panic]`, docs, lints) are
/// kept on the generated test.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    test_attr::expand(args.into(), item.into()).into()
}
