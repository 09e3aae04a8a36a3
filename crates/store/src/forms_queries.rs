// Queries for versions of the admin forms (queues, help topics), so a save cannot overwrite a newer
// one. Included in both dialect modules after queries.rs (see lib.rs).

/// Takes the next version of an admin form's row for a save by `by`, when the row is still at
/// `expected` (any version when `None`): the UPDATE locks the row, so of two saves of one version
/// the second waits, sees the first's version and takes none. Returns the version taken.
pub async fn take_form_version(
    c: &mut Conn,
    form: EditedForm,
    ws: WorkspaceId,
    id: i64,
    expected: Option<i64>,
    by: &str,
    now: Millis,
) -> Result<Option<i64>> {
    let table = form.table();
    Ok(sqlx::query_scalar(sqlf!(
        "UPDATE {table} SET version = version + 1, updated_at = $4, updated_by = $5 \
         WHERE workspace_id = $1 AND id = $2 AND ($3 IS NULL OR version = $3) RETURNING version"
    ))
    .bind(ws)
    .bind(id)
    .bind(expected)
    .bind(now)
    .bind(by)
    .fetch_optional(&mut *c)
    .await?)
}

/// Who last saved an admin form's row and when, with its version: `(version, at, by)`.
pub async fn form_version(
    c: &mut Conn,
    form: EditedForm,
    ws: WorkspaceId,
    id: i64,
) -> Result<Option<(i64, Option<Millis>, Option<String>)>> {
    let table = form.table();
    Ok(sqlx::query_as(sqlf!("SELECT version, updated_at, updated_by FROM {table} WHERE workspace_id = $1 AND id = $2"))
        .bind(ws)
        .bind(id)
        .fetch_optional(&mut *c)
        .await?)
}
