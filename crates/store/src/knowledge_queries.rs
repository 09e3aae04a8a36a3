// The knowledge base's queries, included next to queries.rs in both dialect modules (see lib.rs).
// Every statement but the indexer's reads is scoped to a workspace.

use crate::knowledge_records::*;

const KNOWLEDGE_DOCUMENT_COLUMNS: &str = "id, workspace_id, folder_id, title, body, format, origin, file_name, \
     content_hash, version, created_at, updated_at, updated_by, public";
const KNOWLEDGE_VERSION_COLUMNS: &str =
    "document_id, workspace_id, version, title, body, format, content_hash, created_at, created_by";
const KNOWLEDGE_CHUNK_COLUMNS: &str = "k.id, k.workspace_id, k.document_id, k.position, k.heading_path, k.text, \
     d.title AS document_title, d.updated_at AS document_updated_at, d.origin AS document_origin, \
     d.public AS document_public";

pub async fn insert_knowledge_folder(
    c: &mut Conn,
    ws: WorkspaceId,
    name: &str,
    now: Millis,
) -> Result<KnowledgeFolderRecord> {
    Ok(sqlx::query_as(
        "INSERT INTO knowledge_folders (workspace_id, name, created_at) VALUES ($1, $2, $3) \
         RETURNING id, workspace_id, name, created_at",
    )
    .bind(ws)
    .bind(name)
    .bind(now)
    .fetch_one(&mut *c)
    .await?)
}

pub async fn knowledge_folders(c: &mut Conn, ws: WorkspaceId) -> Result<Vec<KnowledgeFolderRecord>> {
    Ok(sqlx::query_as(
        "SELECT id, workspace_id, name, created_at FROM knowledge_folders WHERE workspace_id = $1 ORDER BY name, id",
    )
    .bind(ws)
    .fetch_all(&mut *c)
    .await?)
}

/// Removes a folder; its documents stay, outside any folder.
pub async fn delete_knowledge_folder(c: &mut Conn, ws: WorkspaceId, id: i64) -> Result<bool> {
    sqlx::query("UPDATE knowledge_documents SET folder_id = NULL WHERE workspace_id = $1 AND folder_id = $2")
        .bind(ws)
        .bind(id)
        .execute(&mut *c)
        .await?;
    let r = sqlx::query("DELETE FROM knowledge_folders WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Inserts a document as its version 1 (the document row; the version row is the caller's).
pub async fn insert_knowledge_document(
    c: &mut Conn,
    ws: WorkspaceId,
    d: &NewKnowledgeDocument,
    now: Millis,
) -> Result<KnowledgeDocumentRecord> {
    Ok(sqlx::query_as(sqlf!(
        "INSERT INTO knowledge_documents (workspace_id, folder_id, title, body, format, origin, file_name, \
         content_hash, version, created_at, updated_at, updated_by, public) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9, $10, $11) RETURNING {KNOWLEDGE_DOCUMENT_COLUMNS}"
    ))
    .bind(ws)
    .bind(d.folder_id)
    .bind(&d.title)
    .bind(&d.body)
    .bind(&d.format)
    .bind(&d.origin)
    .bind(&d.file_name)
    .bind(&d.content_hash)
    .bind(now)
    .bind(&d.created_by)
    .bind(d.public)
    .fetch_one(&mut *c)
    .await?)
}

/// Writes a document's content, folder and version number as they are now.
pub async fn update_knowledge_document(c: &mut Conn, d: &KnowledgeDocumentRecord) -> Result<()> {
    sqlx::query(
        "UPDATE knowledge_documents SET folder_id = $3, title = $4, body = $5, format = $6, content_hash = $7, \
         version = $8, updated_at = $9, updated_by = $10, public = $11 WHERE workspace_id = $1 AND id = $2",
    )
    .bind(d.workspace_id)
    .bind(d.id)
    .bind(d.folder_id)
    .bind(&d.title)
    .bind(&d.body)
    .bind(&d.format)
    .bind(&d.content_hash)
    .bind(d.version)
    .bind(d.updated_at)
    .bind(&d.updated_by)
    .bind(d.public)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub async fn knowledge_document_by_id(
    c: &mut Conn,
    ws: WorkspaceId,
    id: i64,
) -> Result<Option<KnowledgeDocumentRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "SELECT {KNOWLEDGE_DOCUMENT_COLUMNS} FROM knowledge_documents WHERE workspace_id = $1 AND id = $2"
    ))
    .bind(ws)
    .bind(id)
    .fetch_optional(&mut *c)
    .await?)
}

pub async fn knowledge_document_by_file(
    c: &mut Conn,
    ws: WorkspaceId,
    file_name: &str,
) -> Result<Option<KnowledgeDocumentRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "SELECT {KNOWLEDGE_DOCUMENT_COLUMNS} FROM knowledge_documents WHERE workspace_id = $1 AND file_name = $2"
    ))
    .bind(ws)
    .bind(file_name)
    .fetch_optional(&mut *c)
    .await?)
}

/// The workspace's documents by title, all of them or one folder's (`Some(None)`: outside any).
pub async fn list_knowledge_documents(
    c: &mut Conn,
    ws: WorkspaceId,
    folder: Option<Option<i64>>,
) -> Result<Vec<KnowledgeDocumentRecord>> {
    let rows = match folder {
        None => sqlx::query_as(sqlf!(
            "SELECT {KNOWLEDGE_DOCUMENT_COLUMNS} FROM knowledge_documents WHERE workspace_id = $1 ORDER BY title, id"
        ))
        .bind(ws)
        .fetch_all(&mut *c)
        .await?,
        Some(None) => {
            sqlx::query_as(sqlf!(
                "SELECT {KNOWLEDGE_DOCUMENT_COLUMNS} FROM knowledge_documents WHERE workspace_id = $1 \
             AND folder_id IS NULL ORDER BY title, id"
            ))
            .bind(ws)
            .fetch_all(&mut *c)
            .await?
        }
        Some(Some(f)) => {
            sqlx::query_as(sqlf!(
                "SELECT {KNOWLEDGE_DOCUMENT_COLUMNS} FROM knowledge_documents WHERE workspace_id = $1 \
             AND folder_id = $2 ORDER BY title, id"
            ))
            .bind(ws)
            .bind(f)
            .fetch_all(&mut *c)
            .await?
        }
    };
    Ok(rows)
}

/// The workspace's public documents (its help center) by title.
pub async fn public_knowledge_documents(c: &mut Conn, ws: WorkspaceId) -> Result<Vec<KnowledgeDocumentRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "SELECT {KNOWLEDGE_DOCUMENT_COLUMNS} FROM knowledge_documents WHERE workspace_id = $1 AND public = TRUE \
         ORDER BY title, id"
    ))
    .bind(ws)
    .fetch_all(&mut *c)
    .await?)
}

/// Every document id of one workspace (a workspace's re-index).
pub async fn workspace_knowledge_document_ids(c: &mut Conn, ws: WorkspaceId) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar("SELECT id FROM knowledge_documents WHERE workspace_id = $1 ORDER BY id")
        .bind(ws)
        .fetch_all(&mut *c)
        .await?)
}

/// Removes a document with its versions and chunks.
pub async fn delete_knowledge_document(c: &mut Conn, ws: WorkspaceId, id: i64) -> Result<bool> {
    for table in ["knowledge_chunks", "knowledge_versions"] {
        sqlx::query(sqlf!("DELETE FROM {table} WHERE workspace_id = $1 AND document_id = $2"))
            .bind(ws)
            .bind(id)
            .execute(&mut *c)
            .await?;
    }
    let r = sqlx::query("DELETE FROM knowledge_documents WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn insert_knowledge_version(c: &mut Conn, v: &KnowledgeVersionRecord) -> Result<()> {
    sqlx::query(sqlf!(
        "INSERT INTO knowledge_versions ({KNOWLEDGE_VERSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(v.document_id)
    .bind(v.workspace_id)
    .bind(v.version)
    .bind(&v.title)
    .bind(&v.body)
    .bind(&v.format)
    .bind(&v.content_hash)
    .bind(v.created_at)
    .bind(&v.created_by)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// A document's versions, newest first.
pub async fn knowledge_versions(c: &mut Conn, ws: WorkspaceId, document: i64) -> Result<Vec<KnowledgeVersionRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "SELECT {KNOWLEDGE_VERSION_COLUMNS} FROM knowledge_versions WHERE workspace_id = $1 AND document_id = $2 \
         ORDER BY version DESC"
    ))
    .bind(ws)
    .bind(document)
    .fetch_all(&mut *c)
    .await?)
}

pub async fn knowledge_version(
    c: &mut Conn,
    ws: WorkspaceId,
    document: i64,
    version: i64,
) -> Result<Option<KnowledgeVersionRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "SELECT {KNOWLEDGE_VERSION_COLUMNS} FROM knowledge_versions WHERE workspace_id = $1 AND document_id = $2 \
         AND version = $3"
    ))
    .bind(ws)
    .bind(document)
    .bind(version)
    .fetch_optional(&mut *c)
    .await?)
}

/// Drops a document's versions numbered below `keep_from`.
pub async fn prune_knowledge_versions(c: &mut Conn, ws: WorkspaceId, document: i64, keep_from: i64) -> Result<u64> {
    let r = sqlx::query("DELETE FROM knowledge_versions WHERE workspace_id = $1 AND document_id = $2 AND version < $3")
        .bind(ws)
        .bind(document)
        .bind(keep_from)
        .execute(&mut *c)
        .await?;
    Ok(r.rows_affected())
}

/// The ids of a document's chunks, in order.
pub async fn knowledge_chunk_ids(c: &mut Conn, ws: WorkspaceId, document: i64) -> Result<Vec<i64>> {
    let rows =
        sqlx::query("SELECT id FROM knowledge_chunks WHERE workspace_id = $1 AND document_id = $2 ORDER BY position")
            .bind(ws)
            .bind(document)
            .fetch_all(&mut *c)
            .await?;
    Ok(rows.iter().map(|r| r.get::<i64, _>(0)).collect())
}

/// Replaces a document's chunks with these (new ids).
pub async fn replace_knowledge_chunks(
    c: &mut Conn,
    ws: WorkspaceId,
    document: i64,
    chunks: &[NewKnowledgeChunk],
) -> Result<()> {
    sqlx::query("DELETE FROM knowledge_chunks WHERE workspace_id = $1 AND document_id = $2")
        .bind(ws)
        .bind(document)
        .execute(&mut *c)
        .await?;
    // Parameters per statement stay far under both drivers' limits.
    for batch in chunks.chunks(200) {
        let mut q = QueryBuilder::<Db>::new(
            "INSERT INTO knowledge_chunks (workspace_id, document_id, position, heading_path, text) ",
        );
        q.push_values(batch, |mut b, k| {
            b.push_bind(ws).push_bind(document).push_bind(k.position).push_bind(&k.heading_path).push_bind(&k.text);
        });
        q.build().execute(&mut *c).await?;
    }
    Ok(())
}

/// The chunks of these documents with their titles (any workspace: the indexer follows every
/// workspace's events).
pub async fn knowledge_chunks_of(c: &mut Conn, documents: &[i64]) -> Result<Vec<KnowledgeChunkRecord>> {
    if documents.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::<Db>::new(format!(
        "SELECT {KNOWLEDGE_CHUNK_COLUMNS} FROM knowledge_chunks k JOIN knowledge_documents d ON d.id = k.document_id \
         WHERE k.document_id IN ("
    ));
    let mut sep = q.separated(", ");
    for id in documents {
        sep.push_bind(*id);
    }
    q.push(") ORDER BY k.document_id, k.position");
    Ok(q.build_query_as().fetch_all(&mut *c).await?)
}

/// These chunks of the workspace (others' ids are left out).
pub async fn knowledge_chunks_by_ids(c: &mut Conn, ws: WorkspaceId, ids: &[i64]) -> Result<Vec<KnowledgeChunkRecord>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::<Db>::new(format!(
        "SELECT {KNOWLEDGE_CHUNK_COLUMNS} FROM knowledge_chunks k JOIN knowledge_documents d ON d.id = k.document_id \
         WHERE k.workspace_id = "
    ));
    q.push_bind(ws);
    q.push(" AND k.id IN (");
    let mut sep = q.separated(", ");
    for id in ids {
        sep.push_bind(*id);
    }
    q.push(")");
    Ok(q.build_query_as().fetch_all(&mut *c).await?)
}

/// Document ids after `after` in id order, every workspace's (a rebuild's pages).
pub async fn knowledge_document_ids_after(c: &mut Conn, after: i64, limit: i64) -> Result<Vec<i64>> {
    let rows = sqlx::query("SELECT id FROM knowledge_documents WHERE id > $1 ORDER BY id LIMIT $2")
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *c)
        .await?;
    Ok(rows.iter().map(|r| r.get::<i64, _>(0)).collect())
}

const KNOWLEDGE_SOURCE_COLUMNS: &str = "id, workspace_id, url, refresh_minutes, document_id, next_sync_at, \
     syncing_until, last_attempt_at, last_synced_at, first_synced_at, last_error, last_retrieved_at, \
     created_at, created_by, failures";

/// Adds a URL source, or sets the interval of the workspace's source for that URL.
pub async fn save_knowledge_source(
    c: &mut Conn,
    ws: WorkspaceId,
    url: &str,
    refresh_minutes: i64,
    now: Millis,
    by: &str,
) -> Result<KnowledgeSourceRecord> {
    Ok(sqlx::query_as(sqlf!(
        "INSERT INTO knowledge_sources (workspace_id, url, refresh_minutes, next_sync_at, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $4, $5) ON CONFLICT (workspace_id, url) DO UPDATE \
         SET refresh_minutes = excluded.refresh_minutes RETURNING {KNOWLEDGE_SOURCE_COLUMNS}"
    ))
    .bind(ws)
    .bind(url)
    .bind(refresh_minutes)
    .bind(now)
    .bind(by)
    .fetch_one(&mut *c)
    .await?)
}

/// The workspace's URL sources by URL.
pub async fn knowledge_sources(c: &mut Conn, ws: WorkspaceId) -> Result<Vec<KnowledgeSourceRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "SELECT {KNOWLEDGE_SOURCE_COLUMNS} FROM knowledge_sources WHERE workspace_id = $1 ORDER BY url, id"
    ))
    .bind(ws)
    .fetch_all(&mut *c)
    .await?)
}

/// One source of any workspace (the job runner's read; it acts for the source's workspace).
pub async fn knowledge_source_by_id(c: &mut Conn, id: i64) -> Result<Option<KnowledgeSourceRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {KNOWLEDGE_SOURCE_COLUMNS} FROM knowledge_sources WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *c)
        .await?)
}

/// The source whose page `document` holds, if any.
pub async fn knowledge_source_of_document(
    c: &mut Conn,
    ws: WorkspaceId,
    document: i64,
) -> Result<Option<KnowledgeSourceRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "SELECT {KNOWLEDGE_SOURCE_COLUMNS} FROM knowledge_sources WHERE workspace_id = $1 AND document_id = $2"
    ))
    .bind(ws)
    .bind(document)
    .fetch_optional(&mut *c)
    .await?)
}

/// Sources due for a sync at `now`, every workspace's, most overdue first, with when each was due.
pub async fn due_knowledge_sources(c: &mut Conn, now: Millis, limit: i64) -> Result<Vec<(i64, Millis)>> {
    let rows = sqlx::query(
        "SELECT id, next_sync_at FROM knowledge_sources WHERE next_sync_at <= $1 ORDER BY next_sync_at, id LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *c)
    .await?;
    Ok(rows.iter().map(|r| (r.get::<i64, _>(0), r.get::<Millis, _>(1))).collect())
}

/// Claims a source for a sync until `until` (also its next due time, so a syncer that dies leaves
/// it due again then): false when another sync holds it or changed its due time since the caller
/// read `expected`, so of two workers (or replicas) that saw it due, one syncs.
pub async fn claim_knowledge_source(
    c: &mut Conn,
    id: i64,
    expected: Millis,
    now: Millis,
    until: Millis,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE knowledge_sources SET next_sync_at = $4, syncing_until = $4 WHERE id = $1 AND next_sync_at = $2 \
         AND (syncing_until IS NULL OR syncing_until <= $3)",
    )
    .bind(id)
    .bind(expected)
    .bind(now)
    .bind(until)
    .execute(&mut *c)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// Writes what a sync attempt left (its times, error, document and the next sync) and ends its claim.
pub async fn record_knowledge_sync(c: &mut Conn, s: &KnowledgeSourceRecord) -> Result<()> {
    sqlx::query(
        "UPDATE knowledge_sources SET document_id = $2, next_sync_at = $3, last_attempt_at = $4, \
         last_synced_at = $5, first_synced_at = $6, last_error = $7, failures = $8, syncing_until = NULL \
         WHERE id = $1",
    )
    .bind(s.id)
    .bind(s.document_id)
    .bind(s.next_sync_at)
    .bind(s.last_attempt_at)
    .bind(s.last_synced_at)
    .bind(s.first_synced_at)
    .bind(&s.last_error)
    .bind(s.failures)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Sets when a source's next sync is due.
pub async fn set_knowledge_source_due(c: &mut Conn, ws: WorkspaceId, id: i64, at: Millis) -> Result<bool> {
    let r = sqlx::query("UPDATE knowledge_sources SET next_sync_at = $3 WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id)
        .bind(at)
        .execute(&mut *c)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Removes a source (its document is the caller's to delete).
pub async fn delete_knowledge_source(c: &mut Conn, ws: WorkspaceId, id: i64) -> Result<bool> {
    let r = sqlx::query("DELETE FROM knowledge_sources WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Records that these documents' chunks were retrieved by a search at `now`. Rows retrieved
/// since `fresh_after` are left alone: the health check needs the day, not every search.
pub async fn mark_knowledge_sources_retrieved(
    c: &mut Conn,
    ws: WorkspaceId,
    documents: &[i64],
    now: Millis,
    fresh_after: Millis,
) -> Result<u64> {
    if documents.is_empty() {
        return Ok(0);
    }
    let mut q = QueryBuilder::<Db>::new("UPDATE knowledge_sources SET last_retrieved_at = ");
    q.push_bind(now);
    q.push(" WHERE workspace_id = ");
    q.push_bind(ws);
    q.push(" AND (last_retrieved_at IS NULL OR last_retrieved_at < ");
    q.push_bind(fresh_after);
    q.push(") AND document_id IN (");
    let mut sep = q.separated(", ");
    for id in documents {
        sep.push_bind(*id);
    }
    q.push(")");
    Ok(q.build().execute(&mut *c).await?.rows_affected())
}
