//! Integration tests against a real cluster (feature `testing`): [`#[kubekit::test]`](crate::test)
//! and everything of [`kubekit_testing`] (the run's shared cluster, a namespace per test).
//!
//! ```no_run
//! use k8s_openapi::api::core::v1::Pod;
//! use kubekit::testing::NamespaceName;
//!
//! #[kubekit::test(fixtures("tests/fixtures/macro-test.yaml"))]
//! async fn web_pod_is_there(client: kubekit::Client, ns: NamespaceName) -> kubekit::Result<()> {
//!     let pod: Pod = client.get("web").await?;
//!     assert_eq!(pod.metadata.namespace.as_deref(), Some(&*ns));
//!     Ok(())
//! }
//! # fn main() {}
//! ```
//!
//! What a test's parameters can be is the set of types implementing [`TestArg`].

use std::{fmt, ops::Deref};

pub use kubekit_testing::*;

pub use crate::report::{
    NamespaceReport, ReportOptions, component_errors, namespace_report, report_path,
};
pub use crate::snapshot::{redacted, snapshot_yaml, snapshot_yaml_all};

/// Faults on demand: a container killed, a pod deleted, a pod unready and ready again.
pub mod faults {
    pub use crate::faults::*;
}

/// kubekit's [`Client`](crate::Client) for the run's cluster: the one way kubekit builds
/// clients ([`Client::from_config`](crate::Client::from_config), `TCP_NODELAY`).
///
/// ```no_run
/// use kubekit::testing::{Cluster, ClusterExt};
/// # async fn demo() -> kubekit::Result<()> {
/// let client = Cluster::shared().await?.client()?;
/// # Ok(()) }
/// ```
pub trait ClusterExt {
    /// A client of the cluster, its default namespace the kubeconfig's.
    ///
    /// # Errors
    ///
    /// When the cluster's configuration cannot make a client.
    fn client(&self) -> crate::Result<crate::Client>;
}

impl ClusterExt for Cluster {
    fn client(&self) -> crate::Result<crate::Client> {
        crate::Client::from_config(self.config().clone())
    }
}

/// kubekit's [`Client`](crate::Client) bound to a test's namespace.
///
/// ```no_run
/// use kubekit::testing::TestNamespaceExt;
/// # async fn demo() -> kubekit::Result<()> {
/// let ns = kubekit::testing::test_namespace!().await?;
/// let client = ns.client()?;
/// assert_eq!(client.namespace(), ns.name());
/// # Ok(()) }
/// ```
pub trait TestNamespaceExt {
    /// A client of the namespace's cluster whose default namespace is the test's (and whose
    /// [`kube()`](crate::Client::kube) client's is too).
    ///
    /// # Errors
    ///
    /// When the cluster's configuration cannot make a client.
    fn client(&self) -> crate::Result<crate::Client>;

    /// A client with an application's rights in the test's namespace only (a ServiceAccount
    /// bound to the built-in `edit` role there; see
    /// [`TestNamespace::restricted_config`]): what least-privilege code runs with.
    ///
    /// ```no_run
    /// use kubekit::testing::TestNamespaceExt;
    /// # async fn demo() -> kubekit::Result<()> {
    /// let ns = kubekit::testing::test_namespace!().await?;
    /// let app = ns.restricted_client().await?;
    /// assert_eq!(app.namespace(), ns.name());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// When the ServiceAccount, its binding or its token cannot be made.
    fn restricted_client(
        &self,
    ) -> impl std::future::Future<Output = crate::Result<crate::Client>> + Send;

    /// The report of the namespace ([`namespace_report`] with the default options): what
    /// `#[kubekit::test]` writes when a test fails, for a test that wants it itself.
    ///
    /// ```no_run
    /// use kubekit::testing::TestNamespaceExt;
    /// # async fn demo() -> kubekit::Result<()> {
    /// let ns = kubekit::testing::test_namespace!().await?;
    /// println!("{}", ns.report().await?);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// When the cluster's configuration cannot make a client.
    fn report(&self) -> impl std::future::Future<Output = crate::Result<NamespaceReport>> + Send;
}

impl TestNamespaceExt for TestNamespace {
    fn client(&self) -> crate::Result<crate::Client> {
        let mut config = self.cluster().config().clone();
        config.default_namespace = self.name().to_string();
        crate::Client::from_config(config)
    }

    async fn restricted_client(&self) -> crate::Result<crate::Client> {
        crate::Client::from_config(self.restricted_config().await?)
    }

    async fn report(&self) -> crate::Result<NamespaceReport> {
        Ok(namespace_report(&self.client()?, &ReportOptions::default()).await)
    }
}

/// A value `#[kubekit::test]` can pass to a test, made from the test's namespace: the type of
/// each parameter of the test picks the implementation.
///
/// | type | what it is |
/// | --- | --- |
/// | [`crate::Client`] | a client whose default namespace is the test's |
/// | [`kube::Client`] | a kube client whose default namespace is the test's |
/// | [`&TestNamespace`](TestNamespace) | the namespace guard: name, cluster, client |
/// | [`NamespaceName`] | the namespace's name |
/// | [`&'static Cluster`](Cluster) | the run's shared cluster |
///
/// ```no_run
/// use kubekit::testing::{NamespaceName, TestNamespace};
///
/// #[kubekit::test]
/// async fn both(client: kubekit::Client, ns: &TestNamespace, name: NamespaceName) {
///     assert_eq!(client.namespace(), ns.name());
///     assert_eq!(&*name, ns.name());
/// }
/// # fn main() {}
/// ```
#[diagnostic::on_unimplemented(
    message = "`#[kubekit::test]` cannot pass a `{Self}` to a test",
    label = "not a type a `#[kubekit::test]` parameter can have",
    note = "a test's parameters can be `kubekit::Client`, `kube::Client`, \
            `&kubekit::testing::TestNamespace`, `kubekit::testing::NamespaceName` or \
            `&'static kubekit::testing::Cluster` (the types implementing `kubekit::testing::TestArg`)"
)]
pub trait TestArg<'ns>: Sized {
    /// The value for the test running in `namespace`.
    fn from_namespace(namespace: &'ns TestNamespace) -> Self;
}

impl TestArg<'_> for crate::Client {
    /// A client of its own (built as [`Client::from_config`](crate::Client::from_config)
    /// builds one) with the test's namespace as its default namespace.
    ///
    /// # Panics
    ///
    /// When the cluster's configuration cannot make a client (it made the namespace's).
    fn from_namespace(namespace: &TestNamespace) -> Self {
        crate::Client::new(<kube::Client as TestArg>::from_namespace(namespace))
    }
}

impl TestArg<'_> for kube::Client {
    /// A client of its own with the test's namespace as its default namespace, on
    /// connections that set `TCP_NODELAY` (see [`Client::from_config`](crate::Client::from_config)).
    ///
    /// # Panics
    ///
    /// When the cluster's configuration cannot make a client (it made the namespace's).
    fn from_namespace(namespace: &TestNamespace) -> Self {
        let mut config = namespace.cluster().config().clone();
        config.default_namespace = namespace.name().to_string();
        match crate::client::connect::kube_client(config) {
            Ok(client) => client,
            Err(error) => panic!("kubekit::test: cannot make a kube::Client: {error}"),
        }
    }
}

impl<'ns> TestArg<'ns> for &'ns TestNamespace {
    fn from_namespace(namespace: &'ns TestNamespace) -> Self {
        namespace
    }
}

impl TestArg<'_> for &'static Cluster {
    fn from_namespace(namespace: &TestNamespace) -> Self {
        namespace.cluster()
    }
}

impl TestArg<'_> for NamespaceName {
    fn from_namespace(namespace: &TestNamespace) -> Self {
        NamespaceName(namespace.name().to_string())
    }
}

/// The name of the test's namespace, as a `#[kubekit::test]` parameter; derefs to `str`.
///
/// ```no_run
/// use kubekit::testing::NamespaceName;
///
/// #[kubekit::test]
/// async fn named(ns: NamespaceName) {
///     assert!(ns.starts_with("named-"));
///     println!("testing in {ns}");
/// }
/// # fn main() {}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NamespaceName(String);

impl NamespaceName {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for NamespaceName {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for NamespaceName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NamespaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<NamespaceName> for String {
    fn from(name: NamespaceName) -> Self {
        name.0
    }
}

impl PartialEq<str> for NamespaceName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for NamespaceName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// Runtime support for the code `#[kubekit::test]` generates; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use insta;

    use super::TestNamespace;

    /// A fixture embedded in the test binary.
    #[derive(Debug, Clone, Copy)]
    pub struct Fixture {
        /// The path written in the attribute.
        pub path: &'static str,
        /// The file's text.
        pub yaml: &'static str,
    }

    /// The runtime a test runs on.
    #[derive(Debug, Clone, Copy)]
    pub enum Flavor {
        /// `tokio::runtime::Builder::new_current_thread`.
        CurrentThread,
        /// `tokio::runtime::Builder::new_multi_thread`, with this many workers.
        MultiThread(Option<usize>),
    }

    /// Builds the test's runtime.
    pub fn runtime(flavor: Flavor) -> tokio::runtime::Runtime {
        let mut builder = match flavor {
            Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
            Flavor::MultiThread(workers) => {
                let mut builder = tokio::runtime::Builder::new_multi_thread();
                if let Some(workers) = workers {
                    builder.worker_threads(workers);
                }
                builder
            }
        };
        match builder.enable_all().build() {
            Ok(runtime) => runtime,
            Err(error) => panic!("kubekit::test: cannot build the Tokio runtime: {error}"),
        }
    }

    /// Creates the test's namespace and applies the fixtures into it, in order.
    pub async fn setup(test_path: &str, fixtures: &[Fixture]) -> TestNamespace {
        let namespace = match TestNamespace::create(test_path).await {
            Ok(namespace) => namespace,
            Err(error) => {
                panic!("kubekit::test: cannot create the namespace of test {test_path}: {error}")
            }
        };
        if !fixtures.is_empty() {
            let client = <crate::Client as super::TestArg>::from_namespace(&namespace);
            for fixture in fixtures {
                if let Err(error) = client.apply_manifest(fixture.yaml).await {
                    // Panics with the namespace alive: it is kept for inspection.
                    panic!(
                        "kubekit::test: fixture `{}` could not be applied in namespace {}: {error}",
                        fixture.path,
                        namespace.name()
                    );
                }
            }
        }
        namespace
    }

    /// Now, as the test's start for [`report_failure`].
    pub fn now() -> k8s_openapi::jiff::Timestamp {
        k8s_openapi::jiff::Timestamp::now()
    }

    /// Runs the test's body, catching its panic (a failed assertion, or an error turned into
    /// a panic by [`TestResult::check`]).
    pub async fn catch<F: std::future::Future<Output = ()>>(
        body: F,
    ) -> Result<(), Box<dyn std::any::Any + Send>> {
        use futures::FutureExt as _;
        std::panic::AssertUnwindSafe(body).catch_unwind().await
    }

    /// After a failure, before the namespace is kept: writes the namespace's report to
    /// [`report_path`](super::report_path) and prints where it is, with its summary. Never
    /// fails the run itself; gives up after 60 s.
    pub async fn report_failure(
        test_path: &str,
        namespace: &TestNamespace,
        started: k8s_openapi::jiff::Timestamp,
        panic: &(dyn std::any::Any + Send),
    ) {
        let message = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("(a panic without a message)");
        let why = format!("{test_path} failed: {message}");
        write_report(test_path, namespace, started, &why, "failed").await;
    }

    /// After a test passed: deletes its namespace, and when the API server refuses, writes
    /// the namespace's report (as [`report_failure`] does) saying why. The test still passes.
    pub async fn finish(
        test_path: &str,
        mut namespace: TestNamespace,
        started: k8s_openapi::jiff::Timestamp,
    ) {
        if let Err(e) = namespace.delete().await {
            let why = format!(
                "{test_path} passed, but its namespace {} could not be deleted: {e}",
                namespace.name()
            );
            write_report(
                test_path,
                &namespace,
                started,
                &why,
                "passed, but its namespace could not be deleted",
            )
            .await;
        }
    }

    /// Writes the report of `namespace`, headed by `why`, and prints where it is.
    async fn write_report(
        test_path: &str,
        namespace: &TestNamespace,
        started: k8s_openapi::jiff::Timestamp,
        why: &str,
        what_happened: &str,
    ) {
        let path = super::report_path(test_path);
        let made = async {
            let client = <crate::Client as super::TestArg>::from_namespace(namespace);
            let mut report =
                super::namespace_report(&client, &super::ReportOptions::default()).await;
            // Why there is a report, right under its title.
            let at = report.text.find('\n').map_or(report.text.len(), |i| i + 1);
            report
                .text
                .insert_str(at, &format!("\n## Why this report\n{why}\n"));
            let errors = super::component_errors(namespace.cluster(), started, 20);
            if !errors.is_empty() {
                report.text.push_str(
                    "\n## Error lines of the cluster's components since the test began\n",
                );
                report.text.push_str(&errors);
            }
            report
        };
        let report = match tokio::time::timeout(std::time::Duration::from_secs(60), made).await {
            Ok(report) => report,
            Err(_) => {
                eprintln!(
                    "kubekit::test: the failure report of {test_path} took over 60 s; none written"
                );
                return;
            }
        };
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, report.text.as_bytes()));
        match written {
            Ok(()) => eprintln!(
                "kubekit::test: {test_path} {what_happened}; report of namespace {}: {}
{}",
                namespace.name(),
                path.display(),
                report.summary
            ),
            Err(e) => eprintln!(
                "kubekit::test: {test_path} {what_happened}; its report could not be written to {}: {e}
{}",
                path.display(),
                report.text
            ),
        }
    }

    /// What a test function may return: `()`, or a `Result` whose `Err` fails the test.
    #[diagnostic::on_unimplemented(
        message = "a `#[kubekit::test]` function cannot return `{Self}`",
        label = "return `()` or `Result<(), E>` where `E` is an error type, a `Box<dyn Error>`, \
                 a `String` or an `anyhow::Error`"
    )]
    pub trait TestResult {
        /// Panics (fails the test) on an error.
        fn check(self);
    }

    impl TestResult for () {
        fn check(self) {}
    }

    impl<E: Into<Box<dyn std::error::Error>>> TestResult for Result<(), E> {
        #[track_caller]
        fn check(self) {
            if let Err(error) = self {
                panic!("the test returned an error: {}", describe(&*error.into()));
            }
        }
    }

    /// An error as people read it: its message, then each cause the message does not already
    /// contain (many errors repeat their source's text in their own).
    pub fn describe(error: &dyn std::error::Error) -> String {
        let mut text = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            let said = cause.to_string();
            if !text.contains(&said) {
                text.push_str("\n  caused by: ");
                text.push_str(&said);
            }
            source = cause.source();
        }
        text
    }

    #[cfg(test)]
    mod tests {
        use super::describe;

        #[derive(Debug)]
        struct Layer(&'static str, Option<Box<Layer>>);

        impl std::fmt::Display for Layer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.0)
            }
        }

        impl std::error::Error for Layer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                self.1.as_deref().map(|l| l as _)
            }
        }

        #[test]
        fn causes_follow_the_message_once() {
            let error = Layer(
                "applying web: connection refused",
                Some(Box::new(Layer(
                    "connection refused",
                    Some(Box::new(Layer("os error 111", None))),
                ))),
            );
            assert_eq!(
                describe(&error),
                "applying web: connection refused\n  caused by: os error 111"
            );
            assert_eq!(describe(&Layer("plain", None)), "plain");
        }
    }
}
