//! Secrets the desk must read back to use them (webhook signing secrets, a channel's passwords and
//! access tokens, sign-in link tokens until their email is sent), sealed at rest with
//! ChaCha20-Poly1305.
//!
//! Each kind has a key of its own, derived from the server's configured secret and the kind's
//! label, so one configured secret serves every purpose and a key recovered for one kind opens
//! nothing else. Stored as `<hex nonce>.<hex ciphertext>`.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::{Desk, DeskError};

/// What a sealed secret is; it picks the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SecretKind {
    WebhookSecret,
    SignInLink,
    /// A channel's own kind, labelled by the channel crate.
    Channel(crate::channel_kit::ChannelSecret),
}

impl SecretKind {
    fn label(self) -> &'static [u8] {
        match self {
            SecretKind::WebhookSecret => b"switchboard webhook secrets v1",
            SecretKind::SignInLink => b"switchboard customer sign-in links v1",
            SecretKind::Channel(c) => c.label.as_bytes(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            SecretKind::WebhookSecret => "a webhook secret",
            SecretKind::SignInLink => "a sign-in link token",
            SecretKind::Channel(c) => c.name,
        }
    }
}

fn cipher(kind: SecretKind, server_secret: &[u8]) -> ChaCha20Poly1305 {
    let key = Sha256::new().chain_update(kind.label()).chain_update(server_secret).finalize();
    ChaCha20Poly1305::new(&key)
}

impl Desk {
    /// Seals `plain` for storage.
    pub(crate) fn seal(&self, kind: SecretKind, plain: &str) -> Result<String, DeskError> {
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let sealed = cipher(kind, self.jwt_secret())
            .encrypt(&Nonce::from(nonce), plain.as_bytes())
            .map_err(|_| DeskError::Internal(format!("encrypting {} failed", kind.name())))?;
        Ok(format!("{}.{}", hex::encode(nonce), hex::encode(sealed)))
    }

    /// Opens what [`Desk::seal`] stored.
    pub(crate) fn open_sealed(&self, kind: SecretKind, stored: &str) -> Result<String, DeskError> {
        let bad =
            || DeskError::Internal(format!("{} cannot be decrypted (was the server secret changed?)", kind.name()));
        let (nonce, sealed) = stored.split_once('.').ok_or_else(bad)?;
        let nonce: [u8; 12] = hex::decode(nonce).map_err(|_| bad())?.try_into().map_err(|_| bad())?;
        let sealed = hex::decode(sealed).map_err(|_| bad())?;
        let plain =
            cipher(kind, self.jwt_secret()).decrypt(&Nonce::from(nonce), sealed.as_slice()).map_err(|_| bad())?;
        String::from_utf8(plain).map_err(|_| bad())
    }
}
