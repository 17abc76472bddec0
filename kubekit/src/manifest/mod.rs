//! YAML manifests in and out: typed for the kinds kubekit knows, checked, with clear errors.
//!
//! # Reading
//!
//! [`from_yaml`] reads a stream of YAML documents (separated by `---`) into [`Object`]s: a
//! typed variant for each kind kubekit knows (Pod, Deployment, Service, ...) and
//! [`Object::Other`] with a [`DynamicObject`] for any other kind. Empty documents are skipped.
//! [`from_yaml_one`] reads a single document into the type you name. [`read`] reads a stream
//! from any [`std::io::Read`] one document at a time, for input too large to hold in memory.
//!
//! Reading is strict where `kubectl` is, and says where the problem is: the document (1-based,
//! counting empty ones), the line and the column of the whole input.
//!
//! - a line indented with a tab;
//! - a document without `kind` or `apiVersion`;
//! - a kind kubekit knows with an apiVersion that does not serve it (`apps/v1` Pod);
//! - a field the kind does not have, with the known field it is closest to, if any
//!   (`k8s_openapi`'s types would drop it without a word);
//! - a value of the wrong type: JSON types are strict, as the API server reads what `kubectl`
//!   sends (`value: true` in an env var, `labels: {version: 1}` and `replicas: "3"` are refused,
//!   for every kind; a quantity may be a number, a port a number or a name, as in Kubernetes);
//! - a required field missing (a Deployment without `selector`, a container without `name`);
//! - a Secret's `data` that is not base64 (line breaks in it are fine, as for Go's decoder,
//!   and so are set bits in the last digit that the padding leaves unused: `YR==` is `a`);
//! - invalid YAML, and keys that are the same for Kubernetes (`a` twice, or `on` and `yes`).
//!
//! YAML is read as Kubernetes reads it (sigs.k8s.io/yaml: YAML 1.1, then JSON), so that the
//! objects are the ones `kubectl apply -f` sends: `defaultMode: 0640` is 416, `on`/`yes`/`y`
//! are `true` (and `"true"` as a key), `1.0` is the integer 1, a number too large for a float
//! (`1e400`) is the text `"1e400"` while `.inf` is refused, and fields set to `null` are left
//! out. `tests/manifest_conformance.rs` compares this with what kubectl v1.37 does on the
//! manifests of `tests/fixtures/conformance/`.
//!
//! A typed object is what the API server stores, so a few values are written back in its form
//! rather than as they were read: a quantity written as a number (`cpu: 1`, `cpu: 0.15`) is a
//! string (`"1"`, `"0.15"`); a Secret's `data` wrapped over lines is written on one line; the
//! volumeClaimTemplates of a StatefulSet gain `apiVersion: v1` and `kind:
//! PersistentVolumeClaim` (k8s-openapi writes them for every resource type, and the API server
//! returns them too). Reading what kubekit writes gives the same objects again.
//!
//! Block-style YAML, as `kubectl get -o yaml`, [`to_yaml`] and most people write it, is read by
//! kubekit's own reader, and a document that is one JSON object (`kubectl get -o json`) by
//! serde_json; a document using anything more (anchors, tags, floats in JSON, quoted scalars
//! over several lines, ...) is read by serde-saphyr, with the same result.
//! Streams of 64 documents or more are read on every core: 1,000 Deployments take about 40 ms
//! on two (see `BENCHMARKS.md`); shorter ones on the caller's thread (see [`from_yaml`]).
//!
//! Writing ([`to_yaml`], [`to_yaml_all`]) gives serde-saphyr's text, with the top-level keys in
//! kubectl's order. Maps, sequences, strings (over several lines as literal blocks, long ones
//! folded), integers, booleans and nulls — what Kubernetes objects are made of — are written by
//! kubekit's own writer, which makes the same layout and quoting decisions in a fraction of the
//! time (1,000 Deployments in about 4 ms against 13 ms); an object holding anything else (a
//! float, bytes, ...) is written by serde-saphyr.
//!
//! ```
//! use kubekit::manifest::{self, Object};
//!
//! let yaml = "\
//! apiVersion: v1
//! kind: Pod
//! metadata:
//!   name: web2
//! spec:
//!   containers:
//!     - name: web
//!       image: nginx:1.28
//!       imagePullPolicy: IfNotPresent
//!       ports:
//!         - containerPort: 80
//! ";
//! let objects = manifest::from_yaml(yaml)?;
//! let [Object::Pod(pod)] = objects.as_slice() else { panic!("expected one Pod") };
//! assert_eq!(pod.metadata.name.as_deref(), Some("web2"));
//!
//! let typo = yaml.replace("imagePullPolicy", "imagePullPolcy");
//! let error = manifest::from_yaml(&typo).unwrap_err();
//! assert_eq!(
//!     error.to_string(),
//!     "document 1, line 9, column 7: unknown field `spec.containers[0].imagePullPolcy` in Pod; \
//!      did you mean `imagePullPolicy`?",
//! );
//! assert_eq!((error.document(), error.line(), error.column()), (Some(1), Some(9), Some(7)));
//! # Ok::<(), manifest::ManifestError>(())
//! ```
//!
//! # Writing
//!
//! [`to_yaml`] renders any serializable object (a `k8s_openapi` type, an [`Object`], a
//! [`DynamicObject`], a `serde_json::Value`), and [`to_yaml_all`] several as one stream. The
//! top-level keys come in the order `kubectl get -o yaml` shows: `apiVersion`, `kind`,
//! `metadata`, `spec`, the others, `status` last; nested keys stay in serialization order.
//! As with `kubectl get -o yaml`, `metadata.managedFields` is left out unless
//! [`RenderOptions::show_managed_fields`] asks for it. With [`RenderOptions::clean`], all
//! that the server owns is left out, so that an object read from a cluster can be applied
//! again (see [`clean_for_reapply`]).
//!
//! ```
//! use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
//! use kubekit::manifest::{self, RenderOptions};
//!
//! let mut namespace = Namespace::default();
//! namespace.metadata.name = Some("shop".into());
//! let mut config = ConfigMap::default();
//! config.metadata.name = Some("settings".into());
//! config.metadata.namespace = Some("shop".into());
//! config.metadata.resource_version = Some("4242".into());
//! config.data = Some([("mode".to_string(), "fast".to_string())].into());
//!
//! let yaml = manifest::to_yaml_all_with(
//!     [&manifest::Object::from(namespace), &config.into()],
//!     RenderOptions::default().clean(true),
//! )?;
//! assert_eq!(yaml, "\
//! apiVersion: v1
//! kind: Namespace
//! metadata:
//!   name: shop
//! ---
//! apiVersion: v1
//! kind: ConfigMap
//! metadata:
//!   name: settings
//!   namespace: shop
//! data:
//!   mode: fast
//! ");
//! assert_eq!(manifest::from_yaml(&yaml)?.len(), 2);
//! # Ok::<(), manifest::ManifestError>(())
//! ```

/// Implements serializer methods that refuse their value with `$error`: for the serializers
/// that accept only some shapes (`emit.rs`, `render.rs`).
macro_rules! refuse {
    ($error:expr; $($method:ident($($arg:ty),*) -> $ret:ty;)*) => {
        $(
            fn $method(self, $(_: $arg),*) -> Result<$ret, Self::Error> {
                Err($error)
            }
        )*
    };
}

mod emit;
mod error;
mod fast;
pub(crate) mod object;
mod parse;
pub(crate) mod render;
mod stream;
mod track;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use error::{ManifestError, ManifestErrorKind};
pub use object::{DynamicObject, Object};
pub use stream::Objects;

pub use render::{LAST_APPLIED_ANNOTATION, RenderOptions, clean_for_reapply};

/// Reads every document of a YAML stream into an [`Object`], skipping empty documents.
///
/// A stream of fewer than 64 documents (counting empty ones) is read on the caller's thread.
/// A longer one is split across up to one scoped OS thread per core (the core count is read
/// once per process), joined before this returns; the result and the error reported (the
/// first in document order) are the same either way. Below 64 Deployment-sized documents,
/// spawning threads costs as much as it saves (measured on 2 cores: 32 documents 1.6 ms on
/// one thread, 1.7–1.9 ms on two; 128 documents 6.6 ms on one, 4.3 ms on two). Call it in
/// `tokio::task::spawn_blocking` for long streams in async code.
///
/// Memory: the objects, and on each thread the tree of the one document being read (a
/// 49 MB stream of 255,000 small documents peaks at 601 MB with its input, of which 532 MB
/// are the objects themselves; see `BENCHMARKS.md`). For a stream that need not be held at
/// once, [`read`] holds one document at a time.
///
/// # Errors
///
/// The first problem found, in document order: see [`ManifestErrorKind`].
pub fn from_yaml(input: &str) -> Result<Vec<Object>, ManifestError> {
    Ok(from_yaml_documents(input)?
        .into_iter()
        .map(|document| document.object)
        .collect())
}

/// Reads a YAML stream from `reader` one document at a time, for input too large to hold in
/// memory (or arriving slowly): each document is read and checked as [`from_yaml`] reads it,
/// and handed out as soon as the line after it (its end marker `---`, or the end of the
/// input) has been read. Errors carry the document number and the line of the whole stream,
/// as [`from_yaml`]'s do.
///
/// The documents are read on the caller's thread, one at a time; memory holds one document
/// (with a buffer of 8 KiB for `reader`), whatever the length of the stream. For a stream
/// already in memory, [`from_yaml`] is faster: it reads long streams on every core.
///
/// ```
/// use kubekit::manifest::{self, Object};
///
/// let file = "\
/// apiVersion: v1
/// kind: Namespace
/// metadata:
///   name: shop
/// ---
/// apiVersion: v1
/// kind: ConfigMap
/// metadata:
///   name: settings
/// data:
///   replicas: 3
/// ";
/// // Any `std::io::Read`: a `File`, a socket, a child's stdout, bytes in memory.
/// let mut objects = manifest::read(file.as_bytes());
/// let Some(Ok(Object::Namespace(namespace))) = objects.next() else { panic!() };
/// assert_eq!(namespace.metadata.name.as_deref(), Some("shop"));
/// let error = objects.next().unwrap().unwrap_err();
/// assert_eq!((error.document(), error.line()), (Some(2), Some(11)));
/// assert!(objects.next().is_none());
/// ```
///
/// A file, object by object, stopping at the first error:
///
/// ```no_run
/// let file = std::fs::File::open("all-manifests.yaml")?;
/// for object in kubekit::manifest::read(file) {
///     let object = object?;
///     println!("{}", object.kind());
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// Each item is an object or the error of its document (see [`ManifestErrorKind`]); the
/// documents after it are still read. A failure of `reader` or text that is not UTF-8 is a
/// [`ManifestErrorKind::Read`], after which the iterator ends.
pub fn read<R: std::io::Read>(reader: R) -> Objects<R> {
    Objects::new(reader)
}

/// One object of a YAML stream and where it stands in it, as [`from_yaml_documents`] hands
/// them out.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Document {
    /// The 1-based number of the document in the stream, empty documents counted (as
    /// [`ManifestError`] numbers them).
    pub index: usize,
    /// The 1-based line of the input where the document's content starts.
    pub line: usize,
    /// The object.
    pub object: Object,
}

/// [`from_yaml`], with each object's document number and line: for reports and errors that
/// point back into the input.
///
/// ```
/// let docs = kubekit::manifest::from_yaml_documents(
///     "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\n\
///      apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n",
/// )?;
/// assert_eq!(docs.iter().map(|d| (d.index, d.line)).collect::<Vec<_>>(), [(1, 1), (3, 6)]);
/// # Ok::<(), kubekit::manifest::ManifestError>(())
/// ```
///
/// # Errors
///
/// As [`from_yaml`].
pub fn from_yaml_documents(input: &str) -> Result<Vec<Document>, ManifestError> {
    let docs = parse::split(input);
    if docs.len() < PARALLEL_MIN_DOCUMENTS {
        return read_documents(&docs);
    }
    // Documents are independent: a long stream is read on every core, in document order.
    let threads = cores();
    if threads < 2 {
        return read_documents(&docs);
    }
    let chunk = docs.len().div_ceil(threads);
    let results: Vec<Result<Vec<Document>, ManifestError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = docs
            .chunks(chunk)
            .map(|part| scope.spawn(move || read_documents(part)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut objects = Vec::with_capacity(docs.len());
    for part in results {
        // Chunks are in document order, so the first error is the first in the input.
        objects.extend(part?);
    }
    Ok(objects)
}

/// Streams with at least this many documents are read in parallel (see [`from_yaml`]).
const PARALLEL_MIN_DOCUMENTS: usize = 64;

/// The number of cores, asked once per process.
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from))
}

fn read_documents(docs: &[parse::Doc<'_>]) -> Result<Vec<Document>, ManifestError> {
    let mut objects = Vec::with_capacity(docs.len());
    for doc in docs {
        objects.extend(read_document(doc)?);
    }
    Ok(objects)
}

/// Reads one document; `None` when it is empty.
fn read_document(doc: &parse::Doc<'_>) -> Result<Option<Document>, ManifestError> {
    let Some(value) = doc.value()? else {
        return Ok(None);
    };
    Ok(Some(Document {
        index: doc.index,
        line: doc.content_line(),
        object: object::object_from_value(value, &parse::Ctx::of(doc))?,
    }))
}

/// Reads a YAML input of exactly one (non-empty) document as a `T`, e.g. a
/// `k8s_openapi::api::apps::v1::Deployment`.
///
/// Unknown fields are errors, as with [`from_yaml`]: `T` is serialized back and a field of the
/// input that did not survive is reported. A `T` that keeps unknown fields in a map (like
/// [`DynamicObject`]) therefore accepts them.
///
/// ```
/// use k8s_openapi::api::core::v1::Service;
///
/// let service: Service = kubekit::manifest::from_yaml_one(
///     "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n    - port: 80\n",
/// )?;
/// assert_eq!(service.spec.and_then(|spec| spec.ports).map(|ports| ports[0].port), Some(80));
/// # Ok::<(), kubekit::manifest::ManifestError>(())
/// ```
///
/// # Errors
///
/// [`ManifestErrorKind::DocumentCount`] unless the input has exactly one non-empty document;
/// otherwise as [`from_yaml`], except that `kind` and `apiVersion` are for `T` to check.
pub fn from_yaml_one<T: DeserializeOwned + Serialize>(input: &str) -> Result<T, ManifestError> {
    let docs = parse::split(input);
    let mut found = None;
    let mut count = 0;
    for doc in &docs {
        if let Some(value) = doc.value()? {
            count += 1;
            match found {
                None => found = Some((doc, value)),
                Some(_) => {
                    return Err(parse::Ctx::of(doc)
                        .document_error(ManifestErrorKind::DocumentCount { found: count }));
                }
            }
        }
    }
    let Some((doc, value)) = found else {
        return Err(ManifestError::new(ManifestErrorKind::DocumentCount {
            found: 0,
        }));
    };
    parse::typed(value, &parse::Ctx::of(doc), parse::short_type_name::<T>())
}

/// Renders one object as a YAML document, as `kubectl get -o yaml` does: top-level keys in
/// `kubectl` order, `metadata.managedFields` left out (see
/// [`RenderOptions::show_managed_fields`]).
///
/// ```
/// let mut pod = k8s_openapi::api::core::v1::Pod::default();
/// pod.metadata.name = Some("web".into());
/// assert_eq!(kubekit::manifest::to_yaml(&pod)?, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n");
/// # Ok::<(), kubekit::manifest::ManifestError>(())
/// ```
///
/// # Errors
///
/// [`ManifestErrorKind::Render`] if the object cannot be represented as YAML.
pub fn to_yaml<T: Serialize + ?Sized>(object: &T) -> Result<String, ManifestError> {
    to_yaml_with(object, RenderOptions::default())
}

/// Renders one object as a YAML document, with options.
///
/// # Errors
///
/// [`ManifestErrorKind::Render`] if the object cannot be represented as YAML.
pub fn to_yaml_with<T: Serialize + ?Sized>(
    object: &T,
    options: RenderOptions,
) -> Result<String, ManifestError> {
    let mut out = String::new();
    render::render_into(&mut out, object, options)?;
    Ok(out)
}

/// Renders objects as one YAML stream, documents separated by `---` lines.
///
/// Objects of different kinds go in as [`Object`]s, e.g. `[&Object::from(ns), &pod.into()]`.
/// Anything that iterates over objects or references to them will do: a slice or `Vec`
/// (`&objects`), or an iterator that makes each object as the stream is written, so that a
/// large stream never holds all its objects at once.
///
/// ```
/// use kubekit::builders::namespace;
/// use kubekit::manifest;
///
/// // Made one at a time, each written and dropped before the next is made.
/// let stream = manifest::to_yaml_all(
///     (0..3).map(|i| namespace().name(format!("team-{i}")).build().expect("a valid name")),
/// )?;
/// assert_eq!(stream.matches("kind: Namespace").count(), 3);
/// assert!(stream.contains("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-1\n"));
/// # Ok::<(), manifest::ManifestError>(())
/// ```
///
/// # Errors
///
/// [`ManifestErrorKind::Render`] if an object cannot be represented as YAML.
pub fn to_yaml_all<I>(objects: I) -> Result<String, ManifestError>
where
    I: IntoIterator,
    I::Item: Serialize,
{
    to_yaml_all_with(objects, RenderOptions::default())
}

/// Renders objects as one YAML stream, with options.
///
/// # Errors
///
/// [`ManifestErrorKind::Render`] if an object cannot be represented as YAML.
pub fn to_yaml_all_with<I>(objects: I, options: RenderOptions) -> Result<String, ManifestError>
where
    I: IntoIterator,
    I::Item: Serialize,
{
    let mut out = String::new();
    for (index, object) in objects.into_iter().enumerate() {
        if index > 0 {
            out.push_str("---\n");
        }
        render::render_into(&mut out, &object, options)?;
    }
    Ok(out)
}
