//! The test kit's Meilisearch double as a process, to point a hand-run `switchboard serve` at
//! (`SWITCHBOARD_MEILISEARCH_URL`): prints one JSON line with its URL and API key and stops when
//! its stdin closes. `MEILI_MASTER_KEY` sets the key (none: every request is allowed).

use serde_json::json;
use switchboard_testkit::meilisearch::MeilisearchDouble;
use tokio::io::AsyncReadExt;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let key = std::env::var("MEILI_MASTER_KEY").ok().filter(|k| !k.is_empty());
    let double = MeilisearchDouble::start(key.as_deref()).await?;
    println!("{}", json!({ "url": double.url, "apiKey": key }));
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
    Ok(())
}
