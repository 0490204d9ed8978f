//! Reading Vite's manifest: what the scan (which files are hashed) and the
//! reference check (what an entry needs) both take from it. A leaf module.

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};

/// `file`, `css` and `assets` paths of a Vite manifest (`.vite/manifest.json`).
/// Only those fields are read, chunk by chunk as the JSON is parsed: neither
/// a generic JSON tree nor a map of every chunk is held, which for a
/// 20,000-chunk manifest were several times the file's size. A manifest that
/// is not Vite's shape yields no references.
pub fn manifest_references(json: &[u8]) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Chunk {
        file: Option<String>,
        #[serde(default)]
        css: Vec<String>,
        #[serde(default)]
        assets: Vec<String>,
    }
    struct Chunks;
    impl<'de> Visitor<'de> for Chunks {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a Vite manifest: an object of chunks")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<String>, A::Error> {
            let mut references = Vec::new();
            while let Some((IgnoredAny, chunk)) = map.next_entry::<IgnoredAny, Chunk>()? {
                references.extend(chunk.file.into_iter().chain(chunk.css).chain(chunk.assets));
            }
            Ok(references)
        }
    }
    let mut parser = serde_json::Deserializer::from_slice(json);
    match parser.deserialize_map(Chunks) {
        Ok(references) if parser.end().is_ok() => references,
        _ => Vec::new(),
    }
}
