//! Reading a YAML stream from an [`io::Read`](std::io::Read) one document at a time.

use std::io::{BufRead, BufReader, Read};

use super::parse::Segment;
use super::{ManifestError, ManifestErrorKind, Object};

/// The objects of a YAML stream read from `R`, one document at a time: what
/// [`read`](super::read) returns.
///
/// Only the document being read is held in memory (its text, then its tree, then the object);
/// the objects already handed out are the caller's to keep or drop. A document larger than
/// 64 MiB is an error ([`ManifestErrorKind::DocumentTooLarge`]) that ends the iterator, so
/// that no input makes it hold more.
///
/// Each item is an object, or the error of one document. After a document's error the next
/// documents are read as usual (they are independent), so
/// `collect::<Result<Vec<_>, _>>()` stops at the first error, as
/// [`from_yaml`](super::from_yaml) does. After an error of the reader itself, or text that is
/// not UTF-8, the iterator ends.
///
/// ```
/// use kubekit::manifest::{self, Object};
///
/// let yaml = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n---\n\
///             apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n";
/// let mut objects = manifest::read(yaml.as_bytes());
/// assert!(matches!(objects.next(), Some(Ok(Object::Namespace(_)))));
/// assert!(matches!(objects.next(), Some(Ok(Object::ConfigMap(_)))));
/// assert!(objects.next().is_none());
/// ```
#[must_use = "iterators are lazy and do nothing unless consumed"]
pub struct Objects<R> {
    reader: BufReader<R>,
    /// The text of the segment being read, since its marker.
    text: String,
    /// Where that segment starts.
    segment: Segment,
    /// Lines read so far.
    lines: usize,
    /// Documents closed so far, empty ones included.
    count: usize,
    /// The line being read, as bytes (checked for UTF-8 before use).
    line: Vec<u8>,
    done: bool,
}

impl<R> std::fmt::Debug for Objects<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Objects")
            .field("lines", &self.lines)
            .field("documents", &self.count)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<R: Read> Objects<R> {
    pub(crate) fn new(reader: R) -> Self {
        Self {
            reader: BufReader::new(reader),
            text: String::new(),
            segment: Segment::START,
            lines: 0,
            count: 0,
            line: Vec::new(),
            done: false,
        }
    }

    /// The error of the reader or of a line that is not UTF-8, placed at the line being
    /// read (in the document it belongs to).
    fn read_error(&mut self, kind: std::io::ErrorKind, message: String, column: usize) -> Error {
        self.done = true;
        ManifestError::new(ManifestErrorKind::Read { kind, message })
            .with_document(self.count + 1)
            .with_position(self.lines + 1, column)
    }

    /// Closes the segment read so far with `text` (its text), then reads it if it is a
    /// document with content.
    fn close(segment: Segment, text: &str, count: &mut usize) -> Option<Result<Object, Error>> {
        let doc = segment.close(text, count)?;
        super::read_document(&doc)
            .map(|document| document.map(|document| document.object))
            .transpose()
    }
}

type Error = ManifestError;

/// The largest document [`Objects`] reads, in bytes (the API server takes objects of about
/// 3 MiB at most).
const MAX_DOCUMENT: usize = 64 << 20;

impl<R: Read> Iterator for Objects<R> {
    type Item = Result<Object, ManifestError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            self.line.clear();
            // At most one byte past the limit: a document (or a line) without end does not
            // take more memory than that.
            let room = MAX_DOCUMENT.saturating_sub(self.text.len()) + 1;
            let mut limited = (&mut self.reader).take(u64::try_from(room).unwrap_or(u64::MAX));
            match limited.read_until(b'\n', &mut self.line) {
                Ok(n) if n >= room => {
                    self.done = true;
                    return Some(Err(ManifestError::new(
                        ManifestErrorKind::DocumentTooLarge {
                            limit: MAX_DOCUMENT,
                        },
                    )
                    .with_document(self.count + 1)
                    .with_position(self.lines + 1, 1)));
                }
                Ok(0) => {
                    self.done = true;
                    let text = std::mem::take(&mut self.text);
                    return Self::close(self.segment, &text, &mut self.count);
                }
                Ok(_) => {}
                Err(error) => {
                    return Some(Err(self.read_error(error.kind(), error.to_string(), 1)));
                }
            }
            let line = match std::str::from_utf8(&self.line) {
                Ok(line) => line,
                Err(error) => {
                    let valid = &self.line[..error.valid_up_to()];
                    let column = String::from_utf8_lossy(valid).chars().count() + 1;
                    let message = format!(
                        "the text is not UTF-8 (byte {:#04x}); YAML manifests are UTF-8",
                        self.line[error.valid_up_to()]
                    );
                    return Some(Err(self.read_error(
                        std::io::ErrorKind::InvalidData,
                        message,
                        column,
                    )));
                }
            };
            self.lines += 1;
            let Some((next, offset)) = Segment::after(line, self.lines) else {
                self.text.push_str(line);
                continue;
            };
            let found = Self::close(self.segment, &self.text, &mut self.count);
            self.segment = next;
            self.text.clear();
            // A long document's buffer is not kept for the short ones after it.
            if self.text.capacity() > 1 << 20 {
                self.text.shrink_to(1 << 16);
            }
            self.text.push_str(line.get(offset..).unwrap_or(""));
            if found.is_some() {
                return found;
            }
        }
        None
    }
}
