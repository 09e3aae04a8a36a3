// The knowledge base's queries, included next to queries.rs in both dialect modules (see lib.rs).
// Every statement but the indexer's reads is scoped to a workspace.

use crate::knowledge_records::*;

const KNOWLEDGE_DOCUMENT_COLUMNS: &str = "id, workspace_id, folder_id, title, body, format, origin, file_name, \
     content_hash, version, created_at, updated_at, updated_by";
const KNOWLEDGE_VERSION_COLUMNS: &str =
    "document_id, workspace_id, version, title, body, format, content_hash, created_at, created_by";
const KNOWLEDGE_CHUNK_COLUMNS: &str = "k.id, k.workspace_id, k.document_id, k.position, k.heading_path, k.text, \
     d.title AS document_title, d.updated_at AS document_updated_at";

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
         content_hash, version, created_at, updated_at, updated_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9, $10) RETURNING {KNOWLEDGE_DOCUMENT_COLUMNS}"
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
    .fetch_one(&mut *c)
    .await?)
}

/// Writes a document's content, folder and version number as they are now.
pub async fn update_knowledge_document(c: &mut Conn, d: &KnowledgeDocumentRecord) -> Result<()> {
    sqlx::query(
        "UPDATE knowledge_documents SET folder_id = $3, title = $4, body = $5, format = $6, content_hash = $7, \
         version = $8, updated_at = $9, updated_by = $10 WHERE workspace_id = $1 AND id = $2",
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
