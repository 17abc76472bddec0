//! A YAML writer for the shapes Kubernetes objects take, writing exactly the bytes
//! serde-saphyr writes with its default options.
//!
//! serde-saphyr decides for every scalar, key or value, whether it can go plain: a dozen
//! checks, each walking the string (numbers in every YAML 1.1 spelling, booleans, timestamps,
//! indicators, comments). Those checks are most of the time a Kubernetes object takes to
//! render. This writer makes the same decisions, most of them from one pass over the bytes
//! (a name, an image, a label value: letters, digits and `._/-` only), the rest with the
//! same rules as serde-saphyr 2.2 (ported below), and lays out block maps and sequences as it
//! does (two-space indent, a sequence under a key at the key's column, a map after `- ` on the
//! dash's line, `{}` / `[]` for empty ones, strings over several lines as literal blocks,
//! long lines folded).
//!
//! What it does not know, it refuses with [`Bail`] before the caller has used its output: a
//! top level that is not a map, floats, bytes, enum variants with data, tuples, non-string
//! keys, serde-saphyr's own wrapper types, a map whose length hint is wrong. The caller then
//! renders the object with serde-saphyr. Unit tests and property tests render the conformance
//! objects and random trees both ways and require the same text.

use std::fmt::Write as _;

use serde::ser::{self, Serialize};

/// The writer cannot render this value as serde-saphyr would; render it with serde-saphyr.
#[derive(Debug)]
pub(crate) struct Bail;

impl std::fmt::Display for Bail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a shape the fast YAML writer knows")
    }
}

impl std::error::Error for Bail {}

impl ser::Error for Bail {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        Bail
    }
}

/// Appends `value` (a map or struct at the top) to `out` as one YAML document. On [`Bail`],
/// `out` may hold part of the document: the caller truncates it.
pub(crate) fn write<T: Serialize + ?Sized>(out: &mut String, value: &T) -> Result<(), Bail> {
    value.serialize(Node { out, pos: Pos::Top })
}

/// Where the node being written starts.
#[derive(Clone, Copy)]
enum Pos {
    /// The document's root.
    Top,
    /// Right after `key:` (no space yet), the key at this column.
    Value(usize),
    /// Right after `- `, the dash at this column.
    Item(usize),
}

/// Serializes one node at a position.
struct Node<'o> {
    out: &'o mut String,
    pos: Pos,
}

fn indent(out: &mut String, column: usize) {
    const SPACES: &str = "                                                                ";
    let mut left = column;
    while left > SPACES.len() {
        out.push_str(SPACES);
        left -= SPACES.len();
    }
    out.push_str(&SPACES[..left]);
}

impl Node<'_> {
    /// Writes a scalar's text (already quoted as needed) and ends the line.
    fn scalar(self, text: &str) -> Result<(), Bail> {
        match self.pos {
            Pos::Top => return Err(Bail),
            Pos::Value(_) => self.out.push(' '),
            Pos::Item(_) => {}
        }
        self.out.push_str(text);
        self.out.push('\n');
        Ok(())
    }

    /// Writes a string over several lines as serde-saphyr does: a literal block scalar whose
    /// body is indented one step past its key (or dash), with an indentation indicator when
    /// its first line starts with spaces, and a chomping indicator for its trailing newlines
    /// (`|-` none, `|` one, `|+` more, or only newlines).
    fn literal(mut self, v: &str) -> Result<(), Bail> {
        let body = self.block_body()?;
        let content = v.trim_end_matches('\n');
        let trailing = v.len() - content.len();
        self.out.push('|');
        if first_line_leading_spaces(content) > 0 {
            self.out.push('2');
        }
        match trailing {
            0 => self.out.push('-'),
            1 if !content.is_empty() => {}
            _ => self.out.push('+'),
        }
        self.out.push('\n');
        if content.is_empty() {
            for _ in 0..trailing {
                self.out.push('\n');
            }
            return Ok(());
        }
        for line in content.split('\n') {
            if !line.is_empty() {
                indent(self.out, body);
                self.out.push_str(line);
            }
            self.out.push('\n');
        }
        for _ in 1..trailing {
            self.out.push('\n');
        }
        Ok(())
    }

    /// Writes a long one-line string as serde-saphyr does: a folded block scalar (`>-`),
    /// broken at the last run of spaces before each [`FOLD_WIDTH`] characters (a stretch
    /// without spaces stays whole).
    fn folded(mut self, v: &str) -> Result<(), Bail> {
        let body = self.block_body()?;
        self.out.push_str(">-\n");
        write_folded_block(self.out, v, body);
        Ok(())
    }

    /// Starts a block scalar (the space after `key:`), and gives the column of its body: one
    /// step past its key or dash.
    fn block_body(&mut self) -> Result<usize, Bail> {
        match self.pos {
            Pos::Top => Err(Bail),
            Pos::Value(key) => {
                self.out.push(' ');
                Ok(key + 2)
            }
            Pos::Item(dash) => Ok(dash + 2),
        }
    }

    fn integer(self, digits: impl std::fmt::Display) -> Result<(), Bail> {
        match self.pos {
            Pos::Top => return Err(Bail),
            Pos::Value(_) => self.out.push(' '),
            Pos::Item(_) => {}
        }
        write!(self.out, "{digits}").map_err(|_| Bail)?;
        self.out.push('\n');
        Ok(())
    }
}

/// A block map being written.
struct Map<'o> {
    out: &'o mut String,
    pos: Pos,
    /// The column of its keys.
    column: usize,
    entries: usize,
    hint: Option<usize>,
}

impl Map<'_> {
    fn key(&mut self, key: &str) -> Result<(), Bail> {
        // serde-saphyr writes the first key of a map that said it had none on the line of
        // its parent's key (`parent: key: value`, which reads differently).
        if self.hint == Some(0) && matches!(self.pos, Pos::Value(_)) {
            return Err(Bail);
        }
        if self.entries > 0 {
            indent(self.out, self.column);
        } else {
            match self.pos {
                Pos::Top | Pos::Item(_) => {}
                Pos::Value(_) => {
                    self.out.push('\n');
                    indent(self.out, self.column);
                }
            }
        }
        if key.len() > 1024 {
            return Err(Bail);
        }
        if key_is_plain(key) {
            self.out.push_str(key);
        } else {
            self.out.push('"');
            escape_double_quoted(key, self.out);
            self.out.push('"');
        }
        self.out.push(':');
        Ok(())
    }

    fn value<V: Serialize + ?Sized>(&mut self, value: &V) -> Result<(), Bail> {
        value.serialize(Node {
            out: self.out,
            pos: Pos::Value(self.column),
        })?;
        self.entries += 1;
        Ok(())
    }

    fn finish(self) -> Result<(), Bail> {
        if self.entries > 0 {
            return Ok(());
        }
        match self.pos {
            // serde-saphyr breaks the line before a map that says it has entries.
            Pos::Value(_) if self.hint.is_some_and(|n| n > 0) => return Err(Bail),
            Pos::Value(_) => self.out.push_str(" {}\n"),
            Pos::Top | Pos::Item(_) => self.out.push_str("{}\n"),
        }
        Ok(())
    }
}

impl ser::SerializeMap for Map<'_> {
    type Ok = ();
    type Error = Bail;
    fn serialize_key<K: Serialize + ?Sized>(&mut self, key: &K) -> Result<(), Bail> {
        key.serialize(KeyText(self))
    }
    fn serialize_value<V: Serialize + ?Sized>(&mut self, value: &V) -> Result<(), Bail> {
        self.value(value)
    }
    fn end(self) -> Result<(), Bail> {
        self.finish()
    }
}

impl ser::SerializeStruct for Map<'_> {
    type Ok = ();
    type Error = Bail;
    fn serialize_field<V: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &V,
    ) -> Result<(), Bail> {
        self.key(key)?;
        self.value(value)
    }
    fn end(self) -> Result<(), Bail> {
        self.finish()
    }
}

/// A block sequence being written.
struct Seq<'o> {
    out: &'o mut String,
    pos: Pos,
    /// The column of its dashes.
    column: usize,
    entries: usize,
}

impl ser::SerializeSeq for Seq<'_> {
    type Ok = ();
    type Error = Bail;
    fn serialize_element<V: Serialize + ?Sized>(&mut self, value: &V) -> Result<(), Bail> {
        if self.entries > 0 {
            indent(self.out, self.column);
        } else {
            match self.pos {
                Pos::Top => return Err(Bail),
                // The first item of a sequence in a sequence goes on the outer dash's line.
                Pos::Item(_) => {}
                Pos::Value(_) => {
                    self.out.push('\n');
                    indent(self.out, self.column);
                }
            }
        }
        self.out.push_str("- ");
        value.serialize(Node {
            out: self.out,
            pos: Pos::Item(self.column),
        })?;
        self.entries += 1;
        Ok(())
    }
    fn end(self) -> Result<(), Bail> {
        if self.entries == 0 {
            match self.pos {
                Pos::Top => return Err(Bail),
                Pos::Value(_) => self.out.push_str(" []\n"),
                Pos::Item(_) => self.out.push_str("[]\n"),
            }
        }
        Ok(())
    }
}

/// serde-saphyr gives its own wrapper types (flow style, quoting, anchors, comments) names
/// starting with this.
const SAPHYR_WRAPPER: &str = "__yaml";

impl<'o> ser::Serializer for Node<'o> {
    type Ok = ();
    type Error = Bail;
    type SerializeSeq = Seq<'o>;
    type SerializeTuple = ser::Impossible<(), Bail>;
    type SerializeTupleStruct = ser::Impossible<(), Bail>;
    type SerializeTupleVariant = ser::Impossible<(), Bail>;
    type SerializeMap = Map<'o>;
    type SerializeStruct = Map<'o>;
    type SerializeStructVariant = ser::Impossible<(), Bail>;

    refuse! {
        Bail;
        serialize_f32(f32) -> ();
        serialize_f64(f64) -> ();
        serialize_bytes(&[u8]) -> ();
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }

    fn serialize_bool(self, v: bool) -> Result<(), Bail> {
        self.scalar(if v { "true" } else { "false" })
    }
    fn serialize_i8(self, v: i8) -> Result<(), Bail> {
        self.integer(v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Bail> {
        self.integer(v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Bail> {
        self.integer(v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Bail> {
        self.integer(v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), Bail> {
        self.integer(v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Bail> {
        self.integer(v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Bail> {
        self.integer(v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Bail> {
        self.integer(v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Bail> {
        self.integer(v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Bail> {
        self.integer(v)
    }
    fn serialize_char(self, v: char) -> Result<(), Bail> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Bail> {
        if v.as_bytes().contains(&b'\n') {
            // Over several lines: a literal block scalar (`|`) where every character can
            // stand in one, else double-quoted with escapes (below).
            if is_block_scalar_content_safe(v) {
                return self.literal(v);
            }
        } else if v.len() > FOLD_WIDTH && folds(v) {
            return self.folded(v);
        }
        // ... and these three single-quoted.
        if matches!(v, "." | "#" | "-") {
            let quoted = match v {
                "." => "'.'",
                "#" => "'#'",
                _ => "'-'",
            };
            return self.scalar(quoted);
        }
        match self.pos {
            Pos::Top => return Err(Bail),
            Pos::Value(_) => self.out.push(' '),
            Pos::Item(_) => {}
        }
        if value_is_plain(v) {
            self.out.push_str(v);
        } else {
            self.out.push('"');
            escape_double_quoted(v, self.out);
            self.out.push('"');
        }
        self.out.push('\n');
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Bail> {
        self.scalar("null")
    }
    fn serialize_some<V: Serialize + ?Sized>(self, value: &V) -> Result<(), Bail> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Bail> {
        self.scalar("null")
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Bail> {
        self.scalar("null")
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Bail> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<V: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &V,
    ) -> Result<(), Bail> {
        if name.starts_with(SAPHYR_WRAPPER) {
            return Err(Bail);
        }
        value.serialize(self)
    }
    fn serialize_newtype_variant<V: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &V,
    ) -> Result<(), Bail> {
        Err(Bail)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Seq<'o>, Bail> {
        let column = match self.pos {
            Pos::Top => return Err(Bail),
            // Compact: a sequence under a key has its dashes at the key's column.
            Pos::Value(key) => key,
            Pos::Item(dash) => dash + 2,
        };
        Ok(Seq {
            out: self.out,
            pos: self.pos,
            column,
            entries: 0,
        })
    }
    fn serialize_map(self, hint: Option<usize>) -> Result<Map<'o>, Bail> {
        let Node { out, pos } = self;
        let column = match pos {
            Pos::Top => 0,
            Pos::Value(key) | Pos::Item(key) => key + 2,
        };
        Ok(Map {
            out,
            pos,
            column,
            entries: 0,
            hint,
        })
    }
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Map<'o>, Bail> {
        if name.starts_with(SAPHYR_WRAPPER) {
            return Err(Bail);
        }
        self.serialize_map(Some(len))
    }
}

/// Writes a map key that serializes as a string (or a unit variant); anything else fails.
struct KeyText<'m, 'o>(&'m mut Map<'o>);

impl ser::Serializer for KeyText<'_, '_> {
    type Ok = ();
    type Error = Bail;
    type SerializeSeq = ser::Impossible<(), Bail>;
    type SerializeTuple = ser::Impossible<(), Bail>;
    type SerializeTupleStruct = ser::Impossible<(), Bail>;
    type SerializeTupleVariant = ser::Impossible<(), Bail>;
    type SerializeMap = ser::Impossible<(), Bail>;
    type SerializeStruct = ser::Impossible<(), Bail>;
    type SerializeStructVariant = ser::Impossible<(), Bail>;

    refuse! {
        Bail;
        serialize_bool(bool) -> ();
        serialize_i8(i8) -> ();
        serialize_i16(i16) -> ();
        serialize_i32(i32) -> ();
        serialize_i64(i64) -> ();
        serialize_u8(u8) -> ();
        serialize_u16(u16) -> ();
        serialize_u32(u32) -> ();
        serialize_u64(u64) -> ();
        serialize_f32(f32) -> ();
        serialize_f64(f64) -> ();
        serialize_bytes(&[u8]) -> ();
        serialize_none() -> ();
        serialize_unit() -> ();
        serialize_unit_struct(&'static str) -> ();
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct(&'static str, usize) -> Self::SerializeStruct;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }

    fn serialize_str(self, v: &str) -> Result<(), Bail> {
        self.0.key(v)
    }
    fn serialize_char(self, v: char) -> Result<(), Bail> {
        self.0.key(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Bail> {
        self.0.key(variant)
    }
    fn serialize_some<V: Serialize + ?Sized>(self, _: &V) -> Result<(), Bail> {
        Err(Bail)
    }
    fn serialize_newtype_struct<V: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &V,
    ) -> Result<(), Bail> {
        if name.starts_with(SAPHYR_WRAPPER) {
            return Err(Bail);
        }
        value.serialize(self)
    }
    fn serialize_newtype_variant<V: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &V,
    ) -> Result<(), Bail> {
        Err(Bail)
    }
}

/// serde-saphyr's folded-block width (`folded_wrap_chars`, 80 by default).
const FOLD_WIDTH: usize = 80;

/// Whether serde-saphyr would write this one-line string as a folded block scalar.
fn folds(s: &str) -> bool {
    if s.len() <= FOLD_WIDTH {
        return false;
    }
    let probe = s.trim_end_matches(' ');
    !probe.is_empty() && is_plain_value_safe(probe, false, false) && s.chars().count() > FOLD_WIDTH
}

/// Bytes of a simple string: letters, digits and `._/-`; with `SIMPLE_VALUE`, `:` too.
const SIMPLE_KEY: u8 = 1;
const SIMPLE_VALUE: u8 = 2;

const CLASSES: [u8; 256] = {
    let mut classes = [0; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        if byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'/' | b'-') {
            classes[b] = SIMPLE_KEY | SIMPLE_VALUE;
        } else if byte == b':' {
            classes[b] = SIMPLE_VALUE;
        }
        b += 1;
    }
    classes
};

/// A string that starts with a letter and holds only bytes of `class`: most names, images,
/// label keys and values. Such a string can only be ambiguous as one of a few words (and a
/// value, with `:` allowed, must not end with one).
fn is_simple(s: &str, class: u8) -> bool {
    let bytes = s.as_bytes();
    bytes.first().is_some_and(u8::is_ascii_alphabetic)
        && bytes.iter().all(|&b| CLASSES[usize::from(b)] & class != 0)
        && bytes.last() != Some(&b':')
}

/// Whether a simple string is one of the words that must be quoted to stay strings: YAML 1.1
/// and 1.2 booleans and nulls, and the undotted float spellings serde-saphyr also quotes, in
/// any case.
fn is_ambiguous_word(s: &str) -> bool {
    let words: &[&str] = match s.len() {
        1 => &["y", "n"],
        2 => &["no", "on"],
        3 => &["nan", "inf", "yes", "off"],
        4 => &["null", "true"],
        5 => &["false"],
        _ => return false,
    };
    words.iter().any(|word| s.eq_ignore_ascii_case(word))
}

/// A number with a unit and nothing else, as quantities are written (`100m`, `128Mi`, `2G`):
/// a digit other than `0` (so no `0x`, `0o`, `0b` prefix), digits, then letters without `e`
/// or `E` (so no exponent). No YAML reader takes it for anything but a string.
fn is_number_with_unit(s: &str) -> bool {
    let bytes = s.as_bytes();
    let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    digits > 0
        && bytes[0] != b'0'
        && digits < bytes.len()
        && bytes[digits..]
            .iter()
            .all(|&b| b.is_ascii_alphabetic() && b != b'e' && b != b'E')
}

/// Whether serde-saphyr writes this one-line string value plain (else double-quoted).
fn value_is_plain(s: &str) -> bool {
    if is_simple(s, SIMPLE_VALUE) {
        return !is_ambiguous_word(s);
    }
    if is_number_with_unit(s) {
        return true;
    }
    is_plain_value_safe(s, false, false)
}

/// Whether serde-saphyr writes this map key plain (else double-quoted).
fn key_is_plain(s: &str) -> bool {
    if is_simple(s, SIMPLE_KEY) {
        return !is_ambiguous_word(s);
    }
    is_plain_safe(s) && is_plain_value_safe(s, false, true)
}

// What follows is serde-saphyr 2.2.0's quoting rules (src/ser/quoting.rs and
// src/parse_scalars.rs, MIT OR Apache-2.0), ported unchanged in what they decide, for the
// strings `is_simple` does not settle. The property tests compare the output with
// serde-saphyr's on random strings.

fn is_numeric(s: &str, yaml_12: bool) -> bool {
    if !matches!(
        s.as_bytes().first(),
        Some(b'0'..=b'9' | b'+' | b'-' | b'.' | b'_')
    ) {
        return false;
    }
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    if unsigned.eq_ignore_ascii_case(".inf") || unsigned.eq_ignore_ascii_case(".nan") {
        return true;
    }
    if !yaml_12 {
        if is_yaml11_sexagesimal(s) {
            return true;
        }
        if let Some((radix, digits)) = radix_digits(unsigned)
            && is_digit_run(digits, radix, false)
        {
            return true;
        }
    }
    let normalized;
    let s = if !yaml_12 && s.contains('_') {
        normalized = s.replace('_', "");
        normalized.as_str()
    } else {
        s
    };
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    if let Some((radix, digits)) = radix_digits(unsigned) {
        let digits = if !yaml_12 && (s.starts_with("0b") || s.starts_with("0o")) {
            digits.strip_prefix(['+', '-']).unwrap_or(digits)
        } else {
            digits
        };
        return is_digit_run(digits, radix, true);
    }
    let mantissa = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => {
            let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if !is_digit_run(exponent, 10, true) {
                return false;
            }
            mantissa
        }
        None => unsigned,
    };
    match mantissa.split_once('.') {
        Some((whole, fraction)) => {
            if !whole.is_empty() && !is_digit_run(whole, 10, true) {
                return false;
            }
            if !yaml_12 {
                fraction.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            } else if fraction.is_empty() {
                !whole.is_empty()
            } else {
                is_digit_run(fraction, 10, true)
            }
        }
        None => is_digit_run(mantissa, 10, true),
    }
}

fn radix_digits(s: &str) -> Option<(u32, &str)> {
    match s.as_bytes() {
        [b'0', b'b' | b'B', ..] => Some((2, &s[2..])),
        [b'0', b'o' | b'O', ..] => Some((8, &s[2..])),
        [b'0', b'x' | b'X', ..] => Some((16, &s[2..])),
        _ => None,
    }
}

fn is_digit_run(s: &str, radix: u32, strict_underscores: bool) -> bool {
    let is_digit = |b: u8| b.is_ascii() && char::from(b).is_digit(radix);
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.iter().enumerate().all(|(i, &b)| {
            is_digit(b)
                || (b == b'_'
                    && (!strict_underscores
                        || (i > 0
                            && is_digit(bytes[i - 1])
                            && bytes.get(i + 1).is_some_and(|&next| is_digit(next)))))
        })
}

fn is_yaml11_sexagesimal(s: &str) -> bool {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (integer, fraction) = match unsigned.split_once('.') {
        Some((integer, fraction)) => (integer, Some(fraction)),
        None => (unsigned, None),
    };
    let Some((first, rest)) = integer.split_once(':') else {
        return false;
    };
    let Some(first_digit) = first.as_bytes().first() else {
        return false;
    };
    if !first_digit.is_ascii_digit()
        || (fraction.is_none() && *first_digit == b'0')
        || !first.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        return false;
    }
    if !rest.split(':').all(|part| match part.as_bytes() {
        [digit] => digit.is_ascii_digit(),
        [tens, units] => matches!(tens, b'0'..=b'5') && units.is_ascii_digit(),
        _ => false,
    }) {
        return false;
    }
    fraction.is_none_or(|part| part.bytes().all(|b| b.is_ascii_digit() || b == b'_'))
}

fn is_yaml11_timestamp(mut s: &str) -> bool {
    fn digits(s: &mut &str, min: usize, max: usize) -> bool {
        let len = s.bytes().take_while(u8::is_ascii_digit).count();
        if !(min..=max).contains(&len) {
            return false;
        }
        *s = &s[len..];
        true
    }
    fn prefix(s: &mut &str, ch: char) -> bool {
        if let Some(rest) = s.strip_prefix(ch) {
            *s = rest;
            true
        } else {
            false
        }
    }
    if !digits(&mut s, 4, 4)
        || !prefix(&mut s, '-')
        || !digits(&mut s, 1, 2)
        || !prefix(&mut s, '-')
        || !digits(&mut s, 1, 2)
    {
        return false;
    }
    if s.is_empty() {
        return true;
    }
    if let Some(rest) = s.strip_prefix(['T', 't']) {
        s = rest;
    } else {
        let rest = s.trim_start_matches([' ', '\t']);
        if rest.len() == s.len() {
            return false;
        }
        s = rest;
    }
    if !digits(&mut s, 1, 2)
        || !prefix(&mut s, ':')
        || !digits(&mut s, 1, 2)
        || !prefix(&mut s, ':')
        || !digits(&mut s, 1, 2)
    {
        return false;
    }
    if prefix(&mut s, '.') || prefix(&mut s, ',') {
        digits(&mut s, 0, usize::MAX);
    }
    s = s.trim_start_matches([' ', '\t']);
    if s.is_empty() || s == "Z" {
        return true;
    }
    if !(prefix(&mut s, '+') || prefix(&mut s, '-')) || !digits(&mut s, 1, 2) {
        return false;
    }
    if prefix(&mut s, ':') && !digits(&mut s, 2, 2) {
        return false;
    }
    s.is_empty()
}

fn is_yaml11_bool(s: &str) -> bool {
    let t = s.trim_matches([' ', '\t', '\r', '\n']);
    ["true", "yes", "y", "on", "false", "no", "n", "off"]
        .iter()
        .any(|word| t.eq_ignore_ascii_case(word))
}

fn is_ambiguous(s: &str, yaml_12: bool) -> bool {
    s.is_empty()
        || s == "~"
        || s.eq_ignore_ascii_case("null")
        || s.eq_ignore_ascii_case("true")
        || s.eq_ignore_ascii_case("false")
        || is_numeric(s, yaml_12)
        || s.eq_ignore_ascii_case("nan")
        || s.eq_ignore_ascii_case("inf")
        || s.eq_ignore_ascii_case("+inf")
        || s.eq_ignore_ascii_case("-inf")
        || (!yaml_12 && (is_yaml11_bool(s) || is_yaml11_timestamp(s) || matches!(s, "<<" | "=")))
}

fn starts_with_document_marker(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("---").or_else(|| s.strip_prefix("...")) else {
        return false;
    };
    rest.is_empty() || rest.as_bytes().first().is_some_and(u8::is_ascii_whitespace)
}

/// Bytes that cannot start a plain scalar: the YAML indicators but `-` and `?` (which can,
/// with no space after them).
fn is_indicator(b: u8) -> bool {
    !matches!(b, b'-' | b'?') && super::fast::is_indicator(b)
}

fn is_plain_safe(s: &str) -> bool {
    if is_ambiguous(s, true) || s == "<<" || starts_with_document_marker(s) {
        return false;
    }
    let bytes = s.as_bytes();
    if bytes.first().is_some_and(u8::is_ascii_whitespace)
        || bytes.last().is_some_and(u8::is_ascii_whitespace)
    {
        return false;
    }
    match bytes[0] {
        b'-' | b'?' if bytes.len() == 1 || bytes[1].is_ascii_whitespace() => return false,
        b if is_indicator(b) => return false,
        _ => {}
    }
    !contains_any_or_is_control(s, &[':']) && !has_comment_start(s)
}

fn is_plain_value_safe(s: &str, yaml_12: bool, in_flow: bool) -> bool {
    if is_ambiguous(s, yaml_12) || starts_with_document_marker(s) {
        return false;
    }
    let bytes = s.as_bytes();
    if bytes.first().is_some_and(u8::is_ascii_whitespace)
        || bytes.last().is_some_and(u8::is_ascii_whitespace)
    {
        return false;
    }
    match bytes {
        [b'-' | b'?', b1, ..] if b1.is_ascii_whitespace() => return false,
        [b'-' | b'?'] => return false,
        [b, ..] if is_indicator(*b) => return false,
        _ => {}
    }
    if s.contains(": ") || s.trim().ends_with(':') {
        return false;
    }
    if in_flow {
        !contains_any_or_is_control(s, &[',', '[', ']', '{', '}']) && !has_comment_start(s)
    } else {
        !contains_any_or_is_control(s, &[]) && !has_comment_start(s)
    }
}

fn is_block_scalar_content_safe(s: &str) -> bool {
    s.chars().all(|ch| match ch {
        '\n' | '\t' => true,
        '\r' | '\u{0085}' | '\u{2028}' | '\u{2029}' | '\u{FEFF}' => false,
        c => matches!(
            c as u32,
            0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x0010_FFFF
        ),
    })
}

/// serde-saphyr's folding (src/ser/wrapping.rs): breaks only at runs of spaces, keeping all
/// but one space of a run at the end of the line, never before a tab, and never a line that
/// starts with a space.
fn write_folded_block(out: &mut String, s: &str, column: usize) {
    for line in s.split('\n') {
        if line.is_empty() {
            out.push('\n');
            continue;
        }
        if line.starts_with(' ') {
            indent(out, column);
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let mut start = 0;
        let mut col = 0;
        let mut last_space_run: Option<(usize, usize, usize)> = None;
        let mut in_space_run = false;
        let mut run_start = 0;
        let mut run_len = 0;
        let mut prev_i = 0;
        let mut prev_ch_len = 0;
        for (i, ch) in line.char_indices() {
            if in_space_run && ch != ' ' {
                let run_end = prev_i + prev_ch_len;
                if ch != '\t' {
                    last_space_run = Some((run_start, run_end, run_len));
                }
                in_space_run = false;
                run_len = 0;
            }
            if ch == ' ' {
                if in_space_run {
                    run_len += 1;
                } else {
                    in_space_run = true;
                    run_start = i;
                    run_len = 1;
                }
            }
            col += 1;
            if col > FOLD_WIDTH {
                let Some((ws_start, ws_end, ws_len)) = last_space_run else {
                    break;
                };
                indent(out, column);
                out.push_str(&line[start..ws_start]);
                for _ in 1..ws_len {
                    out.push(' ');
                }
                out.push('\n');
                start = ws_end;
                col = 0;
                last_space_run = None;
            }
            prev_i = i;
            prev_ch_len = ch.len_utf8();
        }
        indent(out, column);
        out.push_str(&line[start..]);
        out.push('\n');
    }
}

fn first_line_leading_spaces(s: &str) -> usize {
    s.split('\n')
        .find(|line| !line.is_empty())
        .map_or(0, |line| line.len() - line.trim_start_matches(' ').len())
}

fn needs_escaping(ch: char) -> bool {
    ch.is_control()
        || matches!(
            ch,
            '\u{FEFF}' | '\u{2028}' | '\u{2029}' | '\u{FFFE}' | '\u{FFFF}'
        )
}

fn escape_double_quoted(s: &str, out: &mut String) {
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\0' => out.push_str("\\0"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            '\u{FEFF}' => out.push_str("\\uFEFF"),
            '\u{0085}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if (c as u32) <= 0xFF && (c.is_control() || (0x7F..=0x9F).contains(&(c as u32))) => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c if (c as u32) <= 0xFFFF && needs_escaping(c) => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
}

fn contains_any_or_is_control(s: &str, values: &[char]) -> bool {
    s.chars().any(|c| needs_escaping(c) || values.contains(&c))
}

fn has_comment_start(s: &str) -> bool {
    s.match_indices('#').any(|(index, _)| {
        s[..index]
            .chars()
            .next_back()
            .is_some_and(char::is_whitespace)
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::manifest::{self, Object};
    use proptest::prelude::*;
    use serde_json::{Value, json};

    /// The fast writer's text, or `None` where it leaves the value to serde-saphyr.
    fn fast(value: &(impl Serialize + ?Sized)) -> Option<String> {
        let mut out = String::new();
        write(&mut out, value).ok().map(|()| out)
    }

    fn saphyr(value: &(impl Serialize + ?Sized)) -> String {
        serde_saphyr::to_string(&value).unwrap()
    }

    /// Where the fast writer writes, it writes serde-saphyr's text.
    fn check(value: &(impl Serialize + ?Sized), what: &str) -> Result<bool, TestCaseError> {
        match fast(value) {
            Some(text) => {
                prop_assert_eq!(text, saphyr(value), "{}", what);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn conformance_objects() -> Vec<Object> {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/conformance");
        let mut objects = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|ext| ext == "yaml")
                && let Ok(read) = manifest::from_yaml(&std::fs::read_to_string(&path).unwrap())
            {
                objects.extend(read);
            }
        }
        objects
    }

    /// Every conformance object, typed and as a `Value`, writes as serde-saphyr writes it;
    /// and nine in ten of them are written by the fast writer (the rest hold values it leaves
    /// to serde-saphyr, such as floats).
    #[test]
    fn conformance_objects_are_written_as_serde_saphyr_writes_them() {
        let objects = conformance_objects();
        assert!(objects.len() > 20, "{} objects", objects.len());
        let mut written = 0;
        for object in &objects {
            let what = format!("{} {:?}", object.kind(), object.name());
            if check(object, &what).unwrap() {
                written += 1;
            }
            check(&serde_json::to_value(object).unwrap(), &what).unwrap();
        }
        assert!(
            written * 10 >= objects.len() * 9,
            "only {written} of {} objects written fast",
            objects.len()
        );
    }

    /// The example app and the builders' objects: all of them are written fast.
    #[test]
    fn kubernetes_shapes_are_written_fast() {
        let cases = [
            json!({ "apiVersion": "v1", "kind": "Pod", "metadata": { "name": "web", "labels": {} },
                "spec": { "containers": [{ "name": "web", "image": "nginx:1.28",
                    "command": ["sh", "-c", "echo hi: there # not a comment"],
                    "ports": [{ "containerPort": 80, "name": "http" }],
                    "resources": { "limits": { "cpu": "500m", "memory": "256Mi" } },
                    "env": [{ "name": "PORT", "value": "8080" }, { "name": "DEBUG", "value": "yes" },
                        { "name": "EMPTY", "value": "" }, { "name": "T", "value": "2001-12-14" }] }],
                    "volumes": [{ "name": "tmp", "emptyDir": {} }], "tolerations": [] } }),
            json!({ "nested": [[1, 2], [], [[]], [{}], [{ "a": [] }], [[{ "b": { "c": [1] } }]]] }),
            json!({ "data": { "nginx.conf": "server {\n  listen 80;\n}\n", "strip": "a\nb",
                "keep": "a\n\n\n", "only": "\n\n", "indented": "  a\nb\n", "blank": "\n\n  x\n",
                "tab": "\ta\n", "cr": "a\r\nb\n" },
                "items": ["one\ntwo\n", ["a\nb", { "k": "c\n d" }]] }),
            json!({ "folded": "a".repeat(81), "words": "word ".repeat(40),
                "runs": format!("{}   b{}\tc", "x".repeat(78), "y ".repeat(50)),
                "items": ["z ".repeat(60), "description that is long enough to be folded at one of its spaces, twice over or more"] }),
            json!({ "keys": { "yes": 1, "app.kubernetes.io/name": "x", "": 2, "a: b": 3,
                "-": 4, "1.5": 5, "null": null, "~": true } }),
        ];
        for case in &cases {
            assert!(
                check(case, &case.to_string()).unwrap(),
                "not written fast: {case}"
            );
        }
    }

    /// Every number followed by up to two letters (hex, octal and binary prefixes, exponents,
    /// quantity units): quoted exactly when serde-saphyr quotes it.
    #[test]
    fn numbers_with_units_are_quoted_as_serde_saphyr_quotes_them() {
        let letters: Vec<String> = "xXoObBeEaAfFmMiGkK".chars().map(String::from).collect();
        let mut suffixes = vec![String::new()];
        for a in &letters {
            suffixes.push(a.clone());
            for b in &letters {
                suffixes.push(format!("{a}{b}"));
            }
        }
        let mut quoted = 0;
        for number in ["0", "1", "7", "10", "01", "007", "100"] {
            for suffix in &suffixes {
                let s = format!("{number}{suffix}");
                let value = json!({ "v": s });
                assert!(check(&value, &s).unwrap(), "{s} not written fast");
                if fast(&value).unwrap().contains('"') {
                    quoted += 1;
                }
            }
        }
        // Plain numbers, `0x..` hex and the like are quoted; `100m` and `1e` are not.
        assert!(quoted > 7 && quoted < 200, "{quoted} quoted");
    }

    /// Shapes it leaves to serde-saphyr.
    #[test]
    fn what_it_does_not_know_is_left_to_serde_saphyr() {
        for case in [
            json!("a string at the top"),
            json!([1, 2]),
            json!({ "float": 1.5 }),
        ] {
            assert!(fast(&case).is_none(), "written fast: {case}");
        }
        // A map that says it has no entries but has one: serde-saphyr writes it on its
        // parent's line.
        struct Lying;
        impl Serialize for Lying {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use ser::SerializeMap;
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry("inner", &LyingInner)?;
                map.end()
            }
        }
        struct LyingInner;
        impl Serialize for LyingInner {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use ser::SerializeMap;
                let mut map = s.serialize_map(Some(0))?;
                map.serialize_entry("a", &1)?;
                map.end()
            }
        }
        assert!(fast(&Lying).is_none());
        let mut text = String::new();
        crate::manifest::render::render_into(&mut text, &Lying, Default::default()).unwrap();
        assert_eq!(text, saphyr(&Lying));
    }

    /// Strings that probe every quoting rule: YAML 1.1 and 1.2 numbers, booleans,
    /// timestamps, indicators, comments, escapes, document markers and the fold width.
    fn tricky_string() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(
            &[
                "a",
                "Z",
                "y",
                "N",
                "on",
                "OFF",
                "yes",
                "No",
                "true",
                "NULL",
                "~",
                "nan",
                "Inf",
                ".inf",
                "-.INF",
                ".NaN",
                "0",
                "7",
                "01",
                "0x1F",
                "0o17",
                "0b1",
                "1_000",
                "_1",
                "1.5",
                ".5",
                "1e3",
                "1E+3",
                "12:30",
                "1:20:3",
                "2001-12-14",
                "T",
                "t",
                "2:3:4.5",
                " ",
                "  ",
                "\t",
                ":",
                ": ",
                "#",
                " #",
                "-",
                "- ",
                "?",
                "? ",
                ",",
                "[",
                "]",
                "{",
                "}",
                "&",
                "*",
                "!",
                "|",
                ">",
                "'",
                "\"",
                "%",
                "@",
                "`",
                "\\",
                "<<",
                "=",
                "---",
                "...",
                "\u{7f}",
                "\u{85}",
                "\u{a0}",
                "é",
                "\u{2028}",
                "\u{feff}",
                "\u{fffe}",
                "\u{1F600}",
                "\r",
                "\0",
                "\u{1b}",
                "+",
                ".",
                "_",
                "/",
                "e",
                "x",
                "\n",
                "\n\n",
                " \n",
                "\n  ",
                "\n\t",
            ][..],
        );
        // Long lines, folded at their spaces (runs of them, tabs after them) or not at all.
        let long = prop::collection::vec(
            prop_oneof![
                4 => "[a-z]{1,12}",
                2 => "[ ]{1,3}",
                1 => prop::sample::select(&["\t", " \t", "é", "#", ": ", "\n", "-"][..]).prop_map(String::from),
            ],
            8..40,
        )
        .prop_map(|pieces| pieces.concat());
        // Near the fast classes' edges: letters, digits, `._/-:`, then maybe one odd piece.
        let near_simple = (
            "[a-zA-Z0-9][a-zA-Z0-9._/:-]{0,8}|[0-9]{1,4}[a-zA-Z]{0,3}",
            prop::option::of(pieces.clone()),
        )
            .prop_map(|(s, tail)| s + tail.unwrap_or(""));
        prop_oneof![
            8 => prop::collection::vec(pieces, 0..6).prop_map(|p| p.concat()),
            4 => near_simple,
            2 => long,
            1 => ("[a-z. #:-]{70,90}", "[ ]{0,3}").prop_map(|(s, t)| s + &t),
            1 => "\\PC{0,12}",
        ]
    }

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            "[a-z][a-z0-9.-]{0,10}".prop_map(Value::String),
            tricky_string().prop_map(Value::String),
        ]
    }

    fn tree() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(5, 60, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(
                    (prop_oneof!["[a-z][a-zA-Z0-9]{0,8}", tricky_string()], inner),
                    0..4
                )
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    /// A tree of maps and sequences (empty ones too) holding names and integers: always
    /// written fast.
    fn plain_tree() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<i64>().prop_map(Value::from),
            any::<bool>().prop_map(Value::Bool),
            Just(Value::Null),
            "[a-z][a-z0-9.-]{0,10}".prop_map(Value::String),
        ];
        leaf.prop_recursive(6, 80, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z][a-zA-Z0-9]{0,8}", inner, 0..4)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    use crate::test_support::proptest_cases as cases;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(cases(4096)))]

        /// A string as a value, an item and a key is quoted (or not) as serde-saphyr quotes it.
        #[test]
        fn strings_are_quoted_as_serde_saphyr_quotes_them(s in tricky_string()) {
            let as_value = json!({ "k": s, "items": [s, [s]] });
            let written = check(&as_value, &format!("{s:?} as a value"))?;
            prop_assert!(written, "{:?} not written fast", s);
            let as_key = Value::Object([(s.clone(), json!(1))].into_iter().collect());
            let as_key = json!({ "map": as_key });
            let written = check(&as_key, &format!("{s:?} as a key"))?;
            prop_assert!(written || s.len() > 1024, "{:?} as a key not written fast", s);
        }

        /// Random trees: where the fast writer writes, it writes serde-saphyr's text.
        #[test]
        fn random_trees_are_written_as_serde_saphyr_writes_them(value in tree()) {
            let root = json!({ "root": value });
            check(&root, &root.to_string())?;
        }

        /// Trees of maps, sequences, names, numbers, booleans and nulls, at any depth and
        /// with empty collections anywhere: always written fast, and as serde-saphyr writes them.
        #[test]
        fn plain_trees_are_written_fast(value in plain_tree()) {
            let root = json!({ "root": value.clone(), "next": 1 });
            prop_assert!(check(&root, &root.to_string())?, "not written fast: {}", root);
        }
    }
}
