use std::path::PathBuf;
use std::sync::Arc;

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use sha2::{Digest, Sha256};

use crate::DeskError;

/// Attachment bytes addressed by their SHA-256, so the same file stored twice takes the space
/// once: in a directory (local, or shared between servers over a network file system) or in an
/// S3-compatible bucket. Metadata lives in the database.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
    s3: Option<S3Blobs>,
}

#[derive(Debug, Clone)]
struct S3Blobs {
    store: Arc<AmazonS3>,
    bucket: String,
    /// Prepended to every key, so one bucket can hold several installations.
    prefix: String,
}

/// Where an S3-compatible bucket is and how to sign in to it.
#[derive(Debug, Clone, Default)]
pub struct S3Settings {
    /// The bucket's name.
    pub bucket: String,
    /// The service's URL (MinIO, Garage, R2, ...); `None`: Amazon S3 in `region`.
    pub endpoint: Option<String>,
    /// The region to sign requests for.
    pub region: String,
    /// A key prefix inside the bucket, e.g. `switchboard/` (may be empty).
    pub prefix: String,
    /// Credentials; `None` leaves them to the environment (`AWS_ACCESS_KEY_ID`, ...).
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

impl BlobStore {
    /// A blob store rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> BlobStore {
        BlobStore { root: root.into(), s3: None }
    }

    /// A blob store in an S3-compatible bucket. Nothing is contacted until the first request.
    pub fn s3(settings: &S3Settings) -> Result<BlobStore, DeskError> {
        crate::egress::install_tls_provider();
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            // Path-style requests (`endpoint/bucket/key`): what self-hosted services answer.
            .with_virtual_hosted_style_request(false);
        if let Some(endpoint) = &settings.endpoint {
            // Plain http only when the operator wrote it (a service on the same private network).
            builder = builder.with_allow_http(endpoint.starts_with("http://")).with_endpoint(endpoint);
        }
        if let Some(id) = &settings.access_key_id {
            builder = builder.with_access_key_id(id);
        }
        if let Some(secret) = &settings.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        let store = builder.build().map_err(|e| DeskError::Internal(format!("S3 attachment store: {e}")))?;
        let prefix = settings.prefix.trim_matches('/');
        let prefix = if prefix.is_empty() { String::new() } else { format!("{prefix}/") };
        Ok(BlobStore {
            root: PathBuf::new(),
            s3: Some(S3Blobs { store: Arc::new(store), bucket: settings.bucket.clone(), prefix }),
        })
    }

    /// Where the bytes are, for messages: the directory or the bucket.
    pub fn location(&self) -> String {
        match &self.s3 {
            Some(s3) => format!("S3 bucket {}/{}", s3.bucket, s3.prefix),
            None => self.root.display().to_string(),
        }
    }

    fn key(s3: &S3Blobs, sha256: &str) -> Result<ObjectPath, DeskError> {
        check_sha(sha256)?;
        Ok(ObjectPath::from(format!("{}{}/{sha256}", s3.prefix, &sha256[..2])))
    }

    fn path(&self, sha256: &str) -> Result<PathBuf, DeskError> {
        check_sha(sha256)?;
        Ok(self.root.join(&sha256[..2]).join(sha256))
    }

    /// Stores `bytes` and returns their SHA-256 (hex).
    pub async fn put(&self, bytes: &[u8]) -> Result<String, DeskError> {
        let sha = hex::encode(Sha256::digest(bytes));
        if let Some(s3) = &self.s3 {
            // Written again even when present: that refreshes its modification time, which keeps
            // the retention purge off bytes an attachment row is about to name (as below).
            let key = Self::key(s3, &sha)?;
            s3.store.put(&key, bytes.to_vec().into()).await.map_err(s3_error)?;
            return Ok(sha);
        }
        let path = self.path(&sha)?;
        if tokio::fs::try_exists(&path).await.unwrap_or(false) {
            // Freshly written again: the retention purge leaves recently touched bytes alone, so a
            // purge racing this upload cannot delete what its attachment row is about to name.
            let _ = std::fs::File::options()
                .write(true)
                .open(&path)
                .and_then(|f| f.set_modified(std::time::SystemTime::now()));
            return Ok(sha);
        }
        let io = |e: std::io::Error| DeskError::Internal(format!("blob store: {e}"));
        let dir = path.parent().ok_or_else(|| DeskError::Internal("blob path has no parent".into()))?;
        // Attachments are customers' files: the server's user only, whatever the umask.
        let mut dirs = tokio::fs::DirBuilder::new();
        dirs.recursive(true);
        #[cfg(unix)]
        dirs.mode(0o700);
        dirs.create(dir).await.map_err(io)?;
        // Write aside and rename, so a crash never leaves a truncated file under the final name.
        let tmp = dir.join(format!(".{sha}.{}", rand::random::<u64>()));
        let mut file = tokio::fs::OpenOptions::new();
        file.write(true).create_new(true);
        #[cfg(unix)]
        file.mode(0o600);
        let mut file = file.open(&tmp).await.map_err(io)?;
        tokio::io::AsyncWriteExt::write_all(&mut file, bytes).await.map_err(io)?;
        // tokio finishes a write in the background: flush so the rename names complete bytes.
        tokio::io::AsyncWriteExt::flush(&mut file).await.map_err(io)?;
        drop(file);
        tokio::fs::rename(&tmp, &path).await.map_err(io)?;
        Ok(sha)
    }

    /// Deletes the bytes under `sha256` unless they were written in the last `grace`; the caller
    /// has checked that no attachment names them.
    pub async fn delete_unless_recent(&self, sha256: &str, grace: std::time::Duration) -> Result<bool, DeskError> {
        if let Some(s3) = &self.s3 {
            let key = Self::key(s3, sha256)?;
            let meta = match s3.store.head(&key).await {
                Ok(m) => m,
                Err(object_store::Error::NotFound { .. }) => return Ok(false),
                Err(e) => return Err(s3_error(e)),
            };
            let age = chrono::Utc::now().signed_duration_since(meta.last_modified).to_std().unwrap_or_default();
            if age < grace {
                return Ok(false);
            }
            s3.store.delete(&key).await.map_err(s3_error)?;
            return Ok(true);
        }
        let path = self.path(sha256)?;
        let Ok(meta) = tokio::fs::metadata(&path).await else { return Ok(false) };
        if meta.modified().ok().and_then(|m| m.elapsed().ok()).is_none_or(|age| age < grace) {
            return Ok(false);
        }
        tokio::fs::remove_file(&path).await.map_err(|e| DeskError::Internal(format!("blob store: {e}")))?;
        Ok(true)
    }

    /// The SHA-256 of every blob stored (in no particular order), for copying a store.
    pub async fn list(&self) -> Result<Vec<String>, DeskError> {
        if let Some(s3) = &self.s3 {
            use futures_util::TryStreamExt;
            let prefix = (!s3.prefix.is_empty()).then(|| ObjectPath::from(s3.prefix.trim_end_matches('/')));
            let objects: Vec<_> = s3.store.list(prefix.as_ref()).try_collect().await.map_err(s3_error)?;
            return Ok(objects
                .into_iter()
                .filter_map(|o| o.location.filename().map(str::to_string))
                .filter(|name| check_sha(name).is_ok())
                .collect());
        }
        let io = |e: std::io::Error| DeskError::Internal(format!("blob store: {e}"));
        let is_hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
        let mut out = Vec::new();
        let mut dirs = match tokio::fs::read_dir(&self.root).await {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io(e)),
        };
        while let Some(dir) = dirs.next_entry().await.map_err(io)? {
            let prefix = dir.file_name().to_string_lossy().into_owned();
            if !is_hex(&prefix, 2) || !dir.file_type().await.map_err(io)?.is_dir() {
                continue;
            }
            let mut files = tokio::fs::read_dir(dir.path()).await.map_err(io)?;
            while let Some(f) = files.next_entry().await.map_err(io)? {
                // Half-written uploads sit beside the blobs under a dotted name: not blobs yet.
                let name = f.file_name().to_string_lossy().into_owned();
                if is_hex(&name, 64) && name.starts_with(&prefix) {
                    out.push(name);
                }
            }
        }
        Ok(out)
    }

    /// Reads the bytes stored under `sha256`.
    pub async fn get(&self, sha256: &str) -> Result<Vec<u8>, DeskError> {
        if let Some(s3) = &self.s3 {
            let key = Self::key(s3, sha256)?;
            return match s3.store.get(&key).await {
                Ok(got) => Ok(got.bytes().await.map_err(s3_error)?.to_vec()),
                Err(object_store::Error::NotFound { .. }) => Err(DeskError::NotFound("attachment")),
                Err(e) => Err(s3_error(e)),
            };
        }
        tokio::fs::read(self.path(sha256)?).await.map_err(|_| DeskError::NotFound("attachment"))
    }
}

fn check_sha(sha256: &str) -> Result<(), DeskError> {
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(DeskError::NotFound("attachment"));
    }
    Ok(())
}

fn s3_error(e: object_store::Error) -> DeskError {
    DeskError::Internal(format!("S3 attachment store: {e}"))
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[tokio::test]
    async fn stored_files_are_readable_by_the_server_only() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let blobs = BlobStore::new(tmp.path().join("attachments"));
        let sha = blobs.put(b"a customer's passport scan").await.expect("put");
        let mode = |p: &std::path::Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        let file = blobs.path(&sha).expect("path");
        assert_eq!(mode(&file), 0o600, "the attachment file");
        assert_eq!(mode(file.parent().expect("parent")), 0o700, "its folder");
        assert_eq!(mode(&tmp.path().join("attachments")), 0o700, "the attachments folder");
        assert_eq!(blobs.get(&sha).await.expect("get"), b"a customer's passport scan");
    }
}
