//! Reading Vite's manifest: what the scan (which files are hashed) and the
//! reference check (what an entry needs) both take from it. A leaf module.

use std::collections::HashMap;

/// `file`, `css` and `assets` paths of a Vite manifest (`.vite/manifest.json`).
/// Only those fields are read: a generic JSON tree of a 20,000-chunk
/// manifest would hold several times the file's size. A manifest that is
/// not Vite's shape yields no references.
pub fn manifest_references(json: &[u8]) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Chunk {
        file: Option<String>,
        #[serde(default)]
        css: Vec<String>,
        #[serde(default)]
        assets: Vec<String>,
    }
    let Ok(manifest) = serde_json::from_slice::<HashMap<String, Chunk>>(json) else {
        return Vec::new();
    };
    manifest
        .into_values()
        .flat_map(|chunk| chunk.file.into_iter().chain(chunk.css).chain(chunk.assets))
        .collect()
}
