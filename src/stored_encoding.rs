//! How the objects of the store are encoded, as the ledger recorded them,
//! for the plan: precompressed objects (see [`crate::compress`]) are planned
//! by their content, and a change of `compress` is a change of the plan.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::compress::{Encoding, Method};
use crate::ledger::Release;
use crate::local::LocalFile;
use crate::plan::{Action, Plan, Reason};
use crate::remote::RemoteObject;

/// How the objects of the store are encoded, as far as the live release
/// recorded them: by key, for the keys whose listed object is the one the
/// ledger recorded.
#[derive(Debug, Clone, Default)]
pub struct Stored {
    encodings: HashMap<String, Encoding>,
    /// The content's MD5 of objects stored compressed: their ETag is the
    /// compressed bytes'.
    md5s: HashMap<String, [u8; 16]>,
    /// The content's size of objects stored compressed.
    sizes: HashMap<String, u64>,
    /// Objects of the recorded size whose ETag the listing does not show:
    /// by key, the MD5 their stored bytes must have to be the ones
    /// recorded (see [`Stored::confirm`]).
    unconfirmed: HashMap<String, [u8; 16]>,
}

impl Stored {
    /// Reads the live release's encodings, trusting each only while the
    /// listing shows the object it recorded: the size stored and, for files
    /// compared by content, the ETag. Any other object (written by another
    /// tool, or a deploy that failed before its ledger) counts as stored as
    /// it is: it is then compared as usual, and uploaded again if compression
    /// is wanted.
    pub fn recognize(live: Option<&Release>, remote: &[RemoteObject]) -> Self {
        let mut stored = Stored::default();
        let Some(live) = live else {
            return stored;
        };
        for object in remote {
            let Some(entry) = live.files.get(&object.relative) else {
                continue;
            };
            let Some(encoding) = entry.encoding.as_deref().cloned() else {
                continue;
            };
            let expected_size = encoding.stored_size.unwrap_or(entry.size);
            if object.size != expected_size {
                continue;
            }
            let same_e_tag = match (&entry.e_tag, &object.e_tag) {
                (Some(recorded), Some(listed)) => bare(recorded) == bare(listed),
                (Some(_), None) => {
                    // No ETag listed: the bytes read back decide.
                    let stored_md5 = match encoding.stored_size {
                        Some(_) => encoding.stored_md5.as_deref(),
                        None => entry.md5.as_deref(),
                    };
                    if let Some(md5) = stored_md5.and_then(crate::digest::parse_hex) {
                        stored.unconfirmed.insert(object.relative.clone(), md5);
                    }
                    continue;
                }
                // Hashed assets record none: their name is their content.
                (None, _) => entry.md5.is_none(),
            };
            if same_e_tag {
                stored.accept(&object.relative, entry, encoding);
            }
        }
        stored
    }

    fn accept(&mut self, relative: &str, entry: &crate::ledger::Entry, encoding: Encoding) {
        if encoding.stored_size.is_some() {
            self.sizes.insert(relative.to_string(), entry.size);
            if let Some(md5) = entry.md5.as_deref().and_then(crate::digest::parse_hex) {
                self.md5s.insert(relative.to_string(), md5);
            }
        }
        self.encodings.insert(relative.to_string(), encoding);
    }

    /// Keys whose stored bytes must be read back and hashed before they are
    /// recognised: the listing shows no ETag for them.
    pub fn unconfirmed(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.unconfirmed.keys().cloned().collect();
        keys.sort();
        keys
    }

    /// Recognises the unconfirmed objects whose stored bytes hash (`read`:
    /// key and MD5 of what was read back) to what the release recorded.
    pub fn confirm(&mut self, live: Option<&Release>, read: &[(String, [u8; 16])]) {
        let Some(live) = live else {
            return;
        };
        for (relative, md5) in read {
            if self.unconfirmed.remove(relative) != Some(*md5) {
                continue;
            }
            if let Some(entry) = live.files.get(relative) {
                if let Some(encoding) = entry.encoding.as_deref().cloned() {
                    self.accept(relative, entry, encoding);
                }
            }
        }
    }

    /// The encoding of a key, if compression was tried on the object stored.
    pub fn encoding(&self, relative: &str) -> Option<Encoding> {
        self.encodings.get(relative).cloned()
    }

    /// The listing as the plan must see it: objects stored compressed with
    /// the size of their content.
    /// Borrowed when nothing is stored compressed.
    pub fn content_view<'a>(&self, remote: &'a [RemoteObject]) -> Cow<'a, [RemoteObject]> {
        if self.sizes.is_empty() {
            return Cow::Borrowed(remote);
        }
        remote
            .iter()
            .map(|object| match self.sizes.get(&object.relative) {
                Some(&size) => RemoteObject {
                    size,
                    ..object.clone()
                },
                None => object.clone(),
            })
            .collect()
    }

    /// The content MD5s of objects stored compressed, for the plan: they
    /// replace what their ETags (the compressed bytes' MD5) would say.
    pub fn content_md5s(&self) -> impl Iterator<Item = (String, [u8; 16])> + '_ {
        self.md5s.iter().map(|(k, v)| (k.clone(), *v))
    }

    /// Marks for upload every file the plan leaves unchanged whose stored
    /// encoding is not the one wanted now: compression switched on, off, or
    /// to the other method.
    pub fn mark_changes(&self, plan: &mut Plan, local: &[LocalFile], setting: Option<Method>) {
        let mut changed = false;
        for step in plan.steps.iter_mut() {
            if step.action != Action::Unchanged {
                continue;
            }
            let Some(file) = step.local.and_then(|i| local.get(i)) else {
                continue;
            };
            let wanted = crate::compress::wanted(setting, file);
            let stored = self.encoding(&step.relative).map(|e| e.method);
            if wanted != stored {
                step.action = Action::Upload;
                step.reason = Reason::EncodingChanged { stored, wanted };
                changed = true;
            }
        }
        if changed {
            plan.sort();
        }
    }

    /// Records in the release being deployed how each key is stored: the
    /// encoding found for keys left as they were, the one `uploaded` (the
    /// outcome's) for keys written.
    pub fn record(
        &self,
        release: &mut Release,
        uploaded: Option<(&[String], &HashMap<String, Encoding>)>,
    ) {
        for (key, entry) in release.files.iter_mut() {
            entry.encoding = self.encoding(key).map(Box::new);
        }
        if let Some((written, encodings)) = uploaded {
            for key in written {
                if let Some(entry) = release.files.get_mut(key) {
                    entry.encoding = encodings.get(key).cloned().map(Box::new);
                }
            }
        }
    }
}

fn bare(e_tag: &str) -> &str {
    e_tag.trim_start_matches("W/").trim_matches('"')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compress::tests::{decompress, noise, text};
    use crate::ledger::Entry;
    use crate::local::FileKind;
    use crate::store::Target;
    use object_store::ObjectStoreExt;

    fn entry(
        size: u64,
        md5: Option<&str>,
        e_tag: Option<&str>,
        encoding: Option<Encoding>,
    ) -> Entry {
        Entry {
            size,
            md5: md5.map(Box::from),
            kind: if md5.is_some() {
                FileKind::Entry
            } else {
                FileKind::Hashed
            },
            e_tag: e_tag.map(Box::from),
            cache_control: None,
            headers: None,
            encoding: encoding.map(Box::new),
        }
    }

    fn listed(relative: &str, size: u64, e_tag: &str) -> RemoteObject {
        RemoteObject {
            relative: relative.into(),
            size,
            e_tag: Some(e_tag.into()),
            modified: 0,
        }
    }

    #[test]
    fn stored_objects_are_recognised_by_the_size_and_etag_the_ledger_recorded() {
        let md5 = "0123456789abcdef0123456789abcdef";
        let gzip = |stored_size| {
            Some(Encoding {
                method: Method::Gzip,
                stored_size,
                stored_md5: stored_size.map(|_| "aa".repeat(16)),
            })
        };
        let live = Release {
            id: "1".into(),
            time: "2026-12-02T00:00:00Z".into(),
            version: "test".into(),
            files: [
                (
                    "index.html",
                    entry(5000, Some(md5), Some("\"e1\""), gzip(Some(900))),
                ),
                (
                    "assets/a-3fA9c1xZ.js",
                    entry(9000, None, None, gzip(Some(2000))),
                ),
                (
                    "random.json",
                    entry(3000, Some(md5), Some("e3"), gzip(None)),
                ),
                (
                    "rewritten.html",
                    entry(5000, Some(md5), Some("\"e4\""), gzip(Some(900))),
                ),
                ("plain.html", entry(5000, Some(md5), Some("\"e5\""), None)),
            ]
            .into_iter()
            .map(|(k, e)| (k.to_string(), e))
            .collect(),
        };
        let remote = [
            listed("index.html", 900, "e1"),
            listed("assets/a-3fA9c1xZ.js", 2000, "x"),
            listed("random.json", 3000, "\"e3\""),
            // Another tool wrote it since: same size, another ETag.
            listed("rewritten.html", 900, "\"other\""),
            listed("plain.html", 5000, "\"e5\""),
        ];
        let stored = Stored::recognize(Some(&live), &remote);
        assert_eq!(stored.encoding("index.html"), gzip(Some(900)));
        assert_eq!(stored.encoding("assets/a-3fA9c1xZ.js"), gzip(Some(2000)));
        assert_eq!(stored.encoding("random.json"), gzip(None));
        assert_eq!(stored.encoding("rewritten.html"), None);
        assert_eq!(stored.encoding("plain.html"), None);

        let view = stored.content_view(&remote);
        let sizes: Vec<u64> = view.iter().map(|o| o.size).collect();
        assert_eq!(sizes, [5000, 9000, 3000, 900, 5000]);
        let md5s: HashMap<String, [u8; 16]> = stored.content_md5s().collect();
        assert_eq!(
            md5s.keys().collect::<Vec<_>>(),
            ["index.html"],
            "only objects stored compressed need their content's MD5"
        );
        assert!(Stored::recognize(None, &remote)
            .encoding("index.html")
            .is_none());
    }

    #[test]
    fn without_an_etag_in_the_listing_the_bytes_read_back_decide() {
        // s3s-fs lists no ETags: an object of the recorded size is read back,
        // and recognised only if its stored bytes are the ones recorded.
        let content = "0123456789abcdef0123456789abcdef";
        let gzip = |stored_size: Option<u64>, stored_md5: &str| {
            Some(Encoding {
                method: Method::Gzip,
                stored_size,
                stored_md5: stored_size.map(|_| stored_md5.to_string()),
            })
        };
        let live = Release {
            id: "1".into(),
            time: "2026-12-02T00:00:00Z".into(),
            version: "test".into(),
            files: [
                (
                    "index.html",
                    entry(
                        5000,
                        Some(content),
                        Some("\"e1\""),
                        gzip(Some(900), &"bb".repeat(16)),
                    ),
                ),
                (
                    "other.html",
                    entry(
                        5000,
                        Some(content),
                        Some("\"e2\""),
                        gzip(Some(900), &"cc".repeat(16)),
                    ),
                ),
                (
                    "random.json",
                    entry(3000, Some(content), Some("\"e3\""), gzip(None, "")),
                ),
            ]
            .into_iter()
            .map(|(k, e)| (k.to_string(), e))
            .collect(),
        };
        let unlisted = |relative: &str, size| RemoteObject {
            e_tag: None,
            ..listed(relative, size, "")
        };
        let remote = [
            unlisted("index.html", 900),
            unlisted("other.html", 900),
            unlisted("random.json", 3000),
        ];
        let mut stored = Stored::recognize(Some(&live), &remote);
        assert_eq!(
            stored.unconfirmed(),
            ["index.html", "other.html", "random.json"]
        );
        assert_eq!(stored.encoding("index.html"), None, "not before the read");
        let read = [
            ("index.html".to_string(), [0xbb; 16]),
            // Rewritten by another tool to the same size.
            ("other.html".to_string(), [0x99; 16]),
            // Stored as it is: its bytes are the content.
            (
                "random.json".to_string(),
                crate::digest::parse_hex(content).unwrap(),
            ),
        ];
        stored.confirm(Some(&live), &read);
        assert_eq!(
            stored.encoding("index.html").map(|e| e.stored_size),
            Some(Some(900))
        );
        assert_eq!(stored.encoding("other.html"), None);
        assert_eq!(
            stored.encoding("random.json").map(|e| e.stored_size),
            Some(None)
        );
        let md5s: HashMap<String, [u8; 16]> = stored.content_md5s().collect();
        assert_eq!(md5s.keys().collect::<Vec<_>>(), ["index.html"]);
    }

    #[test]
    fn switching_compression_on_off_or_to_another_method_uploads_the_unchanged_files() {
        let file = |relative: &str, size: u64| LocalFile {
            relative: relative.into(),
            path: relative.into(),
            size,
            kind: FileKind::Hashed,
            md5: None,
        };
        let local = [
            file("assets/a-3fA9c1xZ.js", 9000),
            file("assets/small-3fA9c1xZ.js", 100),
            file("assets/b-3fA9c1xZ.png", 9000),
        ];
        let remote: Vec<RemoteObject> = local
            .iter()
            .map(|f| listed(&f.relative, f.size, "x"))
            .collect();
        let reasons = |stored: &Stored, setting| {
            let mut plan = crate::plan::plan(&local, &remote, &HashMap::new(), true);
            stored.mark_changes(&mut plan, &local, setting);
            plan.steps
                .iter()
                .map(|s| format!("{} {}", s.relative, s.reason))
                .collect::<Vec<_>>()
        };
        let nothing = Stored::default();
        assert_eq!(
            reasons(&nothing, Some(Method::Gzip)),
            [
                "assets/a-3fA9c1xZ.js encoding changed (none → gzip)",
                "assets/b-3fA9c1xZ.png unchanged (hashed name, same size)",
                "assets/small-3fA9c1xZ.js unchanged (hashed name, same size)",
            ],
            "uploads first, then the files left as they are"
        );
        assert!(reasons(&nothing, None)
            .iter()
            .all(|r| r.contains("unchanged")));

        let mut gzipped = Stored::default();
        gzipped.encodings.insert(
            "assets/a-3fA9c1xZ.js".into(),
            Encoding {
                method: Method::Gzip,
                stored_size: Some(2000),
                stored_md5: None,
            },
        );
        assert!(reasons(&gzipped, Some(Method::Gzip))
            .iter()
            .all(|r| r.contains("unchanged")));
        assert_eq!(
            reasons(&gzipped, None)[0],
            "assets/a-3fA9c1xZ.js encoding changed (gzip → none)"
        );
        assert_eq!(
            reasons(&gzipped, Some(Method::Br))[0],
            "assets/a-3fA9c1xZ.js encoding changed (gzip → br)"
        );
    }

    async fn deploy(
        dist: &std::path::Path,
        storage: &str,
        compress: Option<&str>,
    ) -> crate::Report {
        let options = crate::DeployOptions {
            dir: dist.to_path_buf(),
            storage: Some(storage.into()),
            compress: Some(match compress {
                Some(name) => crate::options::CompressOption::Method(name.into()),
                None => crate::options::CompressOption::Flag(false),
            }),
            ..Default::default()
        };
        crate::deploy_with_env(options, |_| None, &(), &Default::default())
            .await
            .unwrap()
    }

    fn reasons(report: &crate::Report) -> Vec<String> {
        report
            .files
            .iter()
            .map(|f| format!("{} {}", f.path, f.reason))
            .collect()
    }

    async fn stored(target: &Target, relative: &str) -> (Vec<u8>, Option<String>, Option<String>) {
        let got = target
            .store
            .get(&target.key(relative).unwrap())
            .await
            .unwrap();
        let attribute = |a| got.attributes.get(&a).map(|v| v.to_string());
        let encoding = attribute(object_store::Attribute::ContentEncoding);
        let content_type = attribute(object_store::Attribute::ContentType);
        (got.bytes().await.unwrap().to_vec(), encoding, content_type)
    }

    #[tokio::test]
    async fn a_vite_plugins_gz_copy_is_stored_as_the_files_compressed_bytes() {
        let work = tempfile::tempdir().unwrap();
        let dist = work.path().join("dist");
        std::fs::create_dir_all(&dist).unwrap();
        let script = text(20_000);
        let gz = crate::compress::tests::plugin_gzip(&script);
        std::fs::write(dist.join("app.js"), &script).unwrap();
        std::fs::write(dist.join("app.js.gz"), &gz).unwrap();
        let storage = "memory:///compress-reuse/site";
        let target = crate::store::open(storage, &Default::default(), &Default::default()).unwrap();
        deploy(&dist, storage, Some("gzip")).await;
        let (body, encoding, _) = stored(&target, "app.js").await;
        assert_eq!(encoding.as_deref(), Some("gzip"));
        assert_eq!(body, gz, "the plugin's bytes, not compressed again");
        // The copy itself is a file of the build like any other.
        assert_eq!(stored(&target, "app.js.gz").await.0, gz);
        assert_eq!(
            deploy(&dist, storage, Some("gzip"))
                .await
                .summary
                .uploaded
                .count,
            0
        );
    }

    #[tokio::test]
    async fn a_deploy_stores_text_compressed_a_redeploy_writes_nothing_and_switching_rewrites() {
        let work = tempfile::tempdir().unwrap();
        let dist = work.path().join("dist");
        std::fs::create_dir_all(dist.join("assets")).unwrap();
        let page = format!("<!doctype html><p>{}</p>", "hello ".repeat(500));
        let script = text(20_000);
        std::fs::write(dist.join("index.html"), &page).unwrap();
        std::fs::write(dist.join("assets/app-3fA9c1xZ.js"), &script).unwrap();
        std::fs::write(dist.join("assets/tiny-3fA9c1xZ.js"), "export{}").unwrap();
        std::fs::write(dist.join("noise.json"), noise(4096)).unwrap();
        std::fs::write(dist.join("logo.png"), text(4096)).unwrap();
        let storage = "memory:///compress-e2e/site";
        let target = crate::store::open(storage, &Default::default(), &Default::default()).unwrap();

        let first = deploy(&dist, storage, Some("gzip")).await;
        assert_eq!(first.summary.uploaded.count, 5, "{:?}", reasons(&first));
        let (body, encoding, content_type) = stored(&target, "assets/app-3fA9c1xZ.js").await;
        assert_eq!(encoding.as_deref(), Some("gzip"));
        assert_eq!(
            content_type.as_deref(),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(decompress(Method::Gzip, &body), script);
        let (body, encoding, _) = stored(&target, "index.html").await;
        assert_eq!(encoding.as_deref(), Some("gzip"));
        assert_eq!(decompress(Method::Gzip, &body), page.as_bytes());
        for (relative, why) in [
            ("assets/tiny-3fA9c1xZ.js", "below 1 KiB"),
            ("noise.json", "does not shrink"),
            ("logo.png", "not text-like"),
        ] {
            let (body, encoding, _) = stored(&target, relative).await;
            assert_eq!(encoding, None, "{relative}: {why}");
            assert_eq!(
                body,
                std::fs::read(dist.join(relative)).unwrap(),
                "{relative}"
            );
        }

        let again = deploy(&dist, storage, Some("gzip")).await;
        assert_eq!(again.summary.uploaded.count, 0, "{:?}", reasons(&again));
        assert!(
            again.notes.iter().any(|n| n.contains("already live")),
            "{:?}",
            again.notes
        );

        let off = deploy(&dist, storage, None).await;
        let uploaded: Vec<String> = reasons(&off)
            .into_iter()
            .filter(|r| r.contains("encoding changed"))
            .collect();
        assert_eq!(
            uploaded,
            [
                "assets/app-3fA9c1xZ.js encoding changed (gzip → none)",
                "noise.json encoding changed (gzip → none)",
                "index.html encoding changed (gzip → none)",
            ]
        );
        let (body, encoding, _) = stored(&target, "index.html").await;
        assert_eq!((body, encoding), (page.as_bytes().to_vec(), None));
        assert_eq!(deploy(&dist, storage, None).await.summary.uploaded.count, 0);

        let on = deploy(&dist, storage, Some("br")).await;
        assert_eq!(on.summary.uploaded.count, 3, "{:?}", reasons(&on));
        let (body, encoding, _) = stored(&target, "index.html").await;
        assert_eq!(encoding.as_deref(), Some("br"));
        assert_eq!(decompress(Method::Br, &body), page.as_bytes());
        assert_eq!(
            deploy(&dist, storage, Some("br"))
                .await
                .summary
                .uploaded
                .count,
            0
        );

        // A rollback puts the earlier page back with the encoding of its copy.
        let changed = format!("<!doctype html><p>{}</p>", "changed ".repeat(500));
        std::fs::write(dist.join("index.html"), &changed).unwrap();
        deploy(&dist, storage, Some("gzip")).await;
        let (body, encoding, _) = stored(&target, "index.html").await;
        assert_eq!(encoding.as_deref(), Some("gzip"));
        assert_eq!(decompress(Method::Gzip, &body), changed.as_bytes());
        crate::rollback::rollback(crate::rollback::LedgerOptions {
            storage: Some(storage.into()),
            ..Default::default()
        })
        .await
        .unwrap();
        // The copy of this content was made when it first went up, gzipped.
        let (body, encoding, _) = stored(&target, "index.html").await;
        assert_eq!(encoding.as_deref(), Some("gzip"));
        assert_eq!(decompress(Method::Gzip, &body), page.as_bytes());
    }
}
