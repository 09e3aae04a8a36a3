use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::DeskError;

/// Attachment bytes on local disk, addressed by their SHA-256, so the same file stored twice
/// takes the space once. Metadata lives in the database.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    /// A blob store rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> BlobStore {
        BlobStore { root: root.into() }
    }

    fn path(&self, sha256: &str) -> Result<PathBuf, DeskError> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(DeskError::NotFound("attachment"));
        }
        Ok(self.root.join(&sha256[..2]).join(sha256))
    }

    /// Stores `bytes` and returns their SHA-256 (hex).
    pub async fn put(&self, bytes: &[u8]) -> Result<String, DeskError> {
        let sha = hex::encode(Sha256::digest(bytes));
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
        tokio::fs::read(self.path(sha256)?).await.map_err(|_| DeskError::NotFound("attachment"))
    }
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
