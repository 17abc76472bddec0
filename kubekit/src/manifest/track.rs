//! Reading a typed object from a JSON value strictly, as the API server decodes JSON, with the
//! path of the value that failed.
//!
//! The JSON types count as they are: a boolean or a number where a string is wanted fails, as
//! it does for `kubectl apply` (`cannot unmarshal bool into Go struct field EnvVar.value of
//! type string`). The path is recorded on the way out of the deepest map entry or sequence
//! item the error passes, so it names the value itself.

use std::cell::RefCell;

use serde::Deserializer;
use serde::de::value::StrDeserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess};
use serde_json::Value;

use super::parse::Seg;

/// Reads `value` as `T`; on failure, the path of the value that failed (relative to `value`)
/// and serde_json's error.
pub(crate) fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, (Vec<Seg>, String)> {
    let failed = RefCell::new(None);
    let root = Track {
        value,
        path: &Path::Root,
        failed: &failed,
    };
    T::deserialize(root).map_err(|error| {
        let path = failed.into_inner().unwrap_or_default();
        (path, error.to_string())
    })
}

/// Where a value is: a chain of parents on the stack.
enum Path<'p> {
    Root,
    Key(&'p Path<'p>, &'p str),
    Index(&'p Path<'p>, usize),
}

impl Path<'_> {
    fn segments(&self) -> Vec<Seg> {
        let mut segments = Vec::new();
        let mut at = self;
        loop {
            match at {
                Path::Root => break,
                Path::Key(parent, key) => {
                    segments.push(Seg::Key((*key).to_owned()));
                    at = parent;
                }
                Path::Index(parent, index) => {
                    segments.push(Seg::Index(*index));
                    at = parent;
                }
            }
        }
        segments.reverse();
        segments
    }
}

struct Track<'v, 'p> {
    value: &'v Value,
    path: &'p Path<'p>,
    failed: &'p RefCell<Option<Vec<Seg>>>,
}

impl Track<'_, '_> {
    /// Records the path of the innermost value an error passes.
    fn record(&self, error: serde_json::Error) -> serde_json::Error {
        let mut failed = self.failed.borrow_mut();
        if failed.is_none() {
            *failed = Some(self.path.segments());
        }
        error
    }
}

macro_rules! forward {
    ($($method:ident)*) => {$(
        fn $method<V: de::Visitor<'v>>(self, visitor: V) -> Result<V::Value, serde_json::Error> {
            self.value.$method(visitor)
        }
    )*};
}

impl<'v> Deserializer<'v> for Track<'v, '_> {
    type Error = serde_json::Error;

    fn deserialize_any<V: de::Visitor<'v>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.value {
            Value::Object(map) => visitor.visit_map(TrackMap {
                entries: map.iter(),
                pending: None,
                path: self.path,
                failed: self.failed,
            }),
            Value::Array(items) => visitor.visit_seq(TrackSeq {
                items: items.iter().enumerate(),
                path: self.path,
                failed: self.failed,
            }),
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: de::Visitor<'v>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: de::Visitor<'v>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_map<V: de::Visitor<'v>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.value {
            Value::Object(_) => self.deserialize_any(visitor),
            other => other.deserialize_map(visitor),
        }
    }

    fn deserialize_struct<V: de::Visitor<'v>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.value {
            Value::Object(_) => self.deserialize_any(visitor),
            other => other.deserialize_struct(name, fields, visitor),
        }
    }

    fn deserialize_seq<V: de::Visitor<'v>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.value {
            Value::Array(_) => self.deserialize_any(visitor),
            other => other.deserialize_seq(visitor),
        }
    }

    fn deserialize_tuple<V: de::Visitor<'v>>(
        self,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: de::Visitor<'v>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_unit_struct<V: de::Visitor<'v>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.value.deserialize_unit_struct(name, visitor)
    }

    fn deserialize_enum<V: de::Visitor<'v>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.value.deserialize_enum(name, variants, visitor)
    }

    fn deserialize_ignored_any<V: de::Visitor<'v>>(
        self,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_unit()
    }

    forward! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char deserialize_str
        deserialize_string deserialize_bytes deserialize_byte_buf deserialize_unit
        deserialize_identifier
    }
}

struct TrackMap<'v, 'p> {
    entries: serde_json::map::Iter<'v>,
    pending: Option<(&'v str, &'v Value)>,
    path: &'p Path<'p>,
    failed: &'p RefCell<Option<Vec<Seg>>>,
}

impl<'v> MapAccess<'v> for TrackMap<'v, '_> {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'v>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.pending = Some((key.as_str(), value));
        let key: StrDeserializer<'_, serde_json::Error> = key.as_str().into_deserializer();
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'v>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, Self::Error> {
        let Some((key, value)) = self.pending.take() else {
            return Err(de::Error::custom("value without a key"));
        };
        let path = Path::Key(self.path, key);
        let track = Track {
            value,
            path: &path,
            failed: self.failed,
        };
        let failed = self.failed;
        seed.deserialize(track).map_err(|error| {
            Track {
                value,
                path: &path,
                failed,
            }
            .record(error)
        })
    }
}

struct TrackSeq<'v, 'p> {
    items: std::iter::Enumerate<std::slice::Iter<'v, Value>>,
    path: &'p Path<'p>,
    failed: &'p RefCell<Option<Vec<Seg>>>,
}

impl<'v> SeqAccess<'v> for TrackSeq<'v, '_> {
    type Error = serde_json::Error;

    fn next_element_seed<S: DeserializeSeed<'v>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Self::Error> {
        let Some((index, value)) = self.items.next() else {
            return Ok(None);
        };
        let path = Path::Index(self.path, index);
        let track = Track {
            value,
            path: &path,
            failed: self.failed,
        };
        let failed = self.failed;
        seed.deserialize(track).map(Some).map_err(|error| {
            Track {
                value,
                path: &path,
                failed,
            }
            .record(error)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use k8s_openapi::api::core::v1::Pod;
    use serde_json::json;

    use super::*;

    #[test]
    fn the_path_names_the_value_of_the_wrong_type() {
        let pod = json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [
                {"name": "a"},
                {"name": "b", "env": [{"name": "X", "value": true}]},
            ]},
        });
        let (path, message) = from_value::<Pod>(&pod).unwrap_err();
        assert_eq!(
            super::super::parse::PathDisplay(&path).to_string(),
            "spec.containers[1].env[0].value"
        );
        assert_eq!(message, "invalid type: boolean `true`, expected a string");
        let ok: Pod = from_value(&json!({"spec": {"containers": [{"name": "a"}]}})).unwrap();
        assert_eq!(ok.spec.unwrap().containers[0].name, "a");
    }
}
