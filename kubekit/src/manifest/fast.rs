//! A fast reader for the block-style YAML that `kubectl` and kubekit write.
//!
//! serde-saphyr reads any YAML, but it spends most of a manifest's parse time on work a
//! manifest rarely needs (events, spans, type inference per scalar). This reader handles a
//! subset, straight from the text into a [`Value`]:
//!
//! - block mappings and block sequences (including `- key: value` items and sequences at the
//!   same indentation as their key), comments and blank lines;
//! - plain scalars whose type is certain: strings (versions and addresses such as `1.15.1` and
//!   `10.0.0.1` included), decimal integers, YAML 1.1 octal integers (`0640`, 416), decimal
//!   floats (`0.15`; `1.0` is 1), `true`/`yes`/..., null;
//! - single- and double-quoted scalars on one line, literal block scalars (`|`, `|-`), and
//!   folded ones (`>`, `>-`) whose lines have one indentation (paragraphs separated by blank
//!   lines included);
//! - flow collections (`[sh, -c]`, `{app: web}`, `{}`), on one line or over several: line
//!   breaks, blank lines and comments between any two tokens, a trailing comma, plain scalars
//!   going on over lines (folded into one line), lines at any indentation (as serde-saphyr and
//!   Kubernetes' reader read them: indentation inside a flow collection does not count), as a
//!   value (on its key's line or the next), an item or the whole document (see [`flow`]);
//! - plain scalars continued on more indented lines (`description: a long text` then more
//!   words), folded into one line, when no line of it is blank, a comment or starts with an
//!   indicator;
//! - `\r\n` line ends (see [`parse_document`]);
//! - a document that is one JSON object, as `kubectl get -o json` prints it (see
//!   [`json_document`]; what serde_json is not sure of, such as a float, is read as a flow
//!   mapping).
//!
//! Anything else, and anything it is not sure about (anchors, tags, quoted scalars over several
//! lines, a flow collection's plain scalar over lines with a blank line between them, `?` keys,
//! floats with exponents, tabs, a `\r` alone, duplicate keys, keys that are not strings, odd
//! indentation, ...), makes it return `None`: the caller then reads the document with
//! serde-saphyr, which also reports any error with its position. Where this reader returns a
//! value, it is the value serde-saphyr returns for the same text; the tests below compare the
//! two on generated documents (flow collections laid out over lines at random among them),
//! hand-written ones and random line soup.

use std::borrow::Cow;

use serde_json::{Map, Number, Value};

/// [`parse`], for a document whose lines may end with `\r\n` (a file written on Windows):
/// YAML reads `\r\n` as a line break, so the text with `\n` alone means the same. Any other
/// `\r` is left to serde-saphyr.
pub(crate) fn parse_document(text: &str, after_marker: bool) -> Option<Value> {
    if !text.contains('\r') {
        return parse(text, after_marker);
    }
    let unix = text.replace("\r\n", "\n");
    if unix.contains('\r') {
        return None;
    }
    parse(&unix, after_marker)
}

/// Reads a document's text; `None` when it is not (certainly) in the subset.
///
/// `after_marker`: the text starts right after a `---` marker, so its first line is the rest
/// of the marker line.
pub(crate) fn parse(text: &str, after_marker: bool) -> Option<Value> {
    if text.len() > MAX_TEXT || !printable(text) {
        return None;
    }
    let mut reader = Reader {
        text,
        pos: 0,
        pending: None,
        depth: 0,
        nodes: 0,
    };
    if after_marker {
        // Only a comment may follow `---` here (`--- |`, `--- !tag` and the like: not ours).
        let end = text.find('\n').map_or(text.len(), |i| i + 1);
        let rest = text[..end].trim();
        if !(rest.is_empty() || (rest.starts_with('#') && text.starts_with(' '))) {
            return None;
        }
        reader.pos = end;
    }
    let Some(first) = reader.peek() else {
        return Some(Value::Null);
    };
    if first.content.starts_with('{')
        // `reader.pos` is where the line starts: the comments before it are skipped.
        && let Some(value) = json_document(&text[reader.pos..])
    {
        return Some(value);
    }
    if first.content.starts_with(['{', '[']) {
        // A flow collection (YAML, not JSON: `{app: web}`), perhaps over several lines.
        reader.count(1)?;
        return reader.flow(first.content, None);
    }
    let value = reader.node(first.indent)?;
    match reader.peek() {
        Some(_) => None,
        None => Some(value),
    }
}

/// A document that is one JSON object (what `kubectl get -o json` prints), read with
/// serde_json: JSON is YAML, and read as YAML (serde-saphyr, go-yaml v2) it means the same
/// value. `None` where that is not certain: anything after the object (a comment, a second
/// object), a duplicate key, an escaped UTF-16 surrogate (YAML refuses it, JSON pairs it), a
/// float or an integer beyond 64 bits, nesting deeper than [`MAX_DEPTH`], more than
/// [`MAX_NODES`] nodes, a key longer than [`MAX_KEY`].
fn json_document(text: &str) -> Option<Value> {
    if surrogate_escape(text) {
        return None;
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let JsonValue(value) = serde::Deserialize::deserialize(&mut deserializer).ok()?;
    deserializer.end().ok()?;
    let mut nodes = 0;
    within_limits(&value, 1, &mut nodes).then_some(value)
}

/// Whether `text` has a `\u` escape of a UTF-16 surrogate (`\ud83d`).
fn surrogate_escape(text: &str) -> bool {
    text.match_indices("\\u").any(|(at, _)| {
        text.as_bytes().get(at + 2..at + 4).is_some_and(|hex| {
            hex[0].eq_ignore_ascii_case(&b'd')
                && matches!(hex[1].to_ascii_lowercase(), b'8'..=b'9' | b'a'..=b'f')
        })
    })
}

/// Whether `value`, at `depth`, keeps to the limits the block reader keeps to.
fn within_limits(value: &Value, depth: usize, nodes: &mut usize) -> bool {
    *nodes += 1;
    match value {
        Value::Array(items) => {
            *nodes += 1;
            depth <= MAX_DEPTH
                && *nodes <= MAX_NODES
                && items
                    .iter()
                    .all(|item| within_limits(item, depth + 1, nodes))
        }
        Value::Object(map) => {
            *nodes += 1 + map.len();
            depth <= MAX_DEPTH
                && *nodes <= MAX_NODES
                && map.iter().all(|(key, item)| {
                    key.len() <= MAX_KEY && within_limits(item, depth + 1, nodes)
                })
        }
        _ => *nodes <= MAX_NODES,
    }
}

/// A JSON value as [`json_document`] reads it: duplicate keys and floats refused.
struct JsonValue(Value);

impl<'de> serde::Deserialize<'de> for JsonValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = JsonValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<JsonValue, E> {
                Ok(JsonValue(Value::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<JsonValue, E> {
                Ok(JsonValue(Value::from(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<JsonValue, E> {
                Ok(JsonValue(Value::from(v)))
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<JsonValue, E> {
                // serde_json's float reading may be a unit in the last place off Rust's
                // (without its `float_roundtrip` feature): floats, rare in manifests, are left
                // to serde-saphyr.
                Err(E::custom("a float"))
            }
            fn visit_str<E>(self, v: &str) -> Result<JsonValue, E> {
                Ok(JsonValue(Value::String(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<JsonValue, E> {
                Ok(JsonValue(Value::String(v)))
            }
            fn visit_unit<E>(self) -> Result<JsonValue, E> {
                Ok(JsonValue(Value::Null))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<JsonValue, A::Error> {
                let mut items = Vec::new();
                while let Some(JsonValue(item)) = super::parse::deeper(|| seq.next_element())? {
                    items.push(item);
                }
                Ok(JsonValue(Value::Array(items)))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<JsonValue, A::Error> {
                let mut entries = Map::new();
                while let Some(key) = map.next_key::<String>()? {
                    let JsonValue(value) = super::parse::deeper(|| map.next_value())?;
                    if entries.insert(key, value).is_some() {
                        return Err(serde::de::Error::custom("duplicate key"));
                    }
                }
                Ok(JsonValue(Value::Object(entries)))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// Whether `text` has only characters YAML prints as themselves outside quotes: no tab, no
/// `\r`, no control character, no byte order mark, no line or paragraph separator.
fn printable(text: &str) -> bool {
    let ascii_ok = |b: u8| b == b'\n' || (0x20..0x7f).contains(&b);
    if text.bytes().all(ascii_ok) {
        return true;
    }
    text.chars().all(|c| {
        if c.is_ascii() {
            ascii_ok(c as u8)
        } else {
            c >= '\u{a0}'
                && !matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
                )
        }
    })
}

/// Deeper documents go to serde-saphyr, which refuses those deeper than 64 (its `Budget`).
/// With flow collections (at most [`MAX_FLOW_DEPTH`] more) this stays below.
const MAX_DEPTH: usize = 40;

/// Documents with more nodes (keys, values, collections twice) go to serde-saphyr, which
/// refuses those with more than 250,000 nodes or 1,000,000 events.
const MAX_NODES: usize = 100_000;

/// Documents longer than this go to serde-saphyr (which caps scalar text at 64 MiB).
const MAX_TEXT: usize = 16 << 20;

/// Implicit keys may be at most 1,024 characters; longer ones go to serde-saphyr.
const MAX_KEY: usize = 512;

/// A line with content: its indentation, the text after it (no `\n`), and where the next
/// line starts.
#[derive(Clone, Copy)]
struct Line<'a> {
    indent: usize,
    content: &'a str,
    end: usize,
}

struct Reader<'a> {
    text: &'a str,
    /// Where the next unread line starts.
    pos: usize,
    /// The rest of a `- ` item line, read as a line of its own at the column it starts.
    pending: Option<Line<'a>>,
    depth: usize,
    /// Nodes read so far, collections counted twice (their start and end events).
    nodes: usize,
}

impl<'a> Reader<'a> {
    /// The next line with content, skipping blank lines and comment lines.
    fn peek(&mut self) -> Option<Line<'a>> {
        if let Some(line) = self.pending {
            return Some(line);
        }
        while self.pos < self.text.len() {
            let (raw, end) = line_at(self.text, self.pos);
            let content = raw.trim_start_matches(' ');
            if content.trim_end_matches(' ').is_empty() || content.starts_with('#') {
                self.pos = end;
                continue;
            }
            return Some(Line {
                indent: raw.len() - content.len(),
                content,
                end,
            });
        }
        None
    }

    /// Counts `nodes` more; `None` past [`MAX_NODES`].
    fn count(&mut self, nodes: usize) -> Option<()> {
        self.nodes += nodes;
        (self.nodes <= MAX_NODES).then_some(())
    }

    fn consume(&mut self, line: Line<'a>) {
        self.pending = None;
        self.pos = line.end;
    }

    /// The block collection starting at the next line, which is at `indent`.
    fn node(&mut self, indent: usize) -> Option<Value> {
        let line = self.peek()?;
        self.collection(indent, is_item(line.content))
    }

    /// The node starting at `next`, the line after a `key:` or a `-` alone in a collection at
    /// `indent` (`next` more indented): a block collection, or a flow collection.
    fn below(&mut self, next: Line<'a>, indent: usize) -> Option<Value> {
        if next.content.starts_with(['[', '{']) {
            self.consume(next);
            self.count(1)?;
            return self.flow(next.content, Some(indent));
        }
        self.node(next.indent)
    }

    /// A block sequence or mapping at `indent`, one level deeper.
    fn collection(&mut self, indent: usize, sequence: bool) -> Option<Value> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        self.count(2)?;
        let value = if sequence {
            self.sequence(indent)
        } else {
            self.mapping(indent)
        };
        self.depth -= 1;
        value
    }

    fn sequence(&mut self, indent: usize) -> Option<Value> {
        let mut items = Vec::new();
        while let Some(line) = self.peek() {
            if line.indent > indent {
                return None;
            }
            if line.indent < indent || !is_item(line.content) {
                break;
            }
            let after_dash = &line.content[1..];
            let rest = after_dash.trim_start_matches(' ');
            let column = indent + 1 + (after_dash.len() - rest.len());
            if rest.trim_end_matches(' ').is_empty() || rest.starts_with('#') {
                // `-` alone: the item is on the next lines, or null.
                self.consume(line);
                match self.peek() {
                    Some(next) if next.indent > indent => items.push(self.below(next, indent)?),
                    _ => items.push(Value::Null),
                }
            } else if is_item(rest) || entry(rest).is_some() {
                // `- - x` or `- key: value`: a collection starting at `column`.
                self.pending = Some(Line {
                    indent: column,
                    content: rest,
                    end: line.end,
                });
                items.push(self.node(column)?);
            } else {
                self.consume(line);
                items.push(self.scalar(rest, indent)?);
            }
        }
        Some(Value::Array(items))
    }

    fn mapping(&mut self, indent: usize) -> Option<Value> {
        let mut map = Map::new();
        while let Some(line) = self.peek() {
            if line.indent < indent {
                break;
            }
            if line.indent > indent || is_item(line.content) {
                return None;
            }
            let (key, rest) = entry(line.content)?;
            self.count(1)?;
            self.consume(line);
            let value = self.value(rest, indent)?;
            if map.insert(key.into_owned(), value).is_some() {
                // A duplicate key: serde-saphyr says so.
                return None;
            }
        }
        Some(Value::Object(map))
    }

    /// The value of a mapping entry at `indent`: `rest` is what follows the `:`.
    fn value(&mut self, rest: &'a str, indent: usize) -> Option<Value> {
        let rest = rest.trim_start_matches(' ');
        if rest.trim_end_matches(' ').is_empty() || rest.starts_with('#') {
            return match self.peek() {
                Some(next) if next.indent > indent => self.below(next, indent),
                Some(next) if next.indent == indent && is_item(next.content) => {
                    self.collection(indent, true)
                }
                _ => Some(Value::Null),
            };
        }
        self.scalar(rest, indent)
    }

    /// A scalar written on its line (`text` starts with its first character), in a
    /// collection at `indent`.
    fn scalar(&mut self, text: &'a str, indent: usize) -> Option<Value> {
        self.count(1)?;
        let value = match text.as_bytes().first()? {
            b'|' | b'>' => return self.literal(text, indent),
            b'"' => {
                let (string, after) = double_quoted(text)?;
                only_comment(after).then_some(Value::String(string))?
            }
            b'\'' => {
                let (string, after) = single_quoted(text)?;
                only_comment(after).then_some(Value::String(string))?
            }
            b'{' | b'[' => return self.flow(text, Some(indent)),
            _ => {
                let first = strip_comment(text);
                let value = plain(first)?;
                if first.len() == text.trim_end_matches(' ').len()
                    && let Some(folded) = self.plain_continuation(first, indent)?
                {
                    return Some(Value::String(folded));
                }
                value
            }
        };
        // A more indented line next would continue the scalar (or be an error).
        match self.peek() {
            Some(next) if next.indent > indent => None,
            _ => Some(value),
        }
    }

    /// A flow collection whose opening bracket starts `text` (a part of the document), perhaps
    /// over several lines, the value of an entry or an item in a collection at `indent`, or the
    /// whole document (`None`). Only a comment may follow it on its last line.
    fn flow(&mut self, text: &'a str, indent: Option<usize>) -> Option<Value> {
        let start = (text.as_ptr() as usize).checked_sub(self.text.as_ptr() as usize)?;
        if start >= self.text.len() {
            return None;
        }
        let (value, end) = flow(self.text, start)?;
        // Each item, key and collection in it, generously.
        let read = &self.text[start..end];
        self.count(2 * read.bytes().filter(|b| b",:[{".contains(b)).count())?;
        let (after, next) = line_at(self.text, end);
        if !only_comment(after) {
            return None;
        }
        self.pending = None;
        self.pos = next;
        // A more indented line next would be an error (a document has one node).
        match self.peek() {
            Some(line) if indent.is_none_or(|indent| line.indent > indent) => None,
            _ => Some(value),
        }
    }

    /// The lines continuing a plain scalar whose first line is `first` (without a comment), in
    /// a collection at `indent`: the whole scalar folded (lines joined by a space, as a long
    /// `description:` in a CRD); `Some(None)` when the next line does not continue it; `None`
    /// for a continuation this reader leaves to serde-saphyr (after a blank line or a comment,
    /// or a line that starts with an indicator or holds `: ` or ` #`).
    fn plain_continuation(&mut self, first: &str, indent: usize) -> Option<Option<String>> {
        let text = self.text;
        let mut folded: Option<String> = None;
        let mut pos = self.pos;
        let mut blank = false;
        while pos < text.len() {
            let (raw, end) = line_at(text, pos);
            let content = raw.trim_start_matches(' ');
            let spaces = raw.len() - content.len();
            let content = content.trim_end_matches(' ');
            if content.is_empty() {
                blank = true;
                pos = end;
                continue;
            }
            if spaces <= indent {
                break;
            }
            let &lead = content.as_bytes().first()?;
            if blank
                || is_indicator(lead)
                || content.contains(": ")
                || content.ends_with(':')
                || content.contains(" #")
            {
                return None;
            }
            let joined = folded.get_or_insert_with(|| first.to_owned());
            joined.push(' ');
            joined.push_str(content);
            self.count(1)?;
            pos = end;
            self.pos = end;
        }
        Some(folded)
    }

    /// A literal block scalar (`|` or `|-`) or a folded one (`>` or `>-`, lines of one
    /// indentation, blank lines between paragraphs) whose header is `header`, in a collection
    /// at `indent`; its lines follow.
    fn literal(&mut self, header: &str, indent: usize) -> Option<Value> {
        let (strip, folded) = match strip_comment(header) {
            "|" => (false, false),
            "|-" => (true, false),
            ">" => (false, true),
            ">-" => (true, true),
            // `|+`, `|2`, ...: not ours.
            _ => return None,
        };
        let text = self.text;
        let mut lines: Vec<&str> = Vec::new();
        let mut content_indent: Option<usize> = None;
        let mut blank_spaces = 0;
        let mut pos = self.pos;
        while pos < text.len() {
            let (raw, end) = line_at(text, pos);
            let spaces = raw.len() - raw.trim_start_matches(' ').len();
            let blank = spaces == raw.len();
            match content_indent {
                _ if blank => blank_spaces = blank_spaces.max(spaces),
                None if spaces > indent => content_indent = Some(spaces),
                None => break,
                Some(content) if spaces < content => break,
                Some(_) => {}
            }
            lines.push(raw);
            pos = end;
        }
        let Some(content_indent) = content_indent else {
            // Only blank lines, or none: leave the odd cases to serde-saphyr.
            return lines.is_empty().then(|| Value::String(String::new()));
        };
        if blank_spaces > content_indent {
            // A line of spaces only, longer than the indentation: content or an error.
            return None;
        }
        self.pos = pos;
        let last = lines
            .iter()
            .rposition(|line| !line.trim_start_matches(' ').is_empty())?;
        let mut string = String::new();
        if folded {
            // Folded: lines joined by a space; blank lines between two lines are line
            // breaks, one each (a paragraph break). Blank lines before the first line, and
            // more indented lines (which keep their line breaks), are serde-saphyr's to fold.
            let mut blank = 0;
            for (index, line) in lines[..=last].iter().enumerate() {
                let text = line.get(content_indent..).unwrap_or("");
                if text.is_empty() {
                    if index == 0 {
                        return None;
                    }
                    blank += 1;
                    continue;
                }
                if text.starts_with(' ') {
                    return None;
                }
                if index > 0 {
                    if blank == 0 {
                        string.push(' ');
                    }
                    for _ in 0..blank {
                        string.push('\n');
                    }
                }
                blank = 0;
                string.push_str(text);
            }
            string.push('\n');
        } else {
            for line in &lines[..=last] {
                string.push_str(line.get(content_indent..).unwrap_or(""));
                string.push('\n');
            }
        }
        if strip {
            string.pop();
        }
        Some(Value::String(string))
    }
}

/// Flow collections nested deeper than this go to serde-saphyr.
const MAX_FLOW_DEPTH: usize = 16;

/// The flow collection whose `[` or `{` is at `start` in `text` (`[sh, -c, "echo hi"]`,
/// `{app: web}`, on one line or over several), and where its closing bracket ends.
///
/// Over several lines, as serde-saphyr reads them (its indentation is not strict, like
/// Kubernetes' reader, go-yaml v2): the indentation of the lines inside a flow collection does
/// not matter; line breaks, blank lines and comments (`#` after a space or at a line's start)
/// may come between any two tokens; a trailing comma (`[a, b,]`) is allowed; a plain scalar
/// may go on over the next lines, each line break folded into a space. Left to serde-saphyr:
/// a blank line inside a plain scalar (a line break), a continuation line starting with an
/// indicator, a line starting with `---`, `...` or `%` (document markers, directives), quoted
/// scalars over several lines, a key not followed on its line by `:` and a space or the line's
/// end, empty entries.
fn flow(text: &str, start: usize) -> Option<(Value, usize)> {
    let mut reader = Flow { text, pos: start };
    let value = reader.collection(0)?;
    Some((value, reader.pos))
}

/// Reads a flow collection; `pos` is where the next token may start.
struct Flow<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Flow<'a> {
    /// The rest of the current line, from `pos` (without its `\n`).
    fn line(&self) -> &'a str {
        line_at(self.text, self.pos).0
    }

    /// The text from `pos` up to the first of `stops` or the line's end. (Each token is
    /// looked at up to its end only: a long line is read in linear time.)
    fn until(&self, stops: &[u8]) -> &'a str {
        let rest = &self.text[self.pos..];
        let end = rest
            .bytes()
            .position(|b| b == b'\n' || stops.contains(&b))
            .unwrap_or(rest.len());
        &rest[..end]
    }

    /// Whether the byte at `at` is a space, a line break or past the end.
    fn blank_at(&self, at: usize) -> bool {
        self.text
            .as_bytes()
            .get(at)
            .is_none_or(|&b| b == b' ' || b == b'\n')
    }

    /// Skips spaces, line breaks and comments: the first byte of the next token. `None` at the
    /// end of the text (an unclosed collection), for a `#` right after a token (serde-saphyr
    /// refuses it), and for a line starting with `---`, `...` or `%`.
    fn skip(&mut self) -> Option<u8> {
        let bytes = self.text.as_bytes();
        loop {
            match *bytes.get(self.pos)? {
                b' ' => self.pos += 1,
                b'\n' => {
                    self.pos += 1;
                    if marker_line(&self.text[self.pos..]) {
                        return None;
                    }
                }
                b'#' => {
                    // A flow collection starts at `pos` 0 at the earliest: a byte precedes.
                    if !matches!(bytes[self.pos - 1], b' ' | b'\n') {
                        return None;
                    }
                    self.pos += self.line().len();
                }
                byte => return Some(byte),
            }
        }
    }

    /// The collection whose opening bracket is at `pos`, `depth` collections deep.
    fn collection(&mut self, depth: usize) -> Option<Value> {
        if depth > MAX_FLOW_DEPTH {
            return None;
        }
        let (close, is_map) = match self.text.as_bytes().get(self.pos)? {
            b'[' => (b']', false),
            b'{' => (b'}', true),
            _ => return None,
        };
        self.pos += 1;
        let mut items = Vec::new();
        let mut map = Map::new();
        if self.skip()? != close {
            loop {
                if is_map {
                    let key = self.key()?;
                    self.skip()?;
                    let value = self.item(depth)?;
                    if map.insert(key, value).is_some() {
                        return None;
                    }
                } else {
                    let value = self.item(depth)?;
                    items.push(value);
                }
                match self.skip()? {
                    b',' => {
                        self.pos += 1;
                        match self.skip()? {
                            // A trailing comma: `[a, b,]`.
                            byte if byte == close => break,
                            // `[a,, b]`, `[a, }`: serde-saphyr's.
                            b',' | b']' | b'}' => return None,
                            _ => {}
                        }
                    }
                    byte if byte == close => break,
                    _ => return None,
                }
            }
        }
        self.pos += 1;
        Some(if is_map {
            Value::Object(map)
        } else {
            Value::Array(items)
        })
    }

    /// A flow mapping's key at `pos`, on one line and followed by `:` then a space or the
    /// line's end; `pos` moves past the `:`.
    fn key(&mut self) -> Option<String> {
        let rest = &self.text[self.pos..];
        let (key, after) = match rest.as_bytes().first()? {
            b'"' => double_quoted(rest)?,
            b'\'' => single_quoted(rest)?,
            _ => {
                let text = self.until(b",[]{}");
                let colon = text
                    .match_indices(':')
                    .map(|(i, _)| i)
                    .find(|&i| self.blank_at(self.pos + i + 1))?;
                let key = &text[..colon];
                if key.contains(['#', ':']) || !plain_key(key) {
                    return None;
                }
                (key.to_owned(), &rest[colon..])
            }
        };
        let after = after.strip_prefix(':')?;
        self.pos = self.text.len() - after.len();
        (key.len() <= MAX_KEY && self.blank_at(self.pos)).then_some(key)
    }

    /// An item of a flow collection (a value of a flow mapping) at `pos`, in a collection
    /// `depth` deep.
    fn item(&mut self, depth: usize) -> Option<Value> {
        let rest = &self.text[self.pos..];
        let (string, after) = match rest.as_bytes().first()? {
            b'"' => double_quoted(rest)?,
            b'\'' => single_quoted(rest)?,
            b'[' | b'{' => return self.collection(depth + 1),
            _ => return self.plain(),
        };
        self.pos = self.text.len() - after.len();
        Some(Value::String(string))
    }

    /// A plain scalar at `pos`, perhaps going on over the next lines (folded: each line break
    /// a space).
    fn plain(&mut self) -> Option<Value> {
        let first = self.segment()?;
        let value = plain(first)?;
        let mut folded: Option<String> = None;
        // When the line ends right after the scalar, the next line with content may go on.
        loop {
            let spaces =
                self.text[self.pos..].len() - self.text[self.pos..].trim_start_matches(' ').len();
            match self.text.as_bytes().get(self.pos + spaces) {
                Some(b'\n') => {}
                Some(_) => break,
                // The collection is not closed.
                None => return None,
            }
            let mut pos = self.pos + spaces + 1;
            let mut blank = false;
            let (start, content) = loop {
                if pos >= self.text.len() {
                    // The collection is not closed.
                    return None;
                }
                let (raw, end) = line_at(self.text, pos);
                let content = raw.trim_start_matches(' ');
                if content.trim_end_matches(' ').is_empty() {
                    blank = true;
                    pos = end;
                    continue;
                }
                break (pos + raw.len() - content.len(), content);
            };
            let lead = content.as_bytes()[0];
            if matches!(lead, b',' | b']' | b'}' | b'#') {
                // The scalar ends; [`Flow::skip`] goes on from its end.
                break;
            }
            if blank || is_indicator(lead) || marker_line(&self.text[pos..]) {
                return None;
            }
            self.pos = start;
            let more = self.segment()?;
            let joined = folded.get_or_insert_with(|| first.to_owned());
            joined.push(' ');
            joined.push_str(more);
        }
        Some(folded.map_or(value, Value::String))
    }

    /// The text of a plain scalar on the current line from `pos`, up to a flow indicator, a
    /// comment or the line's end, without trailing spaces; `pos` moves past it. `None` when it
    /// is empty or holds a `:` (a key, a URL: left to serde-saphyr).
    fn segment(&mut self) -> Option<&'a str> {
        let text = self.until(b",[]{}");
        let end = text.find(" #").unwrap_or(text.len());
        let segment = text[..end].trim_end_matches(' ');
        if segment.is_empty() || segment.contains(':') {
            return None;
        }
        self.pos += segment.len();
        Some(segment)
    }
}

/// Whether a line (`text` from its start) starts with what may be a document marker or a
/// directive: `---`, `...`, `%`.
fn marker_line(text: &str) -> bool {
    text.starts_with("---") || text.starts_with("...") || text.starts_with('%')
}

/// The line starting at `pos` (without its `\n`) and where the next one starts.
fn line_at(text: &str, pos: usize) -> (&str, usize) {
    let rest = &text[pos..];
    match rest.find('\n') {
        Some(i) => (&rest[..i], pos + i + 1),
        None => (rest, text.len()),
    }
}

/// Whether a line is a block sequence item (`-` then a space or nothing).
fn is_item(content: &str) -> bool {
    content
        .strip_prefix('-')
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
}

/// Splits a mapping entry line into its key and what follows the `:` (empty, or starting with
/// a space); `None` if the line is not a simple `key: ...` entry.
///
/// A plain key is borrowed: telling a `- key: value` item from a scalar item costs no copy.
fn entry(content: &str) -> Option<(Cow<'_, str>, &str)> {
    let (key, after) = match content.as_bytes().first()? {
        b'"' => {
            let (key, after) = double_quoted(content)?;
            (Cow::Owned(key), after.strip_prefix(':')?)
        }
        b'\'' => {
            let (key, after) = single_quoted(content)?;
            (Cow::Owned(key), after.strip_prefix(':')?)
        }
        _ => {
            let code = match content.find(" #") {
                Some(comment) => &content[..comment],
                None => content,
            };
            let colon = code
                .match_indices(':')
                .map(|(i, _)| i)
                .find(|&i| code.as_bytes().get(i + 1).is_none_or(|&b| b == b' '))?;
            let key = &code[..colon];
            if !plain_key(key) {
                return None;
            }
            (Cow::Borrowed(key), &content[colon + 1..])
        }
    };
    (key.len() <= MAX_KEY && (after.is_empty() || after.starts_with(' '))).then_some((key, after))
}

/// Whether a plain key is certainly read as this string.
fn plain_key(key: &str) -> bool {
    let Some(&first) = key.as_bytes().first() else {
        return false;
    };
    !(is_indicator(first)
        || key.ends_with(' ')
        || key == "<<"
        || matches!(key, "~" | "null" | "Null" | "NULL")
        || bool_value(key).is_some()
        || first.is_ascii_digit()
        || matches!(first, b'.' | b'+'))
}

/// Bytes that cannot start a plain scalar (or start one only in some contexts).
pub(super) fn is_indicator(byte: u8) -> bool {
    matches!(
        byte,
        b'-' | b'?'
            | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
    )
}

/// A YAML 1.1 boolean as serde-saphyr reads one (any case).
fn bool_value(text: &str) -> Option<bool> {
    const TRUE: [&str; 4] = ["true", "yes", "y", "on"];
    const FALSE: [&str; 4] = ["false", "no", "n", "off"];
    if TRUE.iter().any(|word| text.eq_ignore_ascii_case(word)) {
        Some(true)
    } else if FALSE.iter().any(|word| text.eq_ignore_ascii_case(word)) {
        Some(false)
    } else {
        None
    }
}

/// Whether serde-saphyr reads `text` as a boolean where Kubernetes' reader (go-yaml v2, which
/// knows `yes`, `Yes` and `YES` but not `yEs`) reads text: a mixed-case spelling.
pub(crate) fn ambiguous_bool(text: &str) -> bool {
    bool_value(text).is_some()
        && !(text.bytes().all(|b| b.is_ascii_lowercase())
            || text.bytes().all(|b| b.is_ascii_uppercase())
            || (text.as_bytes()[0].is_ascii_uppercase()
                && text.bytes().skip(1).all(|b| b.is_ascii_lowercase())))
}

/// The text before a ` #` comment, without trailing spaces.
fn strip_comment(text: &str) -> &str {
    match text.find(" #") {
        Some(comment) => &text[..comment],
        None => text,
    }
    .trim_end_matches(' ')
}

/// Whether what follows a quoted scalar is nothing or a comment.
fn only_comment(after: &str) -> bool {
    let trimmed = after.trim_start_matches(' ');
    trimmed.is_empty() || (trimmed.starts_with('#') && trimmed.len() < after.len())
}

/// A plain scalar's value, when its type is certain.
fn plain(text: &str) -> Option<Value> {
    let bytes = text.as_bytes();
    let first = *bytes.first()?;
    if text.contains(": ") || text.ends_with(':') {
        return None;
    }
    if matches!(text, "~" | "null" | "Null" | "NULL") {
        return Some(Value::Null);
    }
    if let Some(boolean) = bool_value(text) {
        // `yEs`: for the slow path to refuse (see `parse::refuse_ambiguous_scalars`).
        return (!ambiguous_bool(text)).then_some(Value::Bool(boolean));
    }
    if first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.') {
        if first == b'-' && bytes.get(1).is_none_or(|&b| b == b' ') {
            // `- x` after a key is not a plain scalar.
            return None;
        }
        if let Some(number) = integer(text) {
            return Some(Value::Number(number));
        }
        if let Some(value) = octal(text).or_else(|| decimal_float(text)) {
            return Some(value);
        }
        // What serde-saphyr may read as a number (a float, `0x1F`, `.inf`, `1_000`) is for it
        // to say; anything else here is a string (`100Mi`, `1.28-alpine`, `-c`, `-Xmx512m`).
        let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
        let Some(&lead) = unsigned.as_bytes().first() else {
            return Some(Value::String(text.to_owned()));
        };
        if !(lead.is_ascii_digit() || lead == b'.') {
            return Some(Value::String(text.to_owned()));
        }
        let radix_digits = match unsigned.as_bytes() {
            [b'0', b'x' | b'X', digits @ ..] => Some((digits, true)),
            [b'0', b'o' | b'O' | b'b' | b'B', digits @ ..] => Some((digits, false)),
            _ => None,
        };
        // `0x1F` may be a number; `0b6f7c2e-4c1a` (a uid) is not.
        let radix = radix_digits.is_some_and(|(digits, hex)| {
            digits.iter().all(|&b| {
                b == b'_'
                    || if hex {
                        b.is_ascii_hexdigit()
                    } else {
                        b.is_ascii_digit()
                    }
            })
        });
        let numeric = |b: u8| {
            b.is_ascii_digit()
                || matches!(
                    b.to_ascii_lowercase(),
                    b'.' | b'e' | b'+' | b'-' | b'_' | b'i' | b'n' | b'f' | b'a'
                )
        };
        // Two dots or more (`1.15.1`, `10.0.0.1`): neither an integer nor a float (serde-saphyr
        // reads floats as Rust does, with one dot at most; go-yaml v2 the same), so a string.
        let dotted = unsigned.bytes().filter(|&b| b == b'.').nth(1).is_some();
        if radix || (radix_digits.is_none() && !dotted && unsigned.bytes().all(numeric)) {
            return None;
        }
        return Some(Value::String(text.to_owned()));
    }
    if is_indicator(first) {
        return None;
    }
    Some(Value::String(text.to_owned()))
}

/// `0`, `123`, `-45` (no sign `+`, no leading zero, no `_`), within 64 bits.
fn integer(text: &str) -> Option<Number> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, text),
    };
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || (digits.starts_with('0') && (digits.len() > 1 || negative))
    {
        return None;
    }
    if negative {
        text.parse::<i64>().ok().map(Number::from)
    } else {
        digits.parse::<u64>().ok().map(Number::from)
    }
}

/// `0640`: an octal integer, as YAML 1.1 (and Kubernetes' reader) reads a plain integer with a
/// leading zero (416). Without a sign or `_`; `08` and the like are left to serde-saphyr.
fn octal(text: &str) -> Option<Value> {
    let digits = text.strip_prefix('0')?;
    if digits.is_empty() || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return None;
    }
    u64::from_str_radix(digits, 8).ok().map(Value::from)
}

/// `0.15`, `-2.5`: digits, one dot, digits, read as serde-saphyr reads a float (Rust's parser)
/// and made a JSON number as Kubernetes' reader makes it (`1.0` is 1).
fn decimal_float(text: &str) -> Option<Value> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = unsigned.split_once('.')?;
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !(digits(whole) && digits(fraction)) || unsigned.len() > 24 {
        return None;
    }
    super::parse::float_value::<serde_json::Error>(text.parse().ok()?).ok()
}

/// A double-quoted scalar ending on its line, and what follows its closing quote; `None` if
/// it does not end on its line.
fn double_quoted(text: &str) -> Option<(String, &str)> {
    let body = text.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &body[i + 1..])),
            '\n' => return None,
            '\\' => {
                let (_, escape) = chars.next()?;
                let hex = |chars: &mut std::str::CharIndices<'_>, n: usize| -> Option<char> {
                    let mut code = 0u32;
                    for _ in 0..n {
                        code = code * 16 + chars.next()?.1.to_digit(16)?;
                    }
                    char::from_u32(code)
                };
                out.push(match escape {
                    '0' => '\0',
                    'a' => '\u{7}',
                    'b' => '\u{8}',
                    't' => '\t',
                    'n' => '\n',
                    'v' => '\u{b}',
                    'f' => '\u{c}',
                    'r' => '\r',
                    'e' => '\u{1b}',
                    ' ' => ' ',
                    '"' => '"',
                    '/' => '/',
                    '\\' => '\\',
                    'N' => '\u{85}',
                    '_' => '\u{a0}',
                    'L' => '\u{2028}',
                    'P' => '\u{2029}',
                    'x' => hex(&mut chars, 2)?,
                    'u' => hex(&mut chars, 4)?,
                    'U' => hex(&mut chars, 8)?,
                    _ => return None,
                });
            }
            c => out.push(c),
        }
    }
    None
}

/// A single-quoted scalar ending on its line, and what follows its closing quote; `None` if
/// it does not end on its line.
fn single_quoted(text: &str) -> Option<(String, &str)> {
    let body = text.strip_prefix('\'')?;
    let mut out = String::new();
    let mut rest = body;
    loop {
        let quote = rest.find(['\'', '\n'])?;
        if rest.as_bytes()[quote] == b'\n' {
            return None;
        }
        out.push_str(&rest[..quote]);
        rest = &rest[quote + 1..];
        match rest.strip_prefix('\'') {
            Some(after) => {
                out.push('\'');
                rest = after;
            }
            None => return Some((out, rest)),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::{parse, parse_document};
    /// The slow path: serde-saphyr, read as Kubernetes reads YAML.
    fn saphyr(text: &str) -> Result<Value, serde_saphyr::Error> {
        crate::manifest::parse::yaml_value(text)
    }

    /// Reads `text` both ways; when the fast reader gives a value, serde-saphyr must give the
    /// same. Returns whether the fast reader took it.
    fn agree(text: &str) -> bool {
        let Some(fast) = parse(text, false) else {
            return false;
        };
        match saphyr(text) {
            Ok(value) => assert_eq!(fast, value, "the two readers differ on {text:?}"),
            Err(error) => panic!("fast reader accepted {text:?} as {fast}, serde-saphyr: {error}"),
        }
        // The same text after a `---` marker (with a comment on its line) reads the same.
        let after = format!(" # after the marker\n{text}");
        assert_eq!(
            parse(&after, true),
            Some(fast.clone()),
            "after a marker: {text:?}"
        );
        // With `\r\n` line ends, as serde-saphyr reads them.
        let windows = text.replace('\n', "\r\n");
        match saphyr(&windows) {
            Ok(value) => {
                assert_eq!(
                    parse_document(&windows, false),
                    Some(value),
                    "\\r\\n: {text:?}"
                );
            }
            Err(error) => panic!("{windows:?} is not read by serde-saphyr: {error}"),
        }
        true
    }

    const KUBECTL: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  annotations:
    deployment.kubernetes.io/revision: \"2\"
    kubectl.kubernetes.io/last-applied-configuration: |
      {\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\"}
  creationTimestamp: \"2026-12-01T09:00:00Z\"
  generation: 2
  labels:
    app: web
    app.kubernetes.io/name: web
  name: web
  namespace: default
  resourceVersion: \"1234\"
  uid: 0b6f7c2e-4c1a-4d0e-9d7a-3f1e2a9b8c7d
spec:
  progressDeadlineSeconds: 600
  replicas: 3
  revisionHistoryLimit: 10
  selector:
    matchLabels:
      app: web
  strategy:
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 0
    type: RollingUpdate
  template:
    metadata:
      creationTimestamp: null
      labels:
        app: web
    spec:
      containers:
      - args:
        - --port
        - \"80\"
        - -v
        command:
        - sh
        - -c
        - |
          echo hello
            indented: kept
          # not a comment

          done
        env:
        - name: GREETING
          value: 'it''s here'
        - name: EMPTY
          value: \"\"
        - name: ESCAPED
          value: \"tab\\there \\\"quoted\\\" \\u00e9 \\x41\"
        image: nginx:1.28
        imagePullPolicy: IfNotPresent
        name: web
        ports:
        - containerPort: 80
          name: http
          protocol: TCP
        readinessProbe:
          httpGet:
            path: /
            port: http
        resources:
          limits:
            cpu: 500m
            memory: 128Mi
          requests: {}
        terminationMessagePath: /dev/termination-log
        volumeMounts: []
      dnsPolicy: ClusterFirst
      restartPolicy: Always
      terminationGracePeriodSeconds: 30
status:
  availableReplicas: 3
  conditions:
  - lastTransitionTime: \"2026-12-01T09:00:05Z\"
    message: ReplicaSet \"web-5d4f\" has successfully progressed.
    reason: NewReplicaSetAvailable
    status: \"True\"
    type: Progressing
  observedGeneration: 2
";

    const HAND_WRITTEN: &str = "\
# The walkthrough's web-pod.yaml, as a person writes it.
apiVersion: v1
kind: Pod
metadata:
  name: web   # the Pod's name
  labels:
    run: web
spec:
  containers:
    - name: web
      image: nginx:1.28

      ports:
        - containerPort: 80   # nginx listens here
    - name: sidecar
      image: busybox
      command: [\"sh\"]
";

    #[test]
    fn kubectl_output_is_read_fast_and_the_same() {
        assert!(agree(KUBECTL));
        let value = parse(KUBECTL, false).unwrap();
        assert_eq!(
            value["spec"]["strategy"]["rollingUpdate"]["maxSurge"],
            json!("25%")
        );
        assert_eq!(value["spec"]["replicas"], json!(3));
        assert_eq!(
            value["spec"]["template"]["spec"]["containers"][0]["command"][2],
            json!("echo hello\n  indented: kept\n# not a comment\n\ndone\n")
        );
        assert_eq!(value["status"]["conditions"][0]["status"], json!("True"));
    }

    #[test]
    fn dotted_versions_and_addresses_are_read_fast_as_strings() {
        for text in [
            "app.kubernetes.io/version: 1.15.1",
            "ip: 10.0.0.1",
            "a: [10.0.0.1, 1.2.3-rc.1, -1.2.3]",
            "- 0.1.2\n- 1.2.3e4\n- 1..2",
        ] {
            assert!(agree(text), "not read fast: {text:?}");
        }
        assert_eq!(
            parse("v: 1.15.1\nip: 10.0.0.1", false),
            Some(json!({"v": "1.15.1", "ip": "10.0.0.1"}))
        );
        // One dot is a float.
        assert_eq!(parse("v: 1.15", false), Some(json!({"v": 1.15})));
    }

    #[test]
    fn plain_scalars_continued_on_more_lines_are_read_fast() {
        let text = "description: Size is how big, a plain scalar\n  continued on the next line.\n    And 1.15.1 more.\nnext: 1\n";
        assert!(agree(text));
        assert_eq!(
            parse(text, false),
            Some(json!({
                "description": "Size is how big, a plain scalar continued on the next line. And 1.15.1 more.",
                "next": 1,
            }))
        );
        assert!(agree("- a\n  b\n- c: d\n    e\n"));
        // After a blank line (a line break), a comment, or with an indicator: serde-saphyr's.
        for text in [
            "a: b\n\n  c",
            "a: b\n  # c\n  d",
            "a: b\n  - c",
            "a: b #c\n  d",
            "a: b\n  c: d",
            "a: \"b\"\n  c",
        ] {
            assert_eq!(parse(text, false), None, "{text:?}");
        }
    }

    #[test]
    fn octal_integers_decimal_floats_and_folded_text_are_read_fast() {
        let text = "mode: 0640\nzero: 00\ncpu: 0.15\nratio: -2.50\nwhole: 1.0\nd: >-\n  folded\n  text\ne: >\n  kept\n\nf: 1\n";
        assert!(agree(text));
        assert_eq!(
            parse(text, false),
            Some(json!({
                "mode": 416, "zero": 0, "cpu": 0.15, "ratio": -2.5, "whole": 1,
                "d": "folded text", "e": "kept\n", "f": 1,
            }))
        );
    }

    #[test]
    fn folded_paragraphs_are_read_fast() {
        let text = "a: >\n  one\n  two\n\n  three\n\n\n  four\nb: >-\n  x\n \n  y\n\nc: 1\n";
        assert!(agree(text));
        assert_eq!(
            parse(text, false),
            Some(json!({"a": "one two\nthree\n\nfour\n", "b": "x\ny", "c": 1}))
        );
    }

    #[test]
    fn windows_line_ends_are_read_fast_and_a_lone_carriage_return_is_not() {
        let text = "a: b\r\nc: |\r\n  x\r\n  y\r\nd: [1, 2]\r\n";
        assert_eq!(
            parse_document(text, false),
            Some(json!({"a": "b", "c": "x\ny\n", "d": [1, 2]}))
        );
        assert_eq!(
            parse_document(text, false).as_ref(),
            saphyr(text).ok().as_ref()
        );
        assert_eq!(parse_document("a: b\rc\n", false), None);
        assert_eq!(parse_document("a: b\r", false), None);
    }

    #[test]
    fn the_repositorys_manifests_are_read_fast() {
        for (name, text) in [
            (
                "examples/web-pod.yaml",
                include_str!("../../../examples/web-pod.yaml"),
            ),
            (
                "kubekit/tests/fixtures/macro-test.yaml",
                include_str!("../../tests/fixtures/macro-test.yaml"),
            ),
            // Flow collections over several lines; kubectl's reading of it is recorded.
            (
                "kubekit/tests/fixtures/conformance/flow-multiline.yaml",
                include_str!("../../tests/fixtures/conformance/flow-multiline.yaml"),
            ),
        ] {
            for document in crate::manifest::parse::split(text) {
                let fast = parse(document.text, document.after_marker());
                assert!(
                    fast.is_some(),
                    "{name}, document {}: not read fast",
                    document.index
                );
                let expected = saphyr(document.text).unwrap();
                assert_eq!(
                    fast.unwrap(),
                    expected,
                    "{name}, document {}",
                    document.index
                );
            }
        }
    }

    #[test]
    fn what_kubekit_renders_is_read_fast_and_the_same() {
        use k8s_openapi::api::core::v1::{Container, EnvVar, Pod, PodSpec};
        let env = [
            ("A", "yes"),
            ("B", "80"),
            ("C", "a #b"),
            ("D", ""),
            ("E", "x: y"),
        ]
        .map(|(name, value)| EnvVar {
            name: name.to_owned(),
            value: Some(value.to_owned()),
            ..Default::default()
        });
        let pod = Pod {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some("web".to_owned()),
                labels: Some([("app".to_owned(), "web".to_owned())].into()),
                ..Default::default()
            },
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "web".to_owned(),
                    image: Some("nginx:1.28".to_owned()),
                    command: Some(
                        ["sh", "-c", "echo 'hi: there'\nsleep 1\n"]
                            .map(str::to_owned)
                            .to_vec(),
                    ),
                    env: Some(env.to_vec()),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            status: None,
        };
        let yaml = crate::manifest::to_yaml(&pod).unwrap();
        assert!(agree(&yaml), "not read fast:\n{yaml}");
    }

    #[test]
    fn hand_written_manifests_with_comments_and_indented_sequences() {
        assert!(agree(HAND_WRITTEN));
        let value = parse(HAND_WRITTEN, false).unwrap();
        assert_eq!(value["spec"]["containers"][1]["command"], json!(["sh"]));
        assert_eq!(
            value["spec"]["containers"][0]["ports"][0]["containerPort"],
            json!(80)
        );
        // A flow sequence over two lines is read fast too.
        let wrapped = HAND_WRITTEN.replace("[\"sh\"]", "[\"sh\",\n        \"-c\"]");
        assert!(agree(&wrapped));
        assert_eq!(
            parse(&wrapped, false).unwrap()["spec"]["containers"][1]["command"],
            json!(["sh", "-c"])
        );
    }

    #[test]
    fn flow_collections_over_several_lines_are_read_fast() {
        let text = "\
spec:
  containers:
    - name: app
      args: [
        \"--port=8080\",
        \"--verbose\"
      ]
      command: [\"sh\", \"-c\",
                \"echo hi\"]
  selector: {matchLabels: {app: web},
             tier: front}
";
        assert!(agree(text), "not read fast:\n{text}");
        assert_eq!(
            parse(text, false).unwrap(),
            json!({"spec": {
                "containers": [{
                    "name": "app",
                    "args": ["--port=8080", "--verbose"],
                    "command": ["sh", "-c", "echo hi"],
                }],
                "selector": {"matchLabels": {"app": "web"}, "tier": "front"},
            }})
        );
        for (text, expected) in [
            // Comments after items and on lines of their own, trailing commas, blank lines.
            (
                "a: [\n  one,   # the first\n  # between\n\n  'two',\n]\nb: 1\n",
                json!({"a": ["one", "two"], "b": 1}),
            ),
            (
                "a: {\n  k: v, # c\n  port: 80,\n  }\n",
                json!({"a": {"k": "v", "port": 80}}),
            ),
            // A plain scalar over lines: each line break folded into a space.
            (
                "a: [one\n    two three,\n  four\n]\n",
                json!({"a": ["one two three", "four"]}),
            ),
            ("a: {k: one\n  two}", json!({"a": {"k": "one two"}})),
            // A value on the line after its key; a comment before it.
            (
                "a: {k:\n  v, m: # c\n  1}",
                json!({"a": {"k": "v", "m": 1}}),
            ),
            // Nested, in a sequence item, under-indented lines (as serde-saphyr, and
            // Kubernetes' reader, read them: indentation inside a flow does not count).
            (
                "- [a, [b,\n  c], {d: [e,\nf]}]\n- g\n",
                json!([["a", ["b", "c"], {"d": ["e", "f"]}], "g"]),
            ),
            ("a: [\nx,\n]\n", json!({"a": ["x"]})),
            // On the line after its key or `-`.
            (
                "a:\n  [x,\n   w]\nb:\n  {c: d}\ne:\n-\n  [f,\n  g] # c\n- h\n",
                json!({"a": ["x", "w"], "b": {"c": "d"}, "e": [["f", "g"], "h"]}),
            ),
            // A document that is a flow collection over several lines.
            ("[a,\n b, # c\n]\n# end\n", json!(["a", "b"])),
            (
                "{app: web,\n tier: front, 'n': [1,\n 2]}\n",
                json!({"app": "web", "tier": "front", "n": [1, 2]}),
            ),
            (
                "# first\n{\n  \"a\": 1.5,\n  \"b\": [x]\n}\n",
                json!({"a": 1.5, "b": ["x"]}),
            ),
        ] {
            assert!(agree(text), "not read fast: {text:?}");
            assert_eq!(parse(text, false).unwrap(), expected, "{text:?}");
        }
        // Left to serde-saphyr: quoted scalars over lines, a blank line or an indicator in a
        // plain scalar, `#` right after a token, empty entries, document markers, anchors,
        // tags, `?` keys, a key not followed by `:` on its line, something after the
        // collection, a more indented line after it, an unclosed collection.
        for text in [
            "a: [\"x\n  y\"]",
            "a: ['x\n  y']",
            "a: [x\n\n  y]",
            "a: [x\n  -y]",
            "a: [x\n  'y']",
            "a: [# c\n  x]",
            "a: [\"x\"# c\n  ]",
            "a: [x,#c\n  y]",
            "a: [x,,\n  y]",
            "a: [,\n  x]",
            "a: [x,\n---]",
            "a: [x\n...]",
            "a: [x,\n%x]",
            "a: [&a x,\n  *a]",
            "a: [!t x,\n  y]",
            "a: {? x,\n  y: z}",
            "a: {x\n  : y}",
            "a: {x: 1,\n  x: 2}",
            "a: [x: y,\n  z]",
            "a: [x,\n  y] z",
            "a: [x,\n  y]\n  b: 1",
            "a:\n  [x,\n  y]\n  b: 1",
            "a:\n  [x,\n  y]: z",
            "-\n  {x: y}\n  - z",
            "a: [x,\n  y",
            "[a,\n b]\nc: d",
            "{a: 1,\n b}",
            "a: [x,\n\ty]",
        ] {
            assert_eq!(parse(text, false), None, "read fast: {text:?}");
        }
    }

    #[test]
    fn scalars_are_typed_as_serde_saphyr_types_them() {
        for (text, expected) in [
            ("a: 0", json!({"a": 0})),
            ("a: 80", json!({"a": 80})),
            ("a: -80", json!({"a": -80})),
            ("a: 18446744073709551615", json!({"a": u64::MAX})),
            ("a: yes", json!({"a": true})),
            ("a: Off", json!({"a": false})),
            ("a: ~", json!({"a": null})),
            ("a:", json!({"a": null})),
            ("a: NULL", json!({"a": null})),
            ("a: 100Mi", json!({"a": "100Mi"})),
            ("a: 1.28-alpine", json!({"a": "1.28-alpine"})),
            ("a: -Xmx512m", json!({"a": "-Xmx512m"})),
            ("a: nginx:1.28", json!({"a": "nginx:1.28"})),
            ("a: http://x/#frag", json!({"a": "http://x/#frag"})),
            ("a: b #c", json!({"a": "b"})),
            ("a: 'b #c'", json!({"a": "b #c"})),
            (
                "a: \"\\\\ \\/ \\N \\_ \\U0001F600\"",
                json!({"a": "\\ / \u{85} \u{a0} 😀"}),
            ),
            ("'a b': 1\n\"c\": 2", json!({"a b": 1, "c": 2})),
            (
                "- a\n-\n- - b\n  - c\n- d: 1\n  e: 2",
                json!(["a", null, ["b", "c"], {"d": 1, "e": 2}]),
            ),
            ("a:\n- 1\n- 2\nb: 3", json!({"a": [1, 2], "b": 3})),
            (
                "a: |-\n  x\n\n  y\n\n\nb: 1",
                json!({"a": "x\n\ny", "b": 1}),
            ),
            ("a: |\nb: 1", json!({"a": "", "b": 1})),
            ("a: é ü", json!({"a": "é ü"})),
            (
                "a: [sh, -c, \"echo hi\", 'x', 80, yes, ~]",
                json!({"a": ["sh", "-c", "echo hi", "x", 80, true, null]}),
            ),
            (
                "a: {app: web, 'k': [1, {b: c}]} # c",
                json!({"a": {"app": "web", "k": [1, {"b": "c"}]}}),
            ),
            ("- [ ]\n- { }", json!([[], {}])),
        ] {
            assert!(agree(text), "not read fast: {text:?}");
            assert_eq!(parse(text, false).unwrap(), expected, "{text:?}");
        }
    }

    /// Nested mappings `levels` deep, one key each.
    fn nested(levels: usize) -> String {
        let mut text: String = (0..levels)
            .map(|level| format!("{}k{level}:\n", " ".repeat(level)))
            .collect();
        text.push_str(&" ".repeat(levels));
        text.push_str("x: 1\n");
        text
    }

    #[test]
    fn documents_past_serde_saphyrs_limits_are_left_to_it() {
        // serde-saphyr refuses documents nested deeper than 64: so must the fast reader.
        let deep = nested(70);
        assert!(saphyr(&deep).is_err());
        assert_eq!(parse(&deep, false), None);
        assert!(agree(&nested(30)));
        // Many nodes, long keys.
        let wide: String = (0..60_000).map(|i| format!("k{i}: v\n")).collect();
        assert_eq!(parse(&wide, false), None);
        let fine: String = (0..20_000).map(|i| format!("k{i}: v\n")).collect();
        assert!(agree(&fine));
        assert_eq!(parse(&format!("{}: 1", "k".repeat(600)), false), None);
        // Long flow collections, on one line and over many: read in linear time.
        let items: Vec<String> = (0..20_000).map(|i| format!("item{i}")).collect();
        let one_line = format!("a: [{}]\n", items.join(", "));
        let many_lines = format!("a: [\n  {},\n]\n", items.join(",\n  "));
        let map = format!(
            "{{{}}}",
            items
                .iter()
                .map(|i| format!("{i}: 'v'"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for text in [&one_line, &many_lines, &map] {
            let started = std::time::Instant::now();
            assert!(parse(text, false).is_some());
            assert!(started.elapsed() < std::time::Duration::from_secs(2));
            assert!(agree(text));
        }
        let wide = format!("a: [{}]", vec!["x"; 60_000].join(", "));
        assert_eq!(parse(&wide, false), None);
    }

    #[test]
    fn anything_outside_the_subset_is_left_to_serde_saphyr() {
        for text in [
            "a: &x 1\nb: *x",
            "a: !!str 80",
            "a: {b: 1, c}",
            "a: |+\n  kept\n\n",
            "a: >\n  folded\n    more\n",
            "a: 08",
            "a: 1.5e3",
            "a: .5",
            "a: +1.5",
            "a: |2\n   x\n",
            "a: \"double\n  quoted\"",
            "a: 0x1F",
            "a: +1",
            "a: .inf",
            "a: 1e3",
            "a:\tb",
            "a: 1\na: 2",
            "<<: {a: 1}",
            "80: port",
            "true: x",
            "null: x",
            "? complex\n: key",
            "a: b: c",
            "a: - b",
            "a:\n  - b\n c: d",
            "  a: 1\nb: 2",
            "scalar document",
            "a: \"\\q\"",
            "a: 1\n  b: 2",
            "\u{feff}a: 1",
        ] {
            assert_eq!(parse(text, false), None, "read fast: {text:?}");
        }
    }

    #[test]
    fn after_a_marker_only_a_comment_may_follow() {
        assert_eq!(parse("\na: 1\n", true), Some(json!({"a": 1})));
        assert_eq!(parse(" # c\na: 1\n", true), Some(json!({"a": 1})));
        assert_eq!(parse(" |\n  x\n", true), None);
        assert_eq!(parse(" !tag\na: 1\n", true), None);
        assert_eq!(parse("\n# nothing\n", true), Some(Value::Null));
    }

    /// Lines made of the pieces manifests are made of, at varied indentation.
    fn line_soup() -> impl Strategy<Value = String> {
        let piece = prop::sample::select(vec![
            "- ",
            "-",
            "a: ",
            "b:",
            "key: ",
            "'q k': ",
            "\"d\\\"k\": ",
            "? ",
            ": ",
            "<<: ",
            "80: ",
            "a",
            "b c",
            "80",
            "-1",
            "0",
            "012",
            "1.5",
            "1e3",
            "100Mi",
            "1.15.1",
            "10.0.0.1",
            "0.1.2",
            ".1.",
            "1..2",
            "1.2.3e4",
            "-1.2.3",
            "1.",
            "v1.2",
            "yes",
            "No",
            "~",
            "null",
            "true",
            "\"x\\ty\"",
            "\"\\u00e9\"",
            "'it''s'",
            "'",
            "\"",
            "|",
            "|-",
            "|+",
            ">",
            "{}",
            "[]",
            "{a: 1}",
            "[1]",
            " #c",
            "#c",
            "&x ",
            "*x",
            "!t ",
            "%",
            "@",
            "`",
            "é",
            ":",
            "::",
            "a:b",
            "http://x",
            ".inf",
            "-.nan",
            "0x1F",
            "+1",
            "-x",
            "-- ",
            "--- ",
            "...",
            " ",
            "[",
            "{",
            "]",
            "}",
            ", ",
            "a, ",
            "],",
            "'q',",
            "x #c",
        ]);
        let line = (0usize..7, prop::collection::vec(piece, 0..4))
            .prop_map(|(indent, pieces)| format!("{}{}", " ".repeat(indent), pieces.concat()));
        prop::collection::vec(line, 1..14).prop_map(|lines| lines.join("\n"))
    }

    /// A document's shape, written out by [`Shape::write`] in varied block styles.
    #[derive(Clone, Debug)]
    enum Shape {
        Scalar(&'static str),
        /// A plain scalar continued on more indented lines.
        Continued(&'static str, Vec<&'static str>),
        Literal(&'static str, Vec<&'static str>),
        /// A flow collection, laid out over lines as the gaps say (see [`write_flow`]).
        Flow(FlowNode, Vec<(u8, u8)>),
        Map(Vec<(&'static str, Shape)>),
        Seq(Vec<Shape>),
    }

    const KEYS: &[&str] = &[
        "a",
        "name",
        "image",
        "app.kubernetes.io/name",
        "'q k'",
        "\"d k\"",
        "k8s",
        "x y",
        "a#b",
        "a:b",
        "~",
        "null",
        "yes",
        "80",
        "1.15.1",
        "0640",
        "on",
        "y",
        "-k",
        "<<",
        "\"\"",
        "''",
        "\"\\u00e9\"",
        "é",
        "a ",
        "?k",
        "&a",
        "!t",
    ];

    /// Scalars in the subset.
    const COMMON: &[&str] = &[
        "web",
        "nginx:1.28",
        "80",
        "0",
        "-1",
        "100Mi",
        "500m",
        "25%",
        "yes",
        "~",
        "\"80\"",
        "'it''s'",
        "\"a\\tb\"",
        "{}",
        "[]",
        "a #c",
        "http://x/#f",
        "-c",
        "é ü",
        "0b6f-7c",
        "1.15.1",
        "10.0.0.1",
        "1.2.3-rc.1",
    ];

    /// Scalars in and out of the subset, and a few that are not YAML.
    const SCALARS: &[&str] = &[
        "web",
        "nginx:1.28",
        "80",
        "0",
        "-1",
        "012",
        "1.5",
        "1e3",
        "0x1F",
        "0b6f-7c",
        "1.15.1",
        "10.0.0.1",
        "10.0.0.0/8",
        "0.1.2",
        "00.1.1",
        "-1.2.3",
        "+1.2.3",
        "1.2.3e4",
        "1..2",
        "1.2.",
        ".1.2",
        "1.",
        ".5",
        "1.0",
        "1.5e3",
        "0640",
        "0o17",
        "1_000",
        "2024-01-02",
        "100Mi",
        "500m",
        "25%",
        "yes",
        "No",
        "ON",
        "~",
        "null",
        "true",
        "\"80\"",
        "'it''s'",
        "\"a\\tb\"",
        "\"\\x41\\u00e9\"",
        "\"\\q\"",
        "\"\"",
        "''",
        "{}",
        "[]",
        "{a: 1}",
        "[1]",
        "a #c",
        "a#c",
        "http://x/#f",
        "-c",
        "-",
        "- x",
        "a: b",
        "a:",
        ":a",
        "?x",
        "&x a",
        "*x",
        "!t a",
        "%p",
        "@x",
        "`x",
        ">",
        "|x",
        ".inf",
        "-.nan",
        "+1",
        "-0",
        "a  b",
        "é ü",
        "\"unclosed",
        "'unclosed",
        "\"a\" b",
        "x #",
        "18446744073709551616",
        "-9223372036854775809",
    ];

    /// Lines continuing a plain scalar (written one step deeper than its key).
    const CONTINUED: &[&str] = &[
        "more words",
        "1.15.1",
        "80",
        "true",
        "~",
        "a#b",
        "http://x/#f",
        "[x]",
        "{a}",
        "x, y",
        "é ü",
        " deeper",
        "- dash",
        "x: y",
        "key:",
        "# c",
        "tail #c",
        "",
        "'q'",
        "\"d\"",
        "&a",
        "*a",
        "!t",
        "%p",
        "@x",
        "?x",
        ":x",
        "---",
        "...",
    ];

    const LINES: &[&str] = &[
        "echo hi",
        "  indented",
        "# hash",
        "",
        "a: b",
        "- x",
        "  ",
        "\"q\"",
    ];

    fn shape() -> impl Strategy<Value = Shape> {
        let leaf = prop_oneof![
            6 => prop::sample::select(COMMON).prop_map(Shape::Scalar),
            2 => prop::sample::select(SCALARS).prop_map(Shape::Scalar),
            1 => (
                prop::sample::select(SCALARS),
                prop::collection::vec(prop::sample::select(CONTINUED), 1..4),
            )
                .prop_map(|(first, lines)| Shape::Continued(first, lines)),
            1 => (
                prop::sample::select(&["|", "|-", "|+", ">", "|2", "| #c"][..]),
                prop::collection::vec(prop::sample::select(LINES), 0..4),
            )
                .prop_map(|(header, lines)| Shape::Literal(header, lines)),
            2 => (flow_collection(FLOW_SCALARS, ODD_FLOW_KEYS, false), layout())
                .prop_map(|(node, layout)| Shape::Flow(node, layout)),
        ];
        leaf.prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                prop::collection::vec((prop::sample::select(KEYS), inner.clone()), 0..5)
                    .prop_map(Shape::Map),
                prop::collection::vec(inner, 0..4).prop_map(Shape::Seq),
            ]
        })
    }

    /// A flow collection's shape: scalars, keys and brackets, written by [`write_flow`].
    #[derive(Clone, Debug)]
    enum FlowNode {
        Scalar(&'static str),
        /// Items, and whether a comma follows the last.
        Seq(Vec<FlowNode>, bool),
        Map(Vec<(&'static str, FlowNode)>, bool),
    }

    impl FlowNode {
        /// The tokens, in order: brackets, `,`, `:`, scalars and keys.
        fn tokens(&self, out: &mut Vec<&'static str>) {
            match self {
                FlowNode::Scalar(text) => out.push(text),
                FlowNode::Seq(items, trailing) => {
                    out.push("[");
                    for (index, item) in items.iter().enumerate() {
                        if index > 0 {
                            out.push(",");
                        }
                        item.tokens(out);
                    }
                    if *trailing && !items.is_empty() {
                        out.push(",");
                    }
                    out.push("]");
                }
                FlowNode::Map(entries, trailing) => {
                    out.push("{");
                    for (index, (key, value)) in entries.iter().enumerate() {
                        if index > 0 {
                            out.push(",");
                        }
                        out.push(key);
                        out.push(":");
                        value.tokens(out);
                    }
                    if *trailing && !entries.is_empty() {
                        out.push(",");
                    }
                    out.push("}");
                }
            }
        }
    }

    /// Gaps between tokens, all valid: the `\n` in each is followed by the line's indentation.
    const GAPS: &[&str] = &["", " ", "\n", " # note\n", "\n\n", "  \n  \n", " #, ] }\n"];

    /// Odd gaps (tabs, document markers, comments right after a token, ...), and some valid.
    const ODD_GAPS: &[&str] = &[
        "#c\n", "\t", "\n---\n", "\n...\n", "\n%x\n", ",", " :", "\n# c\n", " ? ", "\n- ",
        "\n  \n", "\n\n\n", "\n #\n",
    ];

    /// Scalars in a flow collection that the fast reader reads (a `\n` is a line break
    /// in a plain scalar: folded into a space).
    const FLOW_COMMON: &[&str] = &[
        "web",
        "80",
        "-c",
        "\"--port=8080\"",
        "'it''s'",
        "yes",
        "~",
        "1.15.1",
        "a b",
        "\"x, y\"",
        "a#b",
        "é ü",
        "one\ntwo",
        "echo\nhi there\nnow",
        "0640",
        "0.15",
        "\"\"",
        "''",
        "[]",
        "{}",
        "-x\ny",
        "1\n2",
    ];

    /// Scalars in and out of the subset, and some that are not YAML in a flow collection.
    const FLOW_SCALARS: &[&str] = &[
        "web",
        "80",
        "-c",
        "\"--port=8080\"",
        "'it''s'",
        "yes",
        "yEs",
        "~",
        "1.15.1",
        "a b",
        "\"x, y\"",
        "a#b",
        "a #b",
        "one\ntwo",
        "one\n\ntwo",
        "one\n-two",
        "one\n[x]",
        "one\n#c",
        "one\ntwo #c",
        "one\n'q'",
        "one\n...",
        "one\n---",
        "one\n:x",
        "one\nx: y",
        "\"multi\nline\"",
        "'multi\nline'",
        "x: y",
        "a:b",
        "http://x/#f",
        "\"unclosed",
        "&a x",
        "*a",
        "!t x",
        "? x",
        "%x",
        "---",
        "...",
        "- x",
        "-",
        "1e3",
        "#c",
        "",
        "@x",
        "|",
        "0640",
        "0.15",
        "1.5e3",
        "18446744073709551616",
    ];

    /// Keys of flow mappings, distinct as strings.
    const FLOW_KEYS: &[&str] = &[
        "a",
        "name",
        "app.kubernetes.io/name",
        "'q k'",
        "\"d k\"",
        "x y",
        "k8s",
        "é",
    ];

    /// Keys of flow mappings in and out of the subset (typed, empty, with indicators, ...).
    const ODD_FLOW_KEYS: &[&str] = &[
        "a", "name", "'q k'", "\"d k\"", "~", "yes", "n", "80", "0640", "a:b", "a#b", "a #b",
        "? k", "&a k", "!t k", "*a", "<<", "\"<<\"", "''", "-", "-k", "a ", "\"a\" ", "[x]",
        "k\nk",
    ];

    /// A flow collection (never a scalar) of [`FLOW_COMMON`] scalars (and one in five from
    /// `odd`, if any) and `keys`; with `unique`, the keys of a mapping are distinct.
    fn flow_collection(
        odd: &'static [&'static str],
        keys: &'static [&'static str],
        unique: bool,
    ) -> impl Strategy<Value = FlowNode> {
        let common = prop::sample::select(FLOW_COMMON);
        let leaf = if odd.is_empty() {
            common.boxed()
        } else {
            prop_oneof![4 => common, 1 => prop::sample::select(odd)].boxed()
        }
        .prop_map(FlowNode::Scalar);
        leaf.prop_recursive(4, 24, 4, move |inner| {
            prop_oneof![
                (prop::collection::vec(inner.clone(), 0..4), any::<bool>())
                    .prop_map(|(items, trailing)| FlowNode::Seq(items, trailing)),
                (
                    prop::collection::vec((prop::sample::select(keys), inner), 0..4),
                    any::<bool>(),
                )
                    .prop_map(move |(mut entries, trailing)| {
                        if unique {
                            let mut seen = std::collections::HashSet::new();
                            entries.retain(|(key, _)| seen.insert(*key));
                        }
                        FlowNode::Map(entries, trailing)
                    }),
            ]
        })
        .prop_map(|node| match node {
            FlowNode::Scalar(_) => FlowNode::Seq(vec![node], false),
            node => node,
        })
    }

    /// For each token (cycled): which gap comes before it, and the indentation (from two
    /// columns less than the enclosing block's to four more) of the line a line break starts.
    fn layout() -> impl Strategy<Value = Vec<(u8, u8)>> {
        prop::collection::vec((any::<u8>(), 0u8..7), 1..24)
    }

    /// Writes a flow collection's tokens in a block at `indent`, with the gaps from [`GAPS`]
    /// that `layout` picks (one in eight from [`ODD_GAPS`] if `odd`); with no layout, on one
    /// line. A key's `:` follows it at once; the gap after a `:` has a space or a line break.
    fn write_flow(tokens: &[&str], layout: &[(u8, u8)], indent: usize, odd: bool) -> String {
        let mut out = String::new();
        for (index, token) in tokens.iter().enumerate() {
            let (choice, offset) = match layout {
                [] => (None, 0),
                _ => {
                    let (choice, offset) = layout[index % layout.len()];
                    (Some(usize::from(choice)), usize::from(offset))
                }
            };
            let pad = " ".repeat((indent + offset).saturating_sub(2));
            let line_break = format!("\n{pad}");
            if index > 0 {
                let previous = tokens[index - 1];
                let gap = match choice {
                    _ if *token == ":" => "",
                    None if previous == "," || previous == ":" => " ",
                    None => "",
                    Some(choice) => {
                        let gap = if odd && choice % 8 == 0 {
                            ODD_GAPS[choice / 8 % ODD_GAPS.len()]
                        } else {
                            GAPS[choice % GAPS.len()]
                        };
                        if previous == ":" && !gap.starts_with([' ', '\n']) {
                            " "
                        } else {
                            gap
                        }
                    }
                };
                out.push_str(&gap.replace('\n', &line_break));
            }
            if layout.is_empty() {
                out.push_str(&token.replace('\n', " "));
            } else {
                out.push_str(&token.replace('\n', &line_break));
            }
        }
        out
    }

    /// Writing choices: indentation steps, comments, same-indentation sequences.
    #[derive(Clone, Debug)]
    struct Style {
        step: usize,
        compact: bool,
        comments: bool,
    }

    impl Shape {
        /// Writes the node as the value after `key:` or `-` (at indentation `indent`).
        fn write_value(&self, out: &mut String, indent: usize, style: &Style, in_map: bool) {
            match self {
                Shape::Scalar(text) => {
                    out.push(' ');
                    out.push_str(text);
                    if style.comments {
                        out.push_str(" # note");
                    }
                    out.push('\n');
                }
                Shape::Continued(first, lines) => {
                    out.push(' ');
                    out.push_str(first);
                    out.push('\n');
                    for line in lines {
                        if !line.is_empty() {
                            out.push_str(&" ".repeat(indent + style.step));
                        }
                        out.push_str(line);
                        out.push('\n');
                    }
                }
                Shape::Literal(header, lines) => {
                    out.push(' ');
                    out.push_str(header);
                    out.push('\n');
                    for line in lines {
                        if !line.is_empty() {
                            out.push_str(&" ".repeat(indent + style.step));
                        }
                        out.push_str(line);
                        out.push('\n');
                    }
                }
                Shape::Flow(node, layout) => {
                    let mut tokens = Vec::new();
                    node.tokens(&mut tokens);
                    if layout[0].0 % 5 == 0 {
                        // On the next line, deeper.
                        out.push('\n');
                        out.push_str(&" ".repeat(indent + style.step));
                    } else {
                        out.push(' ');
                    }
                    out.push_str(&write_flow(&tokens, layout, indent, true));
                    if style.comments {
                        out.push_str(" # note");
                    }
                    out.push('\n');
                }
                Shape::Map(entries) if entries.is_empty() => out.push_str(" {}\n"),
                Shape::Seq(items) if items.is_empty() => out.push_str(" []\n"),
                Shape::Seq(_) if in_map && style.compact => {
                    out.push('\n');
                    self.write(out, indent, style);
                }
                _ => {
                    out.push('\n');
                    self.write(out, indent + style.step, style);
                }
            }
        }

        /// Writes a collection whose lines start at `indent`.
        fn write(&self, out: &mut String, indent: usize, style: &Style) {
            let pad = " ".repeat(indent);
            match self {
                Shape::Map(entries) => {
                    for (key, value) in entries {
                        out.push_str(&pad);
                        out.push_str(key);
                        out.push(':');
                        value.write_value(out, indent, style, true);
                    }
                }
                Shape::Seq(items) => {
                    for item in items {
                        out.push_str(&pad);
                        out.push('-');
                        match item {
                            Shape::Map(entries) if !entries.is_empty() => {
                                // `- key: value`, the other entries under the first.
                                out.push(' ');
                                let mut inner = String::new();
                                item.write(&mut inner, indent + 2, style);
                                out.push_str(&inner[indent + 2..]);
                            }
                            _ => item.write_value(out, indent, style, false),
                        }
                    }
                }
                _ => self.write_value(out, indent, style, false),
            }
        }
    }

    /// Documents written in block style from random shapes, then maybe damaged a little.
    fn documents() -> impl Strategy<Value = String> {
        let style = (1usize..4, any::<bool>(), prop::bool::weighted(0.2)).prop_map(
            |(step, compact, comments)| Style {
                step,
                compact,
                comments,
            },
        );
        let damage = prop::collection::vec(
            (
                any::<usize>(),
                prop::sample::select(&["", " ", "  ", "-", ":", "#", "\n", "'"][..]),
            ),
            0..2,
        );
        let root = prop_oneof![
            prop::collection::vec((prop::sample::select(KEYS), shape()), 1..6).prop_map(Shape::Map),
            prop::collection::vec(shape(), 1..5).prop_map(Shape::Seq),
        ];
        (root, style, damage).prop_map(|(shape, style, damage)| {
            let mut text = String::new();
            shape.write(&mut text, 0, &style);
            for (at, piece) in damage {
                let mut at = at % (text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                text.insert_str(at, piece);
            }
            text
        })
    }

    fn json_leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            "[a-z][a-z0-9.-]{0,10}".prop_map(Value::String),
            "[ -~\n]{0,20}".prop_map(Value::String),
            "\\PC{0,12}".prop_map(Value::String),
        ]
    }

    fn json_tree() -> impl Strategy<Value = Value> {
        json_leaf().prop_recursive(5, 60, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec(("[a-zA-Z][a-zA-Z0-9./_-]{0,12}|\\PC{0,8}", inner), 0..5)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    /// A tree of simple keys, names and integers: always in the subset.
    fn simple_tree() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<i64>().prop_map(Value::from),
            any::<bool>().prop_map(Value::Bool),
            "[a-z][a-z0-9-]{3,10}".prop_map(Value::String),
        ];
        leaf.prop_recursive(5, 60, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 1..5).prop_map(Value::Array),
                prop::collection::btree_map("[a-z][a-zA-Z]{3,8}", inner, 1..5)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
        .prop_map(|value| json!({ "root": value }))
    }

    use crate::test_support::proptest_cases as cases;

    #[test]
    fn kubectl_json_output_is_read_fast_and_the_same() {
        let value = saphyr(KUBECTL).unwrap();
        for json in [
            serde_json::to_string_pretty(&value).unwrap(),
            serde_json::to_string(&value).unwrap(),
            // Escapes, as Go's encoder writes `<`, `>` and `&`.
            serde_json::to_string_pretty(&value)
                .unwrap()
                .replace("\"app\"", "\"\\u0061pp\""),
        ] {
            assert!(agree(&json), "not read fast: {json}");
            assert_eq!(parse(&json, false), Some(value.clone()));
        }
        // A quoted `<<` is a key like any other, not a merge.
        assert!(agree(r#"{"<<": {"a": 1}, "b": 2}"#));
        // Every JSON escape, as YAML's double-quoted scalars read them.
        assert!(agree(
            r#"{"a": "\u0000\u001f\u007f\/\b\f\t\n\r\"\\ \u00e9\u2028", "b": []}"#
        ));
        // Not certain as JSON, but read as YAML (a flow mapping): a float, a comment after.
        assert!(agree(r#"{"a": 1.5}"#));
        assert!(agree("{\"a\": 1}\n# done"));
        // Left to serde-saphyr: a duplicate key, an escaped surrogate, a second object.
        for json in [
            r#"{"a": 1, "a": 2}"#,
            r#"{"a": "\ud83d\ude00"}"#,
            r#"{"a": 1}{"b": 2}"#,
        ] {
            assert_eq!(parse(json, false), None, "{json}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(cases(2048)))]

        #[test]
        fn line_soup_is_read_as_serde_saphyr_reads_it(text in line_soup()) {
            agree(&text);
        }

        #[test]
        fn block_documents_are_read_as_serde_saphyr_reads_them(text in documents()) {
            agree(&text);
        }

        #[test]
        fn flow_collections_over_lines_are_read_fast_and_as_on_one_line(
            node in flow_collection(&[], FLOW_KEYS, true),
            layout in layout(),
            context in 0usize..6,
            comment in any::<bool>(),
        ) {
            let mut tokens = Vec::new();
            node.tokens(&mut tokens);
            let (before, indent, after) = [
                ("root: ", 0, "next: 1\n"),
                ("spec:\n  list:\n  - name: x\n    args: ", 4, "  - y\n"),
                ("- ", 0, "- z\n"),
                ("", 0, "# end\n"),
                ("root:\n  ", 2, "next: 1\n"),
                ("- x\n-\n   ", 3, "- z\n"),
            ][context];
            let comment = if comment { " # done" } else { "" };
            let text = format!("{before}{}{comment}\n{after}", write_flow(&tokens, &layout, indent, false));
            prop_assert!(agree(&text), "not read fast:\n{}", text);
            let one_line = format!("{before}{}\n{after}", write_flow(&tokens, &[], indent, false));
            prop_assert_eq!(parse(&text, false).unwrap(), saphyr(&one_line).unwrap(), "{}", text);
        }

        #[test]
        fn odd_flow_collections_are_read_as_serde_saphyr_reads_them(
            node in flow_collection(FLOW_SCALARS, ODD_FLOW_KEYS, false),
            layout in layout(),
            context in 0usize..6,
        ) {
            let mut tokens = Vec::new();
            node.tokens(&mut tokens);
            let (before, indent, after) = [
                ("root: ", 0, "next: 1\n"),
                ("a:\n  b:\n  - c: ", 4, "    d: 1\n  - e\n"),
                ("- ", 0, "- z\n"),
                ("", 0, ""),
                ("a:\n  ", 2, "b: 1\n"),
                ("-\n  ", 2, "- c\n"),
            ][context];
            agree(&format!("{before}{}\n{after}", write_flow(&tokens, &layout, indent, true)));
        }

        #[test]
        fn rendered_values_read_back_as_serde_saphyr_reads_them(value in json_tree()) {
            let yaml = crate::manifest::to_yaml(&value).unwrap();
            if agree(&yaml) {
                prop_assert_eq!(parse(&yaml, false).unwrap(), value, "{}", yaml);
            }
        }

        #[test]
        fn folded_blocks_are_read_as_serde_saphyr_reads_them(
            header in prop::sample::select(vec![">", ">-", ">+", "|"]),
            lines in prop::collection::vec(
                prop_oneof![
                    Just(None),
                    Just(Some(String::new())),
                    "[a-z]{1,6}( [a-z]{1,6}){0,2}".prop_map(Some),
                    " {1,3}[a-z]{1,4}".prop_map(Some),
                ],
                1..8,
            ),
            indent in 1usize..4,
            after in prop::sample::select(vec!["b: 1\n", "", "\n", "# c\n"]),
        ) {
            let pad = " ".repeat(indent);
            // `None`: an empty line; `Some("")`: a line of the indentation's spaces.
            let body: String = lines
                .iter()
                .map(|line| line.as_ref().map_or_else(|| "\n".to_owned(), |line| format!("{pad}{line}\n")))
                .collect();
            agree(&format!("a: {header}\n{body}{after}"));
        }

        #[test]
        fn json_documents_are_read_as_serde_saphyr_reads_them(
            value in json_tree(),
            floats in prop::collection::vec(any::<f64>(), 0..4),
            pretty in any::<bool>(),
        ) {
            let mut document = json!({ "root": value });
            if !floats.is_empty() {
                // Floats are left to serde-saphyr: whatever the reader does, it agrees.
                document["floats"] = floats.into_iter().map(|f| json!(f)).collect();
                document["whole"] = json!([1.0, -0.0, 1e3, 2.5e-3]);
            }
            let text = if pretty {
                serde_json::to_string_pretty(&document).unwrap()
            } else {
                serde_json::to_string(&document).unwrap()
            };
            agree(&text);
        }

        #[test]
        fn json_simple_values_are_read_fast(value in simple_tree(), pretty in any::<bool>()) {
            let text = if pretty {
                serde_json::to_string_pretty(&value).unwrap()
            } else {
                serde_json::to_string(&value).unwrap()
            };
            prop_assert!(agree(&text), "not read fast:\n{}", text);
            prop_assert_eq!(parse(&text, false).unwrap(), value, "{}", text);
        }

        #[test]
        fn rendered_simple_values_are_read_fast(value in simple_tree()) {
            let yaml = crate::manifest::to_yaml(&value).unwrap();
            prop_assert!(agree(&yaml), "not read fast:\n{}", yaml);
            prop_assert_eq!(parse(&yaml, false).unwrap(), value, "{}", yaml);
        }
    }
}
