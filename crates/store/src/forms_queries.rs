// Queries for versions of the admin forms (queues, help topics, canned responses, routing rules, SLA
// policies, webhooks, calendars, and the workspace settings forms), so a save cannot overwrite a newer
// one. Included in both dialect modules after queries.rs (see lib.rs).

/// Takes the next version of an admin form's row for a save by `by`, when the row is still at
/// `expected` (any version when `None`): the UPDATE locks the row, so of two saves of one version
/// the second waits, sees the first's version and takes none. Returns the version taken.
pub async fn take_form_version(
    c: &mut Conn,
    form: EditedForm,
    ws: WorkspaceId,
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
    .bind(form.row_id())
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
) -> Result<Option<(i64, Option<Millis>, Option<String>)>> {
    let table = form.table();
    Ok(sqlx::query_as(sqlf!("SELECT version, updated_at, updated_by FROM {table} WHERE workspace_id = $1 AND id = $2"))
        .bind(ws)
        .bind(form.row_id())
        .fetch_optional(&mut *c)
        .await?)
}

/// Takes the next version of one of the workspace's settings forms for a save by `by`, when the
/// form is still at `expected` (any version when `None`); a form never saved has no row and is
/// at version 1. Returns the version taken, or `None` when someone saved since `expected`. Two
/// saves of a version never saved both insert: the second waits on the first's row (PostgreSQL)
/// and then finds it, like an update finds a newer version.
pub async fn take_settings_version(
    c: &mut Conn,
    form: SettingsForm,
    ws: WorkspaceId,
    expected: Option<i64>,
    by: &str,
    now: Millis,
) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "INSERT INTO settings_versions (workspace_id, form, version, updated_at, updated_by) \
         SELECT $1, $2, 2, $4, $5 WHERE $3 IS NULL OR $3 = 1 \
         OR EXISTS (SELECT 1 FROM settings_versions WHERE workspace_id = $1 AND form = $2) \
         ON CONFLICT (workspace_id, form) DO UPDATE SET version = settings_versions.version + 1, \
         updated_at = excluded.updated_at, updated_by = excluded.updated_by \
         WHERE $3 IS NULL OR settings_versions.version = $3 RETURNING version",
    )
    .bind(ws)
    .bind(form.key())
    .bind(expected)
    .bind(now)
    .bind(by)
    .fetch_optional(&mut *c)
    .await?)
}

/// Who last saved one of the workspace's settings forms, when, and its version; `None` before
/// the form's first save (version 1).
pub async fn settings_version(
    c: &mut Conn,
    form: SettingsForm,
    ws: WorkspaceId,
) -> Result<Option<(i64, Millis, String)>> {
    Ok(sqlx::query_as(
        "SELECT version, updated_at, updated_by FROM settings_versions WHERE workspace_id = $1 AND form = $2",
    )
    .bind(ws)
    .bind(form.key())
    .fetch_optional(&mut *c)
    .await?)
}
