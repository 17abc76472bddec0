//! Reading YAML: splitting the stream into documents, positions, tabs, typed reading and the
//! unknown-field check.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use serde_saphyr::{Location, MessageFormatter, Spanned, UserMessageFormatter};

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
        if let Some(value) = super::fast::parse_document(self.text, self.after_marker()) {
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
        match yaml_value(self.text) {
            Ok(Value::Null) => Ok(None),
            Ok(value) => {
                refuse_ambiguous_scalars(self, &value)?;
                Ok(Some(value))
            }
            Err(error) => {
                let kind = ManifestErrorKind::Syntax {
                    message: saphyr_message(&error),
                };
                Err(match DUPLICATE_AT.take().and_then(line_column) {
                    Some((line, column)) => {
                        let (line, column) = self.absolute(line, column);
                        ManifestError::new(kind)
                            .with_document(self.index)
                            .with_position(line, column)
                    }
                    None => Ctx::of(self).saphyr_error(kind, &error),
                })
            }
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

/// Refuses plain scalars that Kubernetes' reader (go-yaml v2, YAML 1.1) and serde-saphyr read
/// differently, rather than read them otherwise than kubectl:
///
/// - `yEs`, `oN`, `tRUE` (a value or a key): serde-saphyr reads any case as a boolean, go-yaml
///   v2 only `yes`, `Yes` and `YES` (and so on), and text otherwise;
/// - `1__0`, `1_0.5`: go-yaml v2 takes every `_` out of a number, serde-saphyr reads these as
///   text.
///
/// Only documents with such a word anywhere are looked at closely.
fn refuse_ambiguous_scalars(doc: &Doc<'_>, value: &Value) -> Result<(), ManifestError> {
    /// What is wrong with the plain scalar `token`, read as `value`, if anything.
    fn problem(token: &str, value: &Value) -> Option<String> {
        match value {
            Value::Bool(_) if super::fast::ambiguous_bool(token) => Some(format!(
                "`{token}` is text for Kubernetes (YAML 1.1 knows `yes`, `Yes` and `YES`, not \
                 other cases) but a boolean for YAML 1.2 readers; write `\"{token}\"` for the \
                 text or `{}` for the boolean",
                token.to_ascii_lowercase()
            )),
            Value::String(text) if text == token && underscored_number(token) => Some(format!(
                "`{token}` is a number for Kubernetes (YAML 1.1 leaves out every `_` of a \
                 number) but text for YAML 1.2 readers; write `\"{token}\"` for the text or \
                 the number without `_`"
            )),
            _ => None,
        }
    }
    fn walk(
        text: &str,
        value: &Value,
        node: &LocNode,
        path: &mut Vec<Seg>,
    ) -> Option<(Vec<Seg>, String, Location)> {
        let leaf = |child: &Value, loc: &Spanned<LocNode>, path: &mut Vec<Seg>| {
            let (line, column) = line_column(loc.referenced)?;
            problem(token_at(text, line, column), child)
                .map(|message| (path.clone(), message, loc.referenced))
        };
        match (value, node) {
            (Value::Object(map), LocNode::Map(entries)) if map.len() == entries.len() => {
                for ((key, child), (raw, loc)) in map.iter().zip(entries) {
                    path.push(Seg::Key(key.clone()));
                    if let Some(message) = problem(&raw.value, &Value::Bool(true)) {
                        return Some((path.clone(), message, raw.referenced));
                    }
                    if let Some(found) = walk(text, child, &loc.value, path) {
                        return Some(found);
                    }
                    if let Some(found) = leaf(child, loc, path) {
                        return Some(found);
                    }
                    path.pop();
                }
                None
            }
            (Value::Array(items), LocNode::Seq(nodes)) if items.len() == nodes.len() => {
                for (index, (item, loc)) in items.iter().zip(nodes).enumerate() {
                    path.push(Seg::Index(index));
                    if let Some(found) = walk(text, item, &loc.value, path) {
                        return Some(found);
                    }
                    if let Some(found) = leaf(item, loc, path) {
                        return Some(found);
                    }
                    path.pop();
                }
                None
            }
            _ => None,
        }
    }
    let suspect = doc
        .text
        .split(|c: char| !c.is_ascii_alphabetic())
        .any(super::fast::ambiguous_bool)
        || doc
            .text
            .split([' ', ',', '[', ']', '{', '}', '\n', '\r', '\t'])
            .any(underscored_number);
    if !suspect {
        return Ok(());
    }
    let Some(root) = read_locations(doc.text) else {
        return Ok(());
    };
    let Some((path, message, location)) = walk(doc.text, value, &root, &mut Vec::new()) else {
        return Ok(());
    };
    let kind = ManifestErrorKind::InvalidValue {
        kind: "YAML".to_owned(),
        path: Some(PathDisplay(&path).to_string()),
        message,
    };
    let error = ManifestError::new(kind).with_document(doc.index);
    Err(match line_column(location) {
        Some((line, column)) => {
            let (line, column) = doc.absolute(line, column);
            error.with_position(line, column)
        }
        None => error.with_position(doc.content_line, 1),
    })
}

/// Whether go-yaml v2 reads `token` (which has a `_`) as a number: without its `_`, an integer
/// as Go's `strconv.ParseInt(s, 0, 64)` reads one (`0x`, `0o`, `0b`, a leading `0` for
/// octal), or a float of YAML 1.1's form.
fn underscored_number(token: &str) -> bool {
    if !token.contains('_') {
        return false;
    }
    let plain: String = token.chars().filter(|&c| c != '_').collect();
    let unsigned = plain.strip_prefix(['+', '-']).unwrap_or(&plain);
    let digits =
        |text: &str, radix: u32| !text.is_empty() && text.chars().all(|c| c.is_digit(radix));
    let integer = match unsigned.as_bytes() {
        [b'0', b'x' | b'X', ..] => digits(&unsigned[2..], 16),
        [b'0', b'o' | b'O', ..] => digits(&unsigned[2..], 8),
        [b'0', b'b' | b'B', ..] => digits(&unsigned[2..], 2),
        _ => digits(unsigned, 10),
    };
    if integer {
        return true;
    }
    // `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((whole, fraction)) => {
            (whole.is_empty() && digits(fraction, 10))
                || (digits(whole, 10) && (fraction.is_empty() || digits(fraction, 10)))
        }
        None => digits(mantissa, 10),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e), 10));
    mantissa_ok && exponent_ok
}

/// The plain scalar starting at (line, column) of `text` (1-based, column in characters).
fn token_at(text: &str, line: usize, column: usize) -> &str {
    let Some(line) = text.lines().nth(line.saturating_sub(1)) else {
        return "";
    };
    let start = line
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(line.len(), |(at, _)| at);
    let rest = &line[start..];
    let end = rest
        .find([' ', ',', ']', '}', '\t', '\r', '#'])
        .unwrap_or(rest.len());
    &rest[..end]
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

/// Where the text of a document (or of a stretch that may be one) starts in a stream: the
/// state [`split`] and the streaming reader ([`super::read`]) share, so that both cut a
/// stream into the same documents.
#[derive(Clone, Copy)]
pub(crate) struct Segment {
    /// The 1-based line of the input where the text starts.
    line: usize,
    /// Columns before the text on its first line (3 after a `---` marker, else 0).
    column_offset: usize,
    /// Whether a `---` marker opened it (then it is a document even when empty).
    explicit: bool,
}

impl Segment {
    /// The stretch at the start of a stream, before any marker.
    pub(crate) const START: Segment = Segment {
        line: 1,
        column_offset: 0,
        explicit: false,
    };

    /// When `line` (the `number`th line of the input, 1-based, with its line end) is a
    /// document marker: the segment that starts after it, and the byte of `line` where its
    /// text starts. Markers at column 1 always separate documents in YAML (even inside block
    /// scalars), so splitting on them agrees with the parser.
    pub(crate) fn after(line: &str, number: usize) -> Option<(Segment, usize)> {
        if is_marker(line, "---") {
            Some((
                Segment {
                    line: number,
                    column_offset: 3,
                    explicit: true,
                },
                3,
            ))
        } else if is_marker(line, "...") {
            Some((
                Segment {
                    line: number + 1,
                    column_offset: 0,
                    explicit: false,
                },
                line.len(),
            ))
        } else {
            None
        }
    }

    /// The document this segment's `text` is, numbered after the `count` before it (which
    /// it then counts): `None` for text before the first `---` or after a `...` without
    /// content (directives there are dropped).
    pub(crate) fn close<'a>(&self, text: &'a str, count: &mut usize) -> Option<Doc<'a>> {
        let content = text
            .lines()
            .position(|line| is_content(line, !self.explicit));
        if !(self.explicit || content.is_some()) {
            return None;
        }
        *count += 1;
        Some(Doc {
            index: *count,
            text,
            first_line: self.line,
            first_column_offset: self.column_offset,
            content_line: self.line + content.unwrap_or(0),
            has_content: content.is_some(),
        })
    }
}

/// Splits a YAML stream into its documents (see [`Segment`]).
pub(crate) fn split(input: &str) -> Vec<Doc<'_>> {
    let mut docs = Vec::new();
    let mut count = 0;
    let mut segment = Segment::START;
    let mut start = 0;
    let mut position = 0;
    for (number, line) in input.split_inclusive('\n').enumerate() {
        if let Some((next, offset)) = Segment::after(line, number + 1) {
            docs.extend(segment.close(input.get(start..position).unwrap_or(""), &mut count));
            segment = next;
            start = position + offset;
        }
        position += line.len();
    }
    docs.extend(segment.close(input.get(start..).unwrap_or(""), &mut count));
    docs
}

/// serde-saphyr's options for manifests: YAML 1.1 octal integers (`0640` is 416), as
/// Kubernetes' reader (sigs.k8s.io/yaml, go-yaml v2) reads them.
pub(crate) fn saphyr_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        with_snippet: false,
        legacy_octal_numbers: true,
        // `.inf` and `1e400` reach the visitor, which tells them apart by their text (see
        // `yaml_value`).
        non_finite_float_policy: serde_saphyr::NonFiniteFloatPolicy::PassThrough,
    }
}

/// Reads one YAML document's text into the JSON value Kubernetes' reader makes of it
/// (sigs.k8s.io/yaml: go-yaml v2, YAML 1.1, then JSON), which is what `kubectl` sends:
///
/// - plain `yes`/`no`/`on`/`off`/`y`/`n` are booleans, `0640` is octal (416), `1_000` is 1000;
/// - a key that is not a string becomes the text of its value: `on:` is `"true"`, `0640:` is
///   `"416"`; two keys that become the same text are a duplicate (kubectl would keep the last
///   one without a word);
/// - a float with an integer value is that integer (`1.0`, `1e3`: JSON has one number type,
///   and `kubectl` sends `1` and `1000`); `.inf` and `.nan` are refused (JSON has none).
pub(crate) fn yaml_value(text: &str) -> Result<Value, serde_saphyr::Error> {
    DUPLICATE_AT.set(None);
    NON_FINITE_SEEN.set(false);
    let mut value = serde_saphyr::from_str_with_options::<KubeValue>(text, saphyr_options())?.0;
    if NON_FINITE_SEEN.take() {
        resolve_non_finite(text, &mut value)?;
    }
    Ok(value)
}

/// What [`KubeValue`] puts where a plain scalar read as a float is not finite, until
/// [`resolve_non_finite`] looks at its text.
const NON_FINITE: &str = "\u{0}kubekit: not a finite float\u{0}";

/// Replaces each [`NON_FINITE`] in `value` as Kubernetes' reader (go-yaml v2) reads its text:
/// a number too large for a float (`1e400`, `-1e400`, an integer of 400 digits) is kept as
/// text, because Go's `strconv.ParseFloat` fails on it and go-yaml then resolves the scalar
/// as a string — kubectl sends `"1e400"`; `.inf` and `.nan` are floats that JSON cannot
/// carry, refused as kubectl refuses them ("json: unsupported value: +Inf").
fn resolve_non_finite(text: &str, value: &mut Value) -> Result<(), serde_saphyr::Error> {
    fn refused(token: &str, location: Location) -> serde_saphyr::Error {
        serde_saphyr::Error::NonFiniteFloat {
            value: token.to_owned(),
            location,
        }
    }
    fn resolve(
        text: &str,
        value: &mut Value,
        location: Location,
    ) -> Result<(), serde_saphyr::Error> {
        if value.as_str() != Some(NON_FINITE) {
            return Ok(());
        }
        let Some((line, column)) = line_column(location) else {
            return Err(refused("a number too large", location));
        };
        let token = token_at(text, line, column);
        let unsigned = token.strip_prefix(['+', '-']).unwrap_or(token);
        if unsigned.starts_with('.') && unsigned[1..].chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(refused(token, location));
        }
        *value = Value::String(token.to_owned());
        Ok(())
    }
    fn walk(text: &str, value: &mut Value, node: &LocNode) -> Result<(), serde_saphyr::Error> {
        match (value, node) {
            (Value::Object(map), LocNode::Map(entries)) if map.len() == entries.len() => {
                for ((_, child), (_, loc)) in map.iter_mut().zip(entries) {
                    walk(text, child, &loc.value)?;
                    resolve(text, child, loc.referenced)?;
                }
            }
            (Value::Array(items), LocNode::Seq(nodes)) if items.len() == nodes.len() => {
                for (item, loc) in items.iter_mut().zip(nodes) {
                    walk(text, item, &loc.value)?;
                    resolve(text, item, loc.referenced)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
    fn unresolved(value: &Value) -> bool {
        match value {
            Value::Object(map) => map.values().any(unresolved),
            Value::Array(items) => items.iter().any(unresolved),
            other => other.as_str() == Some(NON_FINITE),
        }
    }
    if let Some(root) = read_locations(text) {
        walk(text, value, &root)?;
    }
    // Where the locations did not line up with the value (merge keys), refuse.
    if unresolved(value) {
        return Err(refused("a float that is not finite", Location::UNKNOWN));
    }
    Ok(())
}

thread_local! {
    /// Whether [`KubeValue`] put a [`NON_FINITE`] in the value being read.
    static NON_FINITE_SEEN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

thread_local! {
    /// Where the key is that [`KubeValue`] refused as a duplicate, for the error of
    /// [`yaml_value`]: serde-saphyr places a visitor's error at the mapping's first key, and
    /// the duplicate is the later one (as for duplicates serde-saphyr finds itself).
    static DUPLICATE_AT: std::cell::Cell<Option<Location>> = const { std::cell::Cell::new(None) };
}

/// Runs `f`, one level deeper into a document, on a new stack segment when the current one
/// is nearly used up: serde-saphyr recurses once per level of nesting (up to its limit of
/// 64), with frames of tens of KB each in a debug build, more than a 2 MiB thread holds.
pub(crate) fn deeper<T>(f: impl FnOnce() -> T) -> T {
    /// Below this much stack left, a level goes on a new segment (one level takes about
    /// 45 KB in a debug build).
    const RED_ZONE: usize = 256 * 1024;
    /// The size of a new segment.
    const SEGMENT: usize = 4 * 1024 * 1024;
    stacker::maybe_grow(RED_ZONE, SEGMENT, f)
}

/// A JSON value read as Kubernetes reads YAML (see [`yaml_value`]).
struct KubeValue(Value);

/// The JSON number for a YAML float: an integer when it has an integer value.
pub(crate) fn float_value<E: de::Error>(float: f64) -> Result<Value, E> {
    if !float.is_finite() {
        return Err(E::custom(format!(
            "`{float}` cannot be sent to Kubernetes: JSON has no infinity or NaN \
             (kubectl: \"json: unsupported value\"); quote it if it is text"
        )));
    }
    // Below 2^63 every integer-valued f64 converts exactly.
    if float.fract() == 0.0 && float.abs() < 9.223_372_036_854_775e18 {
        #[allow(clippy::cast_possible_truncation)]
        return Ok(Value::from(float as i64));
    }
    Ok(serde_json::Number::from_f64(float).map_or(Value::Null, Value::Number))
}

impl<'de> Deserialize<'de> for KubeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> de::Visitor<'de> for Visitor {
            type Value = KubeValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<KubeValue, E> {
                Ok(KubeValue(Value::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<KubeValue, E> {
                Ok(KubeValue(Value::from(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<KubeValue, E> {
                Ok(KubeValue(Value::from(v)))
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<KubeValue, E> {
                match i64::try_from(v) {
                    Ok(v) => Ok(KubeValue(Value::from(v))),
                    Err(_) => float_value(v as f64).map(KubeValue),
                }
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<KubeValue, E> {
                match u64::try_from(v) {
                    Ok(v) => Ok(KubeValue(Value::from(v))),
                    Err(_) => float_value(v as f64).map(KubeValue),
                }
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<KubeValue, E> {
                if !v.is_finite() {
                    // `.inf`, or a number too large for a float: `yaml_value` decides by
                    // its text.
                    NON_FINITE_SEEN.set(true);
                    return Ok(KubeValue(Value::String(NON_FINITE.to_owned())));
                }
                float_value(v).map(KubeValue)
            }
            fn visit_str<E>(self, v: &str) -> Result<KubeValue, E> {
                Ok(KubeValue(Value::String(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<KubeValue, E> {
                Ok(KubeValue(Value::String(v)))
            }
            fn visit_unit<E>(self) -> Result<KubeValue, E> {
                Ok(KubeValue(Value::Null))
            }
            fn visit_none<E>(self) -> Result<KubeValue, E> {
                Ok(KubeValue(Value::Null))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<KubeValue, D::Error> {
                KubeValue::deserialize(d)
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<KubeValue, D::Error> {
                KubeValue::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KubeValue, A::Error> {
                let mut items = Vec::new();
                while let Some(KubeValue(item)) = deeper(|| seq.next_element())? {
                    items.push(item);
                }
                Ok(KubeValue(Value::Array(items)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KubeValue, A::Error> {
                let mut entries = serde_json::Map::new();
                while let Some(spanned) = map.next_key::<Spanned<KubeKey>>()? {
                    let KubeKey(key, written) = spanned.value;
                    let KubeValue(value) = deeper(|| map.next_value())?;
                    if entries.insert(key.clone(), value).is_some() {
                        DUPLICATE_AT.set(Some(spanned.referenced));
                        return Err(de::Error::custom(match written {
                            Some(read_as) => format!(
                                "duplicate key `{key}` (a plain key read as {read_as}: \
                                 Kubernetes reads YAML 1.1, where `on`, `yes` and `y` are \
                                 `true`; quote the key if it is text)"
                            ),
                            None => format!("duplicate key `{key}`"),
                        }));
                    }
                }
                Ok(KubeValue(Value::Object(entries)))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// A mapping key as Kubernetes reads it: the text of a scalar of any type, and the kind of
/// value it was read as when not a string (for messages).
struct KubeKey(String, Option<&'static str>);

impl<'de> Deserialize<'de> for KubeKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = KubeKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a scalar key")
            }
            fn visit_bool<E>(self, v: bool) -> Result<KubeKey, E> {
                Ok(KubeKey(v.to_string(), Some("a boolean")))
            }
            fn visit_i64<E>(self, v: i64) -> Result<KubeKey, E> {
                Ok(KubeKey(v.to_string(), Some("an integer")))
            }
            fn visit_u64<E>(self, v: u64) -> Result<KubeKey, E> {
                Ok(KubeKey(v.to_string(), Some("an integer")))
            }
            fn visit_i128<E>(self, v: i128) -> Result<KubeKey, E> {
                Ok(KubeKey(v.to_string(), Some("an integer")))
            }
            fn visit_u128<E>(self, v: u128) -> Result<KubeKey, E> {
                Ok(KubeKey(v.to_string(), Some("an integer")))
            }
            #[allow(clippy::cast_possible_truncation)]
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<KubeKey, E> {
                // sigs.k8s.io/yaml writes float keys with 32-bit precision.
                let text = match float_value::<E>(v)? {
                    Value::Number(number) if number.is_i64() => number.to_string(),
                    _ => (v as f32).to_string(),
                };
                Ok(KubeKey(text, Some("a number")))
            }
            fn visit_str<E>(self, v: &str) -> Result<KubeKey, E> {
                Ok(KubeKey(v.to_owned(), None))
            }
            fn visit_string<E>(self, v: String) -> Result<KubeKey, E> {
                Ok(KubeKey(v, None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<KubeKey, E> {
                Err(E::custom(
                    "a null key (`~`, `null` or nothing) cannot be a field name \
                     (kubectl: \"unsupported map key\"); quote it if it is text",
                ))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
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
        self.located_error(path, false, kind)
    }

    /// An error placed at the value at `path` (or at the document when it cannot be found).
    pub(crate) fn value_error(&self, path: &[Seg], kind: ManifestErrorKind) -> ManifestError {
        self.located_error(path, true, kind)
    }

    fn located_error(&self, path: &[Seg], value: bool, kind: ManifestErrorKind) -> ManifestError {
        let Some(doc) = self.doc else {
            return ManifestError::new(kind);
        };
        match locate(doc.text, path, value) {
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

/// Reads `value`, found at `prefix` in its document, as `T`, checking for unknown fields and
/// missing required fields.
///
/// The value is read strictly as JSON types, as the API server reads what `kubectl` sends: a
/// boolean or a number where a string is wanted is an error (`value: true` in an env var),
/// and so is a string where a number is wanted (`replicas: "3"`).
///
/// k8s-openapi's types fill a missing required field with its default (`containers: []`,
/// `containerPort: 0`), and serialize every required field back: a field the typed object has
/// and the input lacks is a required field that was missing.
pub(crate) fn typed_at<T: DeserializeOwned + Serialize>(
    mut value: Value,
    ctx: &Ctx<'_>,
    label: &str,
    prefix: &[Seg],
) -> Result<T, ManifestError> {
    if prefix.is_empty() {
        unwrap_base64(&mut value, ctx)?;
    }
    let parsed = match super::track::from_value::<T>(&value) {
        Ok(parsed) => parsed,
        Err((relative, message)) => {
            let mut path = prefix.to_vec();
            path.extend(relative);
            let found = value_at(&value, &path[prefix.len()..]);
            return Err(ctx.value_error(
                &path,
                ManifestErrorKind::InvalidValue {
                    kind: label.to_owned(),
                    path: (!path.is_empty()).then(|| PathDisplay(&path).to_string()),
                    message: type_message(&message, found),
                },
            ));
        }
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
    let mut path = prefix.to_vec();
    if first_added(&value, &back, &mut path) {
        let parent = &path[..path.len() - 1];
        return Err(ctx.key_error(
            parent,
            ManifestErrorKind::MissingField {
                kind: label.to_owned(),
                path: PathDisplay(&path).to_string(),
            },
        ));
    }
    Ok(parsed)
}

/// Finds the first key of `back` (the typed object serialized) that `original` lacks (or has
/// as `null`), extending `path` to it: a required field that was missing.
///
/// `apiVersion` and `kind` of an object inside another (a StatefulSet's volumeClaimTemplates)
/// are not required: k8s-openapi writes them for every resource type.
fn first_added(original: &Value, back: &Value, path: &mut Vec<Seg>) -> bool {
    match (original, back) {
        (Value::Object(original), Value::Object(back)) => {
            let embedded = !path.is_empty()
                && !original.contains_key("apiVersion")
                && !original.contains_key("kind");
            for (key, value) in back {
                if value.is_null() || (embedded && matches!(key.as_str(), "apiVersion" | "kind")) {
                    continue;
                }
                path.push(Seg::Key(key.clone()));
                match original.get(key) {
                    None | Some(Value::Null) => return true,
                    Some(original) if first_added(original, value, path) => return true,
                    Some(_) => {}
                }
                path.pop();
            }
            false
        }
        (Value::Array(original), Value::Array(back)) => {
            for (index, (original, back)) in original.iter().zip(back).enumerate() {
                path.push(Seg::Index(index));
                if first_added(original, back, path) {
                    return true;
                }
                path.pop();
            }
            false
        }
        _ => false,
    }
}

/// A Secret's `data` (and a ConfigMap's `binaryData`) is base64, which Go's decoder reads
/// with line breaks anywhere (`base64 -w 76`, a `|` block): they are taken out, as the API
/// server does. A value that is not base64 is an error naming the object and the key.
fn unwrap_base64(value: &mut Value, ctx: &Ctx<'_>) -> Result<(), ManifestError> {
    let field = match (value.get("apiVersion"), value.get("kind")) {
        (Some(Value::String(v)), Some(Value::String(kind))) if v == "v1" => match kind.as_str() {
            "Secret" => "data",
            "ConfigMap" => "binaryData",
            _ => return Ok(()),
        },
        _ => return Ok(()),
    };
    let kind = value["kind"].as_str().unwrap_or_default().to_owned();
    let name = value
        .get("metadata")
        .and_then(|metadata| metadata.get("name"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let Some(Value::Object(data)) = value.get_mut(field) else {
        return Ok(());
    };
    for (key, entry) in data.iter_mut() {
        let Value::String(text) = entry else {
            continue;
        };
        if text.contains(['\n', '\r']) {
            text.retain(|c| c != '\n' && c != '\r');
        }
        if let Err(message) = check_base64(text) {
            let named = name
                .as_deref()
                .map_or_else(|| kind.clone(), |name| format!("{kind} `{name}`"));
            let hint = if field == "data" {
                "; `data` takes base64-encoded values (`echo -n value | base64`), \
                 `stringData` takes plain text"
            } else {
                "; `binaryData` takes base64-encoded values, `data` takes plain text"
            };
            let path = [Seg::Key(field.to_owned()), Seg::Key(key.clone())];
            return Err(ctx.key_error(
                &path,
                ManifestErrorKind::InvalidValue {
                    kind: named,
                    path: Some(PathDisplay(&path).to_string()),
                    message: format!("{message}{hint}"),
                },
            ));
        }
        clear_unused_bits(text);
    }
    Ok(())
}

/// Clears the bits of the last base64 digit that the padding leaves unused (`YR==` becomes
/// `YQ==`; both are the byte `a`): Go's `base64.StdEncoding`, which the API server decodes
/// with, is not strict and ignores them, so kubectl's `YR==` is stored as `a`. The base64
/// reader of k8s-openapi refuses them; cleared, the text decodes to the bytes the API server
/// stores. `text` has passed [`check_base64`].
fn clear_unused_bits(text: &mut String) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let data = text.trim_end_matches('=').len();
    let unused = match text.len() - data {
        1 => 0b11,
        2 => 0b1111,
        _ => return,
    };
    let Some(at) = data.checked_sub(1) else {
        return;
    };
    let Some(digit) = ALPHABET
        .iter()
        .position(|&c| Some(&c) == text.as_bytes().get(at))
    else {
        return;
    };
    let cleared = ALPHABET[digit & !unused];
    if usize::from(cleared) != usize::from(text.as_bytes()[at]) {
        text.replace_range(at..=at, &char::from(cleared).to_string());
    }
}

/// Checks standard base64 with padding as Go's `base64.StdEncoding` does (line breaks already
/// taken out), with its byte offset of the first problem.
fn check_base64(text: &str) -> Result<(), String> {
    let bytes = text.as_bytes();
    let data = bytes
        .iter()
        .rposition(|&b| b != b'=')
        .map_or(0, |last| last + 1);
    if let Some(offset) = bytes[..data]
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || b == b'+' || b == b'/'))
    {
        let shown = text[offset..].chars().next().unwrap_or('?');
        return Err(format!("not base64: `{shown}` at byte {offset}"));
    }
    let padding = bytes.len() - data;
    if !bytes.len().is_multiple_of(4) || padding > 2 {
        return Err(format!(
            "not base64: {} characters, padded with {padding} `=` (base64 comes in groups of 4)",
            bytes.len()
        ));
    }
    Ok(())
}

/// The value at `path` in `value`.
fn value_at<'v>(value: &'v Value, path: &[Seg]) -> Option<&'v Value> {
    path.iter().try_fold(value, |value, seg| match seg {
        Seg::Key(key) => value.get(key),
        Seg::Index(index) => value.get(index),
    })
}

/// Says a type error of serde_json's in words, with the value found and what to write.
fn type_message(message: &str, found: Option<&Value>) -> String {
    let Some(expected) = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
        .and_then(|rest| rest.rsplit_once(", expected "))
        .map(|(_, expected)| expected)
    else {
        return message.to_owned();
    };
    let expected = match expected {
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" => "an integer",
        "f32" | "f64" => "a number",
        "a boolean" => "a boolean (true or false)",
        "a map" => "a mapping",
        other
            if other.starts_with("struct ")
                || other.starts_with("a map")
                || other.starts_with(|c: char| c.is_ascii_uppercase()) =>
        {
            "a mapping"
        }
        other if other.starts_with("a sequence") || other.starts_with("a vec") => "a sequence",
        other => other,
    };
    let hint = match found {
        Some(Value::Bool(_) | Value::Number(_)) if expected == "a string" => {
            let text = found.map(Value::to_string).unwrap_or_default();
            format!(" (Kubernetes refuses it too); quote it if it is text: \"{text}\"")
        }
        Some(Value::String(text)) if expected == "an integer" && text.parse::<i64>().is_ok() => {
            " (Kubernetes refuses it too); write the number without quotes".to_owned()
        }
        _ => String::new(),
    };
    let found = match found {
        Some(Value::String(text)) => format!("the string `{text}`"),
        Some(Value::Bool(boolean)) => format!("the boolean `{boolean}`"),
        Some(Value::Number(number)) => format!("the number `{number}`"),
        Some(other) => describe(other).to_owned(),
        None => return format!("expected {expected}"),
    };
    format!("expected {expected}, found {found}{hint}")
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
                while let Some(item) = deeper(|| seq.next_element())? {
                    items.push(item);
                }
                Ok(LocNode::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LocNode, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    let value = deeper(|| map.next_value())?;
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

/// The (line, column) in `text` of the last key (or sequence item) of `path`, or of its
/// value when `value`.
fn locate(text: &str, path: &[Seg], value: bool) -> Option<(usize, usize)> {
    let root = read_locations(text)?;
    let mut node = &root;
    let mut found = None;
    for seg in path {
        match (seg, node) {
            (Seg::Key(key), LocNode::Map(entries)) => {
                let (spanned, child) = entries.iter().find(|(k, _)| k.value == *key)?;
                found = Some(if value {
                    child.referenced
                } else {
                    spanned.referenced
                });
                node = &child.value;
            }
            (Seg::Index(index), LocNode::Seq(items)) => {
                let item = items.get(*index)?;
                found = Some(item.referenced);
                node = &item.value;
            }
            _ => return None,
        }
    }
    line_column(found?)
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
