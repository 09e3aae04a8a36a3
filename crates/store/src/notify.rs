//! Notifications between app processes sharing one PostgreSQL database (LISTEN/NOTIFY): how a
//! change committed through one replica reaches live subscribers connected to another. SQLite
//! serves one process, whose in-process broadcast is all it needs, so there is nothing here for it.

use sqlx::postgres::PgListener;

use crate::{Store, StoreError};

impl Store {
    /// Whether changes must be announced to other processes (PostgreSQL) rather than only within
    /// this one (SQLite).
    pub fn shares_changes(&self) -> bool {
        matches!(self, Store::Postgres(_))
    }

    /// Sends each payload on `channel` to every listening process, in order, in one statement
    /// (PostgreSQL delivers a transaction's notifications in the order sent). Does nothing on
    /// SQLite.
    pub async fn notify(&self, channel: &str, payloads: &[String]) -> Result<(), StoreError> {
        if let Store::Postgres(pool) = self
            && !payloads.is_empty()
        {
            sqlx::query("SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS u(p, n) ORDER BY n")
                .bind(channel)
                .bind(payloads)
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    /// Listens on `channel` over a connection of its own; `None` on SQLite.
    pub async fn listen(&self, channel: &str) -> Result<Option<Listener>, StoreError> {
        let Store::Postgres(pool) = self else { return Ok(None) };
        let mut listener = PgListener::connect_with(pool).await?;
        // Closing the pool at shutdown must end the listener too, not leave it reconnecting.
        listener.ignore_pool_close_event(false);
        listener.listen(channel).await?;
        Ok(Some(Listener(listener)))
    }
}

/// A connection listening for notifications; see [`Store::listen`].
#[derive(Debug)]
pub struct Listener(PgListener);

/// What a [`Listener`] heard.
#[derive(Debug)]
pub enum Heard {
    /// A notification's payload.
    Payload(String),
    /// The connection was lost and has been made again: anything sent meanwhile was missed.
    Gap,
}

impl Listener {
    /// Waits for the next notification. An error means the connection could not be made again
    /// (the database is down); calling again retries.
    pub async fn next(&mut self) -> Result<Heard, StoreError> {
        Ok(match self.0.try_recv().await? {
            Some(n) => Heard::Payload(n.payload().to_string()),
            None => Heard::Gap,
        })
    }
}
