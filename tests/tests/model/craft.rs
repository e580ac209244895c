//! Editing files below the runtime's own writers, so that tests can produce
//! exactly the malformed or unusual input a real importer might.
//!
//! [`Parts`] reads a valid file through the runtime's parser into plain lists
//! (metadata pairs; tensors as name, dtype, shape and raw little-endian bytes),
//! lets a test change anything, and writes the safetensors container by hand:
//! 8-byte little-endian header length, JSON header, tensor data.

use patchrt::FileKind;
use patchrt::model::tensors::TensorFile;

/// Every metadata key either format defines; [`Parts::decode`] keeps those present.
pub const KNOWN_KEYS: [&str; 17] = [
    "format",
    "format_version",
    "arch",
    "width",
    "classes",
    "bn_epsilon",
    "padding",
    "input_mean",
    "input_scale",
    "native_resolution",
    "task",
    "labels",
    "blocks",
    "patch_id",
    "resolution",
    "kind",
    "backbone_sha256",
];

/// One tensor as stored: safetensors dtype name, shape and raw bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<usize>,
    pub data: Vec<u8>,
}

impl Part {
    /// An F32 tensor.
    pub fn f32(name: &str, shape: &[usize], values: &[f32]) -> Part {
        Part {
            name: name.to_string(),
            dtype: "F32".into(),
            shape: shape.to_vec(),
            data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }

    /// Overwrites element `index` of an F32 tensor.
    pub fn set_f32(&mut self, index: usize, value: f32) {
        assert_eq!(self.dtype, "F32", "{} is not stored as F32", self.name);
        self.data[4 * index..4 * index + 4].copy_from_slice(&value.to_le_bytes());
    }
}

/// A safetensors file taken apart.
#[derive(Debug, Clone, PartialEq)]
pub struct Parts {
    pub meta: Vec<(String, String)>,
    pub tensors: Vec<Part>,
}

impl Parts {
    /// Takes apart a file the runtime's container parser accepts.
    pub fn decode(kind: FileKind, bytes: &[u8]) -> Parts {
        let file = match TensorFile::parse(kind, bytes) {
            Ok(f) => f,
            Err(e) => panic!("Parts::decode needs a well-formed file: {e}"),
        };
        let meta = KNOWN_KEYS
            .iter()
            .filter_map(|k| file.meta(k).map(|v| (k.to_string(), v.to_string())))
            .collect();
        let tensors = file
            .raw_sorted()
            .into_iter()
            .map(|(name, dtype, shape, data)| Part {
                name,
                dtype: format!("{dtype:?}"),
                shape,
                data: data.to_vec(),
            })
            .collect();
        Parts { meta, tensors }
    }

    /// Writes the container: metadata first, tensors in list order.
    pub fn encode(&self) -> Vec<u8> {
        let mut header = String::from("{\"__metadata__\":{");
        let pairs: Vec<String> = self
            .meta
            .iter()
            .map(|(k, v)| format!("{}:{}", json_string(k), json_string(v)))
            .collect();
        header.push_str(&pairs.join(","));
        header.push('}');
        let mut offset = 0;
        for t in &self.tensors {
            let dims: Vec<String> = t.shape.iter().map(usize::to_string).collect();
            header.push_str(&format!(
                ",{}:{{\"dtype\":{},\"shape\":[{}],\"data_offsets\":[{},{}]}}",
                json_string(&t.name),
                json_string(&t.dtype),
                dims.join(","),
                offset,
                offset + t.data.len()
            ));
            offset += t.data.len();
        }
        header.push('}');
        // Pad with spaces to a multiple of 8, as the reference writer does.
        while header.len() % 8 != 0 {
            header.push(' ');
        }
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        for t in &self.tensors {
            out.extend_from_slice(&t.data);
        }
        out
    }

    /// A metadata value.
    pub fn get_meta(&self, key: &str) -> Option<&str> {
        self.meta
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Sets (or adds) a metadata value.
    pub fn set_meta(&mut self, key: &str, value: &str) -> &mut Self {
        self.meta.retain(|(k, _)| k != key);
        self.meta.push((key.to_string(), value.to_string()));
        self
    }

    /// Removes a metadata key; panics when it was not there.
    pub fn remove_meta(&mut self, key: &str) -> &mut Self {
        let before = self.meta.len();
        self.meta.retain(|(k, _)| k != key);
        assert!(self.meta.len() < before, "no metadata key {key}");
        self
    }

    /// The tensor called `name`; panics when absent.
    pub fn tensor(&mut self, name: &str) -> &mut Part {
        match self.tensors.iter_mut().find(|t| t.name == name) {
            Some(t) => t,
            None => panic!("no tensor {name}"),
        }
    }

    /// Removes the tensor called `name` and returns it; panics when absent.
    pub fn remove_tensor(&mut self, name: &str) -> Part {
        match self.tensors.iter().position(|t| t.name == name) {
            Some(i) => self.tensors.remove(i),
            None => panic!("no tensor {name}"),
        }
    }

    /// Adds a tensor at the end.
    pub fn push(&mut self, part: Part) -> &mut Self {
        self.tensors.push(part);
        self
    }
}

/// A JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
