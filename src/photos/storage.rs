//! Blob storage through `object_store`: a local directory by default, any S3-compatible
//! bucket by configuration. Keys are content digests, so a write is idempotent.

use std::sync::Arc;

use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload};

use crate::error::{ApiError, ApiResult};

#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    /// The same store when it is a local directory: finished uploads are linked into it.
    local: Option<Arc<LocalFileSystem>>,
}

impl Blobs {
    /// `url` empty: files under `local_dir`. Otherwise an object-store URL such as
    /// `s3://bucket/prefix` (credentials from the usual AWS_* variables).
    pub fn open(url: &str, local_dir: &std::path::Path) -> anyhow::Result<Blobs> {
        if url.is_empty() {
            std::fs::create_dir_all(local_dir)?;
            let store = Arc::new(LocalFileSystem::new_with_prefix(local_dir)?);
            return Ok(Blobs {
                store: store.clone(),
                prefix: Path::default(),
                local: Some(store),
            });
        }
        let parsed = url::Url::parse(url)?;
        let (store, prefix) = object_store::parse_url_opts(&parsed, std::env::vars())?;
        Ok(Blobs {
            store: Arc::from(store),
            prefix,
            local: None,
        })
    }

    fn key(&self, kind: &str, digest: &str) -> Path {
        // Two levels of fan-out keep directories small on a local disk.
        self.prefix.child(kind).child(&digest[..2]).child(format!(
            "{digest}.{}",
            if kind == "signatures" { "png" } else { "jpg" }
        ))
    }

    pub async fn put(&self, kind: &str, digest: &str, bytes: Vec<u8>) -> ApiResult<()> {
        self.store
            .put(&self.key(kind, digest), PutPayload::from(bytes))
            .await
            .map_err(storage_error)?;
        Ok(())
    }

    /// Stores `bytes`, which are also the whole of the file at `file`. A local store takes a
    /// hard link to the file instead of a second copy of the bytes (the file is the finished
    /// upload, already on disk); a remote store, or a disk that cannot link, gets the bytes.
    pub async fn put_file(
        &self,
        kind: &str,
        digest: &str,
        file: &std::path::Path,
        bytes: Vec<u8>,
    ) -> ApiResult<()> {
        if let Some(local) = &self.local {
            let target = local
                .path_to_filesystem(&self.key(kind, digest))
                .map_err(storage_error)?;
            let file = file.to_owned();
            let linked = tokio::task::spawn_blocking(move || {
                std::fs::create_dir_all(target.parent()?).ok()?;
                match std::fs::hard_link(&file, &target) {
                    // Keys are digests: what is there already holds these bytes.
                    Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => None,
                    _ => Some(()),
                }
            })
            .await
            .ok()
            .flatten();
            if linked.is_some() {
                return Ok(());
            }
        }
        self.put(kind, digest, bytes).await
    }

    pub async fn get(&self, kind: &str, digest: &str) -> ApiResult<bytes::Bytes> {
        let result = self
            .store
            .get(&self.key(kind, digest))
            .await
            .map_err(storage_error)?;
        result.bytes().await.map_err(storage_error)
    }
}

fn storage_error(err: object_store::Error) -> ApiError {
    tracing::error!(error = %err, "object storage");
    storage_unavailable()
}

/// 503: the photo store (or the disk under the uploads) cannot take bytes now; a retry later
/// can.
pub fn storage_unavailable() -> ApiError {
    ApiError::new(
        crate::error::ErrorKind::Unavailable,
        "storage_unavailable",
        "Photo storage is not available; try again shortly",
        "照片存储暂时不可用，请稍后再试",
    )
}
