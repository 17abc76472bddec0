//! The error type of the manifest module.

use std::fmt;

/// Why reading or rendering a manifest failed, with where it happened.
///
/// The [`Display`](fmt::Display) form starts with the position, then the message:
///
/// ```text
/// document 2, line 14, column 7: unknown field `spec.containers[0].imagePullPolcy` in Pod; did you mean `imagePullPolicy`?
/// ```
///
/// Documents are numbered from 1 in the order they appear in the input, empty ones included.
/// Lines and columns are 1-based and count from the start of the whole input, not of the
/// document. [`kind`](Self::kind) tells what went wrong in a form a program can match on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}", Prefix(self), self.inner.kind)]
pub struct ManifestError {
    inner: Box<Inner>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Inner {
    kind: ManifestErrorKind,
    document: Option<usize>,
    line: Option<usize>,
    column: Option<usize>,
}

/// What went wrong; the [`Display`](fmt::Display) form is the message without the position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestErrorKind {
    /// A line is indented with a tab character.
    #[error("line {line} is indented with a tab; YAML allows only spaces for indentation")]
    TabIndentation {
        /// The 1-based line of the whole input.
        line: usize,
    },
    /// The text is not valid YAML.
    #[error("invalid YAML: {message}")]
    Syntax {
        /// The parser's message, without position.
        message: String,
    },
    /// A document is valid YAML but not a mapping, so it cannot be a Kubernetes object.
    #[error(
        "expected a Kubernetes object (a mapping with `apiVersion`, `kind` and `metadata`), found {found}"
    )]
    NotAnObject {
        /// What the document is instead, e.g. "a sequence".
        found: &'static str,
    },
    /// A document has no `kind`.
    #[error("missing `kind`: every Kubernetes object needs one, e.g. `kind: Pod`")]
    MissingKind,
    /// A document has no `apiVersion`.
    #[error("missing `apiVersion` for kind `{kind}`{}", Expected(*.expected))]
    MissingApiVersion {
        /// The document's kind.
        kind: String,
        /// The apiVersion kubekit knows for this kind, if it knows the kind.
        expected: Option<&'static str>,
    },
    /// A kind kubekit knows comes with an apiVersion of Kubernetes' own that does not serve it.
    #[error("wrong apiVersion `{found}` for kind `{kind}`; use `apiVersion: {expected}`")]
    WrongApiVersion {
        /// The document's kind.
        kind: String,
        /// The apiVersion in the document.
        found: String,
        /// The apiVersion that serves the kind.
        expected: &'static str,
    },
    /// A field that the kind does not have (Kubernetes would reject it, or drop it silently).
    #[error("unknown field `{path}` in {kind}{}", Suggestion(.suggestion.as_deref()))]
    UnknownField {
        /// The kind (or Rust type) that has no such field.
        kind: String,
        /// The field's path from the object's root, e.g. `spec.containers[0].imagePullPolcy`.
        path: String,
        /// A known field with a close name, if any.
        suggestion: Option<String>,
    },
    /// A field the kind requires is missing (Kubernetes would refuse the object: `Required
    /// value`).
    #[error("missing required field `{path}` in {kind}")]
    MissingField {
        /// The kind (or Rust type) that requires it.
        kind: String,
        /// The field's path from the object's root, e.g. `spec.selector`.
        path: String,
    },
    /// A field has a value of the wrong type (or one Kubernetes cannot read, like a Secret's
    /// `data` that is not base64).
    #[error("invalid {kind}{}: {message}", At(.path.as_deref()))]
    InvalidValue {
        /// The kind (or Rust type) that was being read.
        kind: String,
        /// The path of the field, e.g. `spec.replicas`, when known.
        path: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// [`from_yaml_one`](super::from_yaml_one) got no document, or more than one.
    #[error("expected exactly one YAML document, found {found}")]
    DocumentCount {
        /// How many non-empty documents the input has.
        found: usize,
    },
    /// The input could not be read (see [`read`](super::read)): the reader failed, or the
    /// text is not UTF-8.
    #[error("cannot read the input: {message}")]
    Read {
        /// The I/O error's kind (`InvalidData` for text that is not UTF-8).
        kind: std::io::ErrorKind,
        /// What went wrong.
        message: String,
    },
    /// A document of a stream read with [`read`](super::read) is larger than kubekit reads
    /// (the API server takes objects of about 3 MiB at most).
    #[error("the document is larger than {} MiB; the API server takes objects of about 3 MiB at most", .limit >> 20)]
    DocumentTooLarge {
        /// The largest document read, in bytes.
        limit: usize,
    },
    /// An object could not be rendered to YAML.
    #[error("cannot render YAML: {message}")]
    Render {
        /// The serializer's message.
        message: String,
    },
}

struct Prefix<'a>(&'a ManifestError);

impl fmt::Display for Prefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.0.inner;
        let mut sep = "";
        if let Some(document) = inner.document {
            write!(f, "document {document}")?;
            sep = ", ";
        }
        if let Some(line) = inner.line {
            write!(f, "{sep}line {line}")?;
            sep = ", ";
            if let Some(column) = inner.column {
                write!(f, ", column {column}")?;
            }
        }
        if sep.is_empty() {
            Ok(())
        } else {
            f.write_str(": ")
        }
    }
}

struct Expected(Option<&'static str>);

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(api_version) => write!(f, "; add `apiVersion: {api_version}`"),
            None => f.write_str(
                "; add the apiVersion that serves it, e.g. `apiVersion: example.com/v1`",
            ),
        }
    }
}

struct At<'a>(Option<&'a str>);

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(path) => write!(f, " at `{path}`"),
            None => Ok(()),
        }
    }
}

struct Suggestion<'a>(Option<&'a str>);

impl fmt::Display for Suggestion<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(field) => write!(f, "; did you mean `{field}`?"),
            None => Ok(()),
        }
    }
}

impl ManifestError {
    pub(crate) fn new(kind: ManifestErrorKind) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                document: None,
                line: None,
                column: None,
            }),
        }
    }

    pub(crate) fn with_document(mut self, document: usize) -> Self {
        self.inner.document = Some(document);
        self
    }

    pub(crate) fn with_position(mut self, line: usize, column: usize) -> Self {
        self.inner.line = Some(line);
        self.inner.column = Some(column);
        self
    }

    pub(crate) fn render(message: impl fmt::Display) -> Self {
        Self::new(ManifestErrorKind::Render {
            message: message.to_string(),
        })
    }

    /// What went wrong.
    #[must_use]
    pub fn kind(&self) -> &ManifestErrorKind {
        &self.inner.kind
    }

    /// The 1-based index of the document in the input, counting empty documents too;
    /// `None` when the error is not about one document (rendering, a `serde_json::Value`).
    #[must_use]
    pub fn document(&self) -> Option<usize> {
        self.inner.document
    }

    /// The 1-based line of the whole input where the problem is, when known.
    #[must_use]
    pub fn line(&self) -> Option<usize> {
        self.inner.line
    }

    /// The 1-based column (in characters) where the problem is, when known.
    #[must_use]
    pub fn column(&self) -> Option<usize> {
        self.inner.column
    }
}
