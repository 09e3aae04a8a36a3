// Queries for contacts (the people tickets are about) and their sign-in secrets. Included in both
// dialect modules after queries.rs (see lib.rs).

// A contact's channel identities are read by `with_identities`, one query for a whole list.
const CONTACT_COLUMNS: &str = "id, workspace_id, name, email, phone, requester_type, business_partner_ref, \
     password_hash, created_at, sessions_valid_after";

/// Fills in the contacts' channel identities, oldest first per contact.
async fn with_identities(c: &mut Conn, mut contacts: Vec<ContactRecord>) -> Result<Vec<ContactRecord>> {
    if contacts.is_empty() {
        return Ok(contacts);
    }
    let mut q = QueryBuilder::<Db>::new("SELECT contact_id, channel, external_id FROM contact_identities WHERE ");
    q.push("contact_id IN (");
    let mut ids = q.separated(", ");
    for k in &contacts {
        ids.push_bind(k.id);
    }
    q.push(") ORDER BY id");
    let rows: Vec<(ContactId, String, String)> = q.build_query_as().fetch_all(&mut *c).await?;
    for (contact, channel, external_id) in rows {
        if let Some(k) = contacts.iter_mut().find(|k| k.id == contact) {
            k.identities.push(ContactIdentity { channel, external_id });
        }
    }
    Ok(contacts)
}

async fn with_identities_one(c: &mut Conn, contact: Option<ContactRecord>) -> Result<Option<ContactRecord>> {
    Ok(with_identities(c, contact.into_iter().collect()).await?.pop())
}

pub async fn insert_contact(c: &mut Conn, ws: WorkspaceId, n: &NewContact, now: Millis) -> Result<ContactRecord> {
    let id: ContactId = sqlx::query_scalar(
        "INSERT INTO contacts (workspace_id, name, email, phone, requester_type, business_partner_ref, password_hash, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(ws)
    .bind(&n.name)
    .bind(&n.email)
    .bind(&n.phone)
    .bind(n.requester_type.unwrap_or(RequesterType::Manual).as_str())
    .bind(&n.business_partner_ref)
    .bind(&n.password_hash)
    .bind(now)
    .fetch_one(&mut *c)
    .await?;
    for identity in &n.identities {
        // Taken by another contact: refused like the unique contact columns are.
        if !add_contact_identity(&mut *c, ws, id, &identity.channel, &identity.external_id, now).await? {
            return Err(StoreError::Conflict("contact_identities".into()));
        }
    }
    contact_by_id(&mut *c, ws, id).await?.ok_or(StoreError::NotFound)
}

pub async fn contact_by_id(c: &mut Conn, ws: WorkspaceId, id: ContactId) -> Result<Option<ContactRecord>> {
    let found = sqlx::query_as(sqlf!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE workspace_id = $1 AND id = $2"))
        .bind(ws)
        .bind(id)
        .fetch_optional(&mut *c)
        .await?;
    with_identities_one(c, found).await
}

pub async fn contact_by_identity(
    c: &mut Conn,
    ws: WorkspaceId,
    kind: IdentityKind,
    value: &str,
) -> Result<Option<ContactRecord>> {
    let query = match (kind.column(), kind.channel()) {
        (Some(column), _) => {
            sqlx::query_as(sqlf!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE workspace_id = $1 AND {column} = $2"))
                .bind(ws)
                .bind(value)
        }
        (None, channel) => sqlx::query_as(sqlf!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = (SELECT contact_id FROM contact_identities \
             WHERE workspace_id = $1 AND channel = $2 AND external_id = $3)"
        ))
        .bind(ws)
        .bind(channel.unwrap_or_default())
        .bind(value),
    };
    let found = query.fetch_optional(&mut *c).await?;
    with_identities_one(c, found).await
}

/// Contacts with this email in any workspace, with the workspace slug, for portal sign-in.
pub async fn contacts_by_email(c: &mut Conn, email: &str) -> Result<Vec<(ContactRecord, String)>> {
    let rows = sqlx::query(
        "SELECT k.id, k.workspace_id, k.name, k.email, k.phone, k.requester_type, k.business_partner_ref, \
         k.password_hash, k.created_at, k.sessions_valid_after, w.slug \
         FROM contacts k JOIN workspaces w ON w.id = k.workspace_id WHERE k.email = $1 ORDER BY k.id",
    )
    .bind(email)
    .fetch_all(&mut *c)
    .await?;
    let mut contacts = Vec::with_capacity(rows.len());
    let mut slugs = Vec::with_capacity(rows.len());
    for r in &rows {
        contacts.push(<ContactRecord as sqlx::FromRow<_>>::from_row(r)?);
        slugs.push(r.try_get::<String, _>("slug")?);
    }
    Ok(with_identities(c, contacts).await?.into_iter().zip(slugs).collect())
}

pub async fn list_contacts(
    c: &mut Conn,
    ws: WorkspaceId,
    search: Option<&str>,
    limit: i64,
) -> Result<Vec<ContactRecord>> {
    let mut q = QueryBuilder::<Db>::new(format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE workspace_id = "));
    q.push_bind(ws);
    if let Some(s) = search.filter(|s| !s.trim().is_empty()) {
        let pat = like_pattern(s);
        q.push(format!(" AND (name {LIKE} ")).push_bind(pat.clone()).push(" ESCAPE '\\'");
        q.push(format!(" OR email {LIKE} ")).push_bind(pat).push(" ESCAPE '\\')");
    }
    q.push(" ORDER BY name, id LIMIT ").push_bind(limit);
    let contacts = q.build_query_as().fetch_all(&mut *c).await?;
    with_identities(c, contacts).await
}

/// Sets a customer's portal password hash; their sign-ins from before `now` stop working.
pub async fn set_contact_password(c: &mut Conn, ws: WorkspaceId, id: ContactId, hash: &str, now: Millis) -> Result<()> {
    sqlx::query(
        "UPDATE contacts SET password_hash = $3, sessions_valid_after = $4 WHERE workspace_id = $1 AND id = $2",
    )
    .bind(ws)
    .bind(id)
    .bind(hash)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Ends every portal sign-in of a customer made before `now`.
pub async fn end_contact_sessions(c: &mut Conn, ws: WorkspaceId, id: ContactId, now: Millis) -> Result<()> {
    sqlx::query("UPDATE contacts SET sessions_valid_after = $3 WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id)
        .bind(now)
        .execute(&mut *c)
        .await?;
    Ok(())
}
