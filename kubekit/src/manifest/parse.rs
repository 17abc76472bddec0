//! Reading YAML: splitting the stream into documents, positions, tabs, typed reading and the
//! unknown-field check.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use serde_saphyr::{MessageFormatter, Spanned, UserMessageFormatter};

use super::{ManifestError, ManifestErrorKind};

/// One document of a YAML stream.
pub(crate) struct Doc<'a> {
    /// 1-based index in the stream, empty documents included.
    pub(crate) index: usize,
    /// The document's text: after its `---` marker (on the same line) up to the next marker.
    pub(crate) text: &'a str,
    /// The 1-based line of the input where `text` starts.
    first_line: usize,
    /// Columns before `text` on its first line (3 after a `---` marker, else 0).
    first_column_offset: usize,
    /// The 1-based line of the input of the first line with content.
    content_line: usize,
    /// Whether the document has anything but blank lines and comments.
    has_content: bool,
}

impl Doc<'_> {
    /// The 1-based line of the input of the document's first line with content.
    pub(crate) fn content_line(&self) -> usize {
        self.content_line
    }

    /// Whether the text starts right after a `---` marker, on the marker's line.
    pub(crate) fn after_marker(&self) -> bool {
        self.first_column_offset > 0
    }

    /// Converts a position in `text` (1-based) into one in the whole input.
    fn absolute(&self, line: usize, column: usize) -> (usize, usize) {
        let absolute_line = self.first_line.saturating_add(line.saturating_sub(1));
        if line <= 1 {
            (
                absolute_line,
                column.saturating_add(self.first_column_offset),
            )
        } else {
            (absolute_line, column)
        }
    }

    /// Reads the document as a JSON value; `None` for an empty (or null) document.
    ///
    /// Tabs in indentation are looked for first: the parser would report them less clearly,
    /// or take them as separation and accept a document that means something else.
    pub(crate) fn value(&self) -> Result<Option<Value>, ManifestError> {
        if !self.has_content {
            return Ok(None);
        }
        if let Some(value) = super::fast::parse(self.text, self.after_marker()) {
            return Ok((!value.is_null()).then_some(value));
        }
        if let Some((line, column)) = self.find_tab_indentation() {
            let (line, column) = self.absolute(line, column);
            return Err(
                ManifestError::new(ManifestErrorKind::TabIndentation { line })
                    .with_document(self.index)
                    .with_position(line, column),
            );
        }
        match serde_saphyr::from_str_with_options::<Value>(self.text, saphyr_options()) {
            Ok(Value::Null) => Ok(None),
            Ok(value) => Ok(Some(value)),
            Err(error) => Err(Ctx::of(self).saphyr_error(
                ManifestErrorKind::Syntax {
                    message: saphyr_message(&error),
                },
                &error,
            )),
        }
    }

    /// The first line (relative, 1-based) and column whose indentation has a tab, outside
    /// block scalars (`|` and `>`), whose content may start with tabs.
    fn find_tab_indentation(&self) -> Option<(usize, usize)> {
        // Indentation of the line that opened the block scalar we are in.
        let mut block_scalar: Option<usize> = None;
        for (number, line) in self.text.lines().enumerate() {
            let line_number = number + 1;
            if line_number == 1 && self.first_column_offset > 0 {
                // After `---`: whitespace there is separation, not indentation.
                block_scalar = opens_block_scalar(line).then_some(0);
                continue;
            }
            let content = line.trim_start_matches([' ', '\t']);
            if content.is_empty() {
                continue;
            }
            let spaces = line.len() - line.trim_start_matches(' ').len();
            if let Some(parent) = block_scalar {
                if spaces > parent {
                    // Block scalar content: tabs after its indentation are text.
                    continue;
                }
                block_scalar = None;
            }
            let indentation = &line[..line.len() - content.len()];
            if let Some(tab) = indentation.find('\t') {
                return Some((line_number, indentation[..tab].chars().count() + 1));
            }
            if opens_block_scalar(content) {
                block_scalar = Some(spaces);
            }
        }
        None
    }
}

/// Whether a line ends with a block scalar header (`|`, `>-`, `|+2`, ...), comments aside.
fn opens_block_scalar(line: &str) -> bool {
    fn is_header(code: &str) -> bool {
        let header = code
            .trim_end()
            .trim_end_matches(|c: char| c == '+' || c == '-' || c.is_ascii_digit());
        header
            .strip_suffix(['|', '>'])
            .is_some_and(|before| before.is_empty() || before.ends_with([' ', '\t', ':', '-']))
    }
    // Any ` #` may start the comment (or be inside a quoted key): try each.
    is_header(line)
        || line
            .match_indices([' ', '\t'])
            .filter(|(blank, _)| {
                line.get(blank + 1..)
                    .is_some_and(|rest| rest.starts_with('#'))
            })
            .any(|(blank, _)| is_header(&line[..blank]))
}

/// Whether `line` is a document marker (`---` or `...` at column 1, then a blank or the end).
fn is_marker(line: &str, marker: &str) -> bool {
    line.strip_prefix(marker)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n']))
}

/// Whether a line holds anything but blanks, a comment or (outside documents) a directive.
fn is_content(line: &str, directives_allowed: bool) -> bool {
    let trimmed = line.trim_start_matches([' ', '\t']).trim_end();
    !(trimmed.is_empty()
        || trimmed.starts_with('#')
        || (directives_allowed && line.starts_with('%'))
        || trimmed == "\u{feff}")
}

/// Splits a YAML stream into its documents.
///
/// Markers at column 1 always separate documents in YAML (even inside block scalars), so
/// splitting on them agrees with the parser. Text before the first `---` or after a `...` is a
/// document only if it has content; directives there are dropped.
pub(crate) fn split(input: &str) -> Vec<Doc<'_>> {
    struct Segment {
        start: usize,
        line: usize,
        column_offset: usize,
        explicit: bool,
    }
    fn close<'a>(
        input: &'a str,
        segment: &Segment,
        end: usize,
        count: &mut usize,
        docs: &mut Vec<Doc<'a>>,
    ) {
        let text = input.get(segment.start..end).unwrap_or("");
        let content = text
            .lines()
            .position(|line| is_content(line, !segment.explicit));
        if segment.explicit || content.is_some() {
            *count += 1;
            docs.push(Doc {
                index: *count,
                text,
                first_line: segment.line,
                first_column_offset: segment.column_offset,
                content_line: segment.line + content.unwrap_or(0),
                has_content: content.is_some(),
            });
        }
    }

    let mut docs = Vec::new();
    let mut count = 0;
    let mut segment = Segment {
        start: 0,
        line: 1,
        column_offset: 0,
        explicit: false,
    };
    let mut position = 0;
    for (number, line) in input.split_inclusive('\n').enumerate() {
        let starts = is_marker(line, "---");
        if starts || is_marker(line, "...") {
            close(input, &segment, position, &mut count, &mut docs);
            segment = if starts {
                Segment {
                    start: position + 3,
                    line: number + 1,
                    column_offset: 3,
                    explicit: true,
                }
            } else {
                Segment {
                    start: position + line.len(),
                    line: number + 2,
                    column_offset: 0,
                    explicit: false,
                }
            };
        }
        position += line.len();
    }
    close(input, &segment, input.len(), &mut count, &mut docs);
    docs
}

pub(crate) fn saphyr_options() -> serde_saphyr::Options {
    serde_saphyr::options! { with_snippet: false }
}

/// The message of a serde-saphyr error, without its position.
fn saphyr_message(error: &serde_saphyr::Error) -> String {
    UserMessageFormatter
        .format_message(error.without_snippet())
        .into_owned()
}

/// The (line, column) of a serde-saphyr error, relative to the parsed text.
fn saphyr_position(error: &serde_saphyr::Error) -> Option<(usize, usize)> {
    line_column(error.location()?)
}

/// Where errors are: a document of a YAML input, or nowhere (a `serde_json::Value`).
pub(crate) struct Ctx<'a> {
    doc: Option<&'a Doc<'a>>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn of(doc: &'a Doc<'a>) -> Self {
        Self { doc: Some(doc) }
    }

    pub(crate) fn detached() -> Self {
        Self { doc: None }
    }

    /// An error about the whole document, placed at its first line with content.
    pub(crate) fn document_error(&self, kind: ManifestErrorKind) -> ManifestError {
        let error = ManifestError::new(kind);
        match self.doc {
            Some(doc) => error
                .with_document(doc.index)
                .with_position(doc.content_line, 1),
            None => error,
        }
    }

    /// An error placed at the key at `path` (or at the document when it cannot be found).
    pub(crate) fn key_error(&self, path: &[Seg], kind: ManifestErrorKind) -> ManifestError {
        let Some(doc) = self.doc else {
            return ManifestError::new(kind);
        };
        match locate(doc.text, path) {
            Some((line, column)) => {
                let (line, column) = doc.absolute(line, column);
                ManifestError::new(kind)
                    .with_document(doc.index)
                    .with_position(line, column)
            }
            None => self.document_error(kind),
        }
    }

    /// An invalid value at a top-level key.
    pub(crate) fn field_error(&self, key: &str, message: &str) -> ManifestError {
        self.key_error(
            &[Seg::Key(key.to_owned())],
            ManifestErrorKind::InvalidValue {
                kind: "object".to_owned(),
                path: Some(key.to_owned()),
                message: message.to_owned(),
            },
        )
    }

    /// An error at the position serde-saphyr reported.
    fn saphyr_error(&self, kind: ManifestErrorKind, error: &serde_saphyr::Error) -> ManifestError {
        match (self.doc, saphyr_position(error)) {
            (Some(doc), Some((line, column))) => {
                let (line, column) = doc.absolute(line, column);
                ManifestError::new(kind)
                    .with_document(doc.index)
                    .with_position(line, column)
            }
            _ => self.document_error(kind),
        }
    }
}

/// What a value is, for messages: "a sequence", "a string", ...
pub(crate) fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a sequence",
        Value::Object(_) => "a mapping",
    }
}

/// One step of a path into an object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// `spec.containers[0].image`.
pub(crate) struct PathDisplay<'a>(pub(crate) &'a [Seg]);

impl fmt::Display for PathDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(key) if position == 0 => f.write_str(key)?,
                Seg::Key(key) => write!(f, ".{key}")?,
                Seg::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// Reads a whole document's value as `T`, checking for unknown fields.
pub(crate) fn typed<T: DeserializeOwned + Serialize>(
    value: Value,
    ctx: &Ctx<'_>,
    label: &str,
) -> Result<T, ManifestError> {
    typed_at(value, ctx, label, &[])
}

/// Reads `value`, found at `prefix` in its document, as `T`, checking for unknown fields.
///
/// The value is read strictly as JSON types first. When that fails and the value is a whole
/// document, it is read again straight from the YAML text, which accepts what YAML means (a
/// plain `80` for a string field, `"80"` for a number) and otherwise says where it failed.
pub(crate) fn typed_at<T: DeserializeOwned + Serialize>(
    value: Value,
    ctx: &Ctx<'_>,
    label: &str,
    prefix: &[Seg],
) -> Result<T, ManifestError> {
    let parsed = match T::deserialize(&value) {
        Ok(parsed) => parsed,
        Err(strict) => match ctx.doc {
            Some(doc) if prefix.is_empty() => {
                match serde_saphyr::from_str_with_options::<T>(doc.text, saphyr_options()) {
                    Ok(parsed) => parsed,
                    Err(error) => {
                        let path = saphyr_position(&error)
                            .and_then(|position| path_at(doc.text, position));
                        let found = path.as_deref().and_then(|path| value_at(&value, path));
                        return Err(ctx.saphyr_error(
                            ManifestErrorKind::InvalidValue {
                                kind: label.to_owned(),
                                path: path.map(|path| PathDisplay(&path).to_string()),
                                message: type_message(&saphyr_message(&error), found),
                            },
                            &error,
                        ));
                    }
                }
            }
            _ => {
                return Err(ctx.key_error(
                    prefix,
                    ManifestErrorKind::InvalidValue {
                        kind: label.to_owned(),
                        path: (!prefix.is_empty()).then(|| PathDisplay(prefix).to_string()),
                        message: strict.to_string(),
                    },
                ));
            }
        },
    };
    let back = serde_json::to_value(&parsed).map_err(|error| {
        ctx.document_error(ManifestErrorKind::InvalidValue {
            kind: label.to_owned(),
            path: None,
            message: error.to_string(),
        })
    })?;
    let mut path = prefix.to_vec();
    if first_dropped(&value, &back, &mut path) {
        let relative = path.get(prefix.len()..).unwrap_or_default();
        let suggestion = match relative.last() {
            Some(Seg::Key(unknown)) => {
                known_fields::<T>(relative).and_then(|fields| closest(unknown, fields))
            }
            _ => None,
        };
        return Err(ctx.key_error(
            &path,
            ManifestErrorKind::UnknownField {
                kind: label.to_owned(),
                path: PathDisplay(&path).to_string(),
                suggestion: suggestion.map(str::to_owned),
            },
        ));
    }
    Ok(parsed)
}

/// The value at `path` in `value`.
fn value_at<'v>(value: &'v Value, path: &[Seg]) -> Option<&'v Value> {
    path.iter().try_fold(value, |value, seg| match seg {
        Seg::Key(key) => value.get(key),
        Seg::Index(index) => value.get(index),
    })
}

/// Says a type error of the parser in words, with the value found.
fn type_message(message: &str, found: Option<&Value>) -> String {
    let expected = match message {
        "expected mapping start" => "expected a mapping",
        "expected sequence start" => "expected a sequence",
        "expected string scalar" => "expected a string",
        "invalid bool" => "expected a boolean (true or false)",
        "invalid f32" | "invalid f64" => "expected a number",
        _ if message.starts_with("invalid i") || message.starts_with("invalid u") => {
            "expected an integer"
        }
        _ => return message.to_owned(),
    };
    match found {
        Some(Value::String(text)) => format!("{expected}, found `{text}`"),
        Some(scalar @ (Value::Number(_) | Value::Bool(_))) => {
            format!("{expected}, found `{scalar}`")
        }
        Some(other) => format!("{expected}, found {}", describe(other)),
        None => expected.to_owned(),
    }
}

/// Finds the first key of `original` (in its order) that `back` lacks, extending `path` to it.
/// Keys whose value is `null` are skipped: a typed object drops them without losing anything.
fn first_dropped(original: &Value, back: &Value, path: &mut Vec<Seg>) -> bool {
    match (original, back) {
        (Value::Object(original), Value::Object(back)) => {
            for (key, value) in original {
                if value.is_null() {
                    continue;
                }
                path.push(Seg::Key(key.clone()));
                match back.get(key) {
                    None => return true,
                    Some(back) if first_dropped(value, back, path) => return true,
                    Some(_) => {}
                }
                path.pop();
            }
            false
        }
        (Value::Array(original), Value::Array(back)) => {
            for (index, (value, back)) in original.iter().zip(back).enumerate() {
                path.push(Seg::Index(index));
                if first_dropped(value, back, path) {
                    return true;
                }
                path.pop();
            }
            false
        }
        _ => false,
    }
}

/// The known field closest to `unknown`, if close enough to be a likely typo.
fn closest(unknown: &str, fields: &[&'static str]) -> Option<&'static str> {
    fn normalize(name: &str) -> Vec<char> {
        name.chars()
            .filter(|c| *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect()
    }
    let wanted = normalize(unknown);
    let limit = (wanted.len() / 3).max(1);
    fields
        .iter()
        .map(|field| (levenshtein(&wanted, &normalize(field)), *field))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, field)| field)
}

fn levenshtein(a: &[char], b: &[char]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

// ---------------------------------------------------------------------------------------------
// Positions of keys: the document read again as a tree of keys with their locations.

/// A YAML node with the location of each mapping key.
enum LocNode {
    Map(Vec<(Spanned<String>, Spanned<LocNode>)>),
    Seq(Vec<Spanned<LocNode>>),
    Leaf,
}

impl<'de> Deserialize<'de> for LocNode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> de::Visitor<'de> for Visitor {
            type Value = LocNode;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any YAML node")
            }
            fn visit_bool<E>(self, _: bool) -> Result<LocNode, E> {
                Ok(LocNode::Leaf)
            }
            fn visit_i64<E>(self, _: i64) -> Result<LocNode, E> {
                Ok(LocNode::Leaf)
            }
            fn visit_u64<E>(self, _: u64) -> Result<LocNode, E> {
                Ok(LocNode::Leaf)
            }
            fn visit_i128<E>(self, _: i128) -> Result<LocNode, E> {
                Ok(LocNode::Leaf)
            }
            fn visit_u128<E>(self, _: u128) -> Result<LocNode, E> {
                Ok(LocNode::Leaf)
            }
            fn visit_f64<E>(self, _: f64) -> Result<LocNode, E> {
                Ok(LocNode::Leaf)
            }
            fn visit_str<E>(self, _: &str) -> Result<LocNode, E> {
                Ok(LocNode::Leaf)
            }
            fn visit_bytes<E>(self, _: &[u8]) -> Result<LocNode, E> {
                Ok(LocNode::Leaf)
            }
            fn visit_unit<E>(self) -> Result<LocNode, E> {
                Ok(LocNode::Leaf)
            }
            fn visit_none<E>(self) -> Result<LocNode, E> {
                Ok(LocNode::Leaf)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<LocNode, D::Error> {
                LocNode::deserialize(d)
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<LocNode, D::Error> {
                LocNode::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<LocNode, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(LocNode::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LocNode, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    let value = map.next_value()?;
                    entries.push((key, value));
                }
                Ok(LocNode::Map(entries))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

fn read_locations(text: &str) -> Option<LocNode> {
    serde_saphyr::from_str_with_options(text, saphyr_options()).ok()
}

fn line_column(location: serde_saphyr::Location) -> Option<(usize, usize)> {
    let line = usize::try_from(location.line()).ok()?;
    let column = usize::try_from(location.column()).ok()?;
    (line > 0).then_some((line, column.max(1)))
}

/// The (line, column) in `text` of the last key of `path`.
fn locate(text: &str, path: &[Seg]) -> Option<(usize, usize)> {
    let root = read_locations(text)?;
    let mut node = &root;
    let mut found = None;
    for seg in path {
        match (seg, node) {
            (Seg::Key(key), LocNode::Map(entries)) => {
                let (spanned, child) = entries.iter().find(|(k, _)| k.value == *key)?;
                found = Some(spanned.referenced);
                node = &child.value;
            }
            (Seg::Index(index), LocNode::Seq(items)) => node = &items.get(*index)?.value,
            _ => return None,
        }
    }
    line_column(found?)
}

/// The path of the node of `text` that starts last at or before `position`: the node an
/// error reported there is about.
fn path_at(text: &str, position: (usize, usize)) -> Option<Vec<Seg>> {
    fn walk(node: &LocNode, position: (usize, usize), path: &mut Vec<Seg>, best: &mut Vec<Seg>) {
        let mut visit = |seg: Seg, child: &Spanned<LocNode>, path: &mut Vec<Seg>| {
            if line_column(child.referenced).is_some_and(|start| start <= position) {
                path.push(seg);
                best.clone_from(path);
                walk(&child.value, position, path, best);
                path.pop();
            }
        };
        match node {
            LocNode::Map(entries) => {
                for (key, child) in entries {
                    visit(Seg::Key(key.value.clone()), child, path);
                }
            }
            LocNode::Seq(items) => {
                for (index, child) in items.iter().enumerate() {
                    visit(Seg::Index(index), child, path);
                }
            }
            LocNode::Leaf => {}
        }
    }
    let root = read_locations(text)?;
    let mut best = Vec::new();
    walk(&root, position, &mut Vec::new(), &mut best);
    (!best.is_empty()).then_some(best)
}

// ---------------------------------------------------------------------------------------------
// Known fields: a deserializer that walks `T`'s Deserialize impl down a path and records the
// field list its struct visitor declares there.

/// The fields `T` declares for the struct holding the last key of `path`.
fn known_fields<T: DeserializeOwned>(path: &[Seg]) -> Option<&'static [&'static str]> {
    let found = Cell::new(None);
    // The probe always ends in an error, by design: it stops as soon as it knows.
    let _ = T::deserialize(Probe {
        path,
        found: &found,
    });
    found.get()
}

#[derive(Debug)]
struct ProbeDone;

impl fmt::Display for ProbeDone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("probe done")
    }
}

impl std::error::Error for ProbeDone {}

impl de::Error for ProbeDone {
    fn custom<T: fmt::Display>(_: T) -> Self {
        ProbeDone
    }
}

struct Probe<'p> {
    path: &'p [Seg],
    found: &'p Cell<Option<&'static [&'static str]>>,
}

impl<'p> Probe<'p> {
    fn rest(&self) -> Probe<'p> {
        Probe {
            path: self.path.get(1..).unwrap_or_default(),
            found: self.found,
        }
    }
}

impl<'de> Deserializer<'de> for Probe<'_> {
    type Error = ProbeDone;

    fn deserialize_any<V: de::Visitor<'de>>(self, _: V) -> Result<V::Value, ProbeDone> {
        Err(ProbeDone)
    }

    fn deserialize_option<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeDone> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: de::Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, ProbeDone> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: de::Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ProbeDone> {
        match self.path {
            [Seg::Key(_)] => {
                self.found.set(Some(fields));
                Err(ProbeDone)
            }
            [Seg::Key(key), ..] => visitor.visit_map(OneEntry {
                key: Some(key),
                value: Some(self.rest()),
            }),
            _ => Err(ProbeDone),
        }
    }

    fn deserialize_map<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeDone> {
        match self.path {
            [Seg::Key(key), _, ..] => visitor.visit_map(OneEntry {
                key: Some(key),
                value: Some(self.rest()),
            }),
            _ => Err(ProbeDone),
        }
    }

    fn deserialize_seq<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeDone> {
        match self.path {
            [Seg::Index(_), ..] => visitor.visit_seq(OneElement(Some(self.rest()))),
            _ => Err(ProbeDone),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct tuple tuple_struct enum identifier ignored_any
    }
}

struct OneEntry<'p> {
    key: Option<&'p str>,
    value: Option<Probe<'p>>,
}

impl<'de> MapAccess<'de> for OneEntry<'_> {
    type Error = ProbeDone;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ProbeDone> {
        match self.key.take() {
            Some(key) => seed
                .deserialize(IntoDeserializer::<ProbeDone>::into_deserializer(key))
                .map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, ProbeDone> {
        match self.value.take() {
            Some(probe) => seed.deserialize(probe),
            None => Err(ProbeDone),
        }
    }
}

struct OneElement<'p>(Option<Probe<'p>>);

impl<'de> SeqAccess<'de> for OneElement<'_> {
    type Error = ProbeDone;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, ProbeDone> {
        match self.0.take() {
            Some(probe) => seed.deserialize(probe).map(Some),
            None => Ok(None),
        }
    }
}

/// The last segment of a Rust type's path, generics aside: `Pod` for
/// `k8s_openapi::api::core::v1::Pod`.
pub(crate) fn short_type_name<T: ?Sized>() -> &'static str {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}
