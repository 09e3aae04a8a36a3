// Queries for contacts (the people tickets are about) and their sign-in secrets. Included in both
// dialect modules after queries.rs (see lib.rs).

// A contact's WhatsApp and Discord ids are its oldest identity on those channels (migration 0014
// moved them to contact_identities, which holds any number per channel).
const CONTACT_COLUMNS: &str = "id, workspace_id, name, email, phone, \
     (SELECT i.external_id FROM contact_identities i WHERE i.contact_id = contacts.id AND i.channel = 'whatsapp' \
     ORDER BY i.id LIMIT 1) AS whatsapp_id, \
     (SELECT i.external_id FROM contact_identities i WHERE i.contact_id = contacts.id AND i.channel = 'discord' \
     ORDER BY i.id LIMIT 1) AS discord_user_id, \
     requester_type, business_partner_ref, password_hash, created_at, sessions_valid_after";

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
    for (kind, value) in [(IdentityKind::Whatsapp, &n.whatsapp_id), (IdentityKind::Discord, &n.discord_user_id)] {
        if let (Some(channel), Some(value)) = (kind.channel(), value) {
            // Taken by another contact: refused like the unique contact columns were.
            if !add_contact_identity(&mut *c, ws, id, channel, value, now).await? {
                return Err(StoreError::Conflict("contact_identities".into()));
            }
        }
    }
    contact_by_id(&mut *c, ws, id).await?.ok_or(StoreError::NotFound)
}

pub async fn contact_by_id(c: &mut Conn, ws: WorkspaceId, id: ContactId) -> Result<Option<ContactRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE workspace_id = $1 AND id = $2"))
        .bind(ws)
        .bind(id)
        .fetch_optional(&mut *c)
        .await?)
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
    Ok(query.fetch_optional(&mut *c).await?)
}

/// Contacts with this email in any workspace, with the workspace slug, for portal sign-in.
pub async fn contacts_by_email(c: &mut Conn, email: &str) -> Result<Vec<(ContactRecord, String)>> {
    let rows = sqlx::query(
        "SELECT k.id, k.workspace_id, k.name, k.email, k.phone, \
         (SELECT i.external_id FROM contact_identities i WHERE i.contact_id = k.id AND i.channel = 'whatsapp' \
         ORDER BY i.id LIMIT 1) AS whatsapp_id, \
         (SELECT i.external_id FROM contact_identities i WHERE i.contact_id = k.id AND i.channel = 'discord' \
         ORDER BY i.id LIMIT 1) AS discord_user_id, \
         k.requester_type, k.business_partner_ref, k.password_hash, k.created_at, k.sessions_valid_after, w.slug \
         FROM contacts k JOIN workspaces w ON w.id = k.workspace_id WHERE k.email = $1 ORDER BY k.id",
    )
    .bind(email)
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(|r| Ok((<ContactRecord as sqlx::FromRow<_>>::from_row(r)?, r.try_get("slug")?))).collect()
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
    Ok(q.build_query_as().fetch_all(&mut *c).await?)
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
