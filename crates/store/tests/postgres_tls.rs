//! PostgreSQL over TLS, as managed PostgreSQL services require: `sslmode` in `DATABASE_URL` is
//! honoured. Needs `TEST_POSTGRES_URL` (a server URL without a database) naming a server with
//! TLS on, as Debian's packaged PostgreSQL has with its snakeoil certificate. Run by `.ci/run`:
//! `cargo test -p switchboard-store --features postgres-tls --test postgres_tls`.

#![allow(clippy::unwrap_used)]

use switchboard_store::Store;

fn server() -> String {
    std::env::var("TEST_POSTGRES_URL").expect("TEST_POSTGRES_URL names the PostgreSQL server to test against")
}

/// Whether the store's session with the server is encrypted, as the server sees it.
async fn encrypted(url: &str) -> bool {
    let store = Store::connect(url).await.unwrap();
    let Store::Postgres(pool) = &store else { panic!("a PostgreSQL URL gives a PostgreSQL store") };
    sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetch_one(pool).await.unwrap()
}

#[tokio::test]
async fn sslmode_require_encrypts_the_connection() {
    assert!(encrypted(&format!("{}/postgres?sslmode=require", server())).await);
    // Without asking for it, "prefer" (the default) still encrypts when the server offers TLS.
    assert!(encrypted(&format!("{}/postgres", server())).await);
}

#[tokio::test]
async fn verify_full_refuses_a_certificate_no_authority_signed() {
    // The snakeoil certificate is self-signed: checking it against the public roots must fail,
    // and say why, rather than fall back to an unverified connection.
    let err = match Store::connect(&format!("{}/postgres?sslmode=verify-full", server())).await {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a self-signed certificate passed verify-full"),
    };
    assert!(err.to_lowercase().contains("certificate"), "{err}");
}
