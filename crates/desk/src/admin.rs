//! Workspace configuration: workspaces, staff, contacts, queues and members, help topics,
//! canned responses.

use switchboard_domain::*;
use switchboard_store::*;

use crate::{Desk, DeskError, hash_password, require};

/// A help topic as an admin writes it.
#[derive(Debug, Clone)]
pub struct HelpTopicInput {
    pub name: String,
    pub default_priority: Option<Priority>,
    pub default_queue_id: Option<QueueId>,
    pub default_assignee_id: Option<UserId>,
    pub due_offset_minutes: Option<i64>,
    pub active: bool,
    /// For an update: the topic's version when the form was loaded. A newer one is refused;
    /// `None` saves over whatever is there (callers from before versions).
    pub version: Option<i64>,
}

/// A canned response as an admin writes it.
#[derive(Debug, Clone)]
pub struct CannedResponseInput {
    pub title: String,
    pub shortcut: Option<String>,
    pub body: String,
    pub help_topic_id: Option<HelpTopicId>,
    /// For an update: the response's version when the form was loaded (see [`HelpTopicInput`]).
    pub version: Option<i64>,
}

/// A contact as staff create it.
#[derive(Debug, Clone, Default)]
pub struct ContactInput {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub requester_type: Option<RequesterType>,
    pub business_partner_ref: Option<String>,
    /// Lets the contact sign in to the portal.
    pub portal_password: Option<String>,
}

/// Where an admin form stands: the version a save must name, and who saved it last and when
/// (unset before its first save).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormVersion {
    pub version: i64,
    pub updated_at: Option<Millis>,
    pub updated_by: Option<String>,
}

/// A settings form never saved has no row: version 1.
pub(crate) fn settings_version_of(row: Option<(i64, Millis, String)>) -> FormVersion {
    match row {
        Some((version, at, by)) => FormVersion { version, updated_at: Some(at), updated_by: Some(by) },
        None => FormVersion { version: 1, updated_at: None, updated_by: None },
    }
}

/// The refusal of a save made from a form someone else saved since it was loaded.
fn saved_since(subject: &str, version: i64, at: Option<Millis>, by: Option<String>) -> DeskError {
    let when = at
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(|| "earlier".to_string(), |t| format!("at {} UTC", t.format("%Y-%m-%d %H:%M:%S")));
    let who = by.unwrap_or_else(|| "someone".into());
    DeskError::Conflict(format!(
        "{who} saved {subject} {when}, after you opened it (version {version}); reload it to see their \
         change, then save yours again"
    ))
}

pub(crate) fn conflict_as_field(field: &str, what: &str) -> impl FnOnce(StoreError) -> DeskError {
    let (field, what) = (field.to_string(), what.to_string());
    move |e| match e {
        StoreError::Conflict(_) => DeskError::invalid(&field, format!("{what} is already taken")),
        other => other.into(),
    }
}

fn validate_shortcut(s: &str) -> Result<String, DeskError> {
    let s = s.trim().to_lowercase();
    let ok = (1..=40).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok { Ok(s) } else { Err(DeskError::invalid("shortcut", "use 1-40 letters, digits, '-' or '_'")) }
}

/// Normalizes a phone number to E.164-ish digits with a leading `+`.
fn validate_phone(field: &str, s: &str) -> Result<String, DeskError> {
    let digits: String = s.chars().filter(|c| c.is_ascii_digit()).collect();
    if (6..=15).contains(&digits.len()) && s.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c)) {
        Ok(format!("+{digits}"))
    } else {
        Err(DeskError::invalid(field, "is not a phone number"))
    }
}

impl Desk {
    /// Creates a workspace with its default queue (operators, from the command line).
    pub async fn create_workspace(
        &self,
        slug: &str,
        name: &str,
        prefix: &str,
        time_zone: &str,
        default_queue: &str,
    ) -> Result<WorkspaceRecord, DeskError> {
        let slug = slug.trim().to_lowercase();
        if !(2..=40).contains(&slug.len()) || !slug.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(DeskError::invalid("slug", "use 2-40 lowercase letters, digits or '-'"));
        }
        let name = validate_name("name", name)?;
        TicketNumber::validate_prefix(prefix)?;
        parse_time_zone("timeZone", time_zone)?;
        let default_queue = validate_name("defaultQueue", default_queue)?;
        let mut tx = self.store().write().await?;
        let now = self.now();
        let ws = tx
            .insert_workspace(&slug, &name, prefix, time_zone, now)
            .await
            .map_err(conflict_as_field("slug", "this slug"))?;
        tx.insert_queue(ws.id, &default_queue, true, AssignmentMode::Manual, now).await?;
        tx.commit().await?;
        Ok(ws)
    }

    /// A workspace by slug.
    pub async fn workspace_by_slug(&self, slug: &str) -> Result<WorkspaceRecord, DeskError> {
        self.store().read().await?.workspace_by_slug(slug).await?.ok_or(DeskError::NotFound("workspace"))
    }

    /// The actor's workspace.
    pub async fn workspace(&self, actor: &Actor) -> Result<WorkspaceRecord, DeskError> {
        Ok(self.store().read().await?.workspace_by_id(actor.workspace_id).await?)
    }

    /// Adds a staff member (admins; the command line acts as the system).
    pub async fn create_user(
        &self,
        actor: &Actor,
        email: &str,
        name: &str,
        role: Role,
        password: Option<&str>,
    ) -> Result<UserRecord, DeskError> {
        require(actor, Permission::Admin)?;
        let email = EmailAddress::parse("email", email)?;
        let name = validate_name("name", name)?;
        let hash = password.map(|p| hash_password("password", p)).transpose()?;
        let mut tx = self.store().write().await?;
        let u = tx
            .insert_user(actor.workspace_id, email.as_str(), &name, role, hash.as_deref(), self.now())
            .await
            .map_err(conflict_as_field("email", "this email"))?;
        tx.commit().await?;
        Ok(u)
    }

    /// Changes a staff member's name, role or active flag (admins).
    pub async fn update_user(
        &self,
        actor: &Actor,
        id: UserId,
        name: Option<&str>,
        role: Option<Role>,
        active: Option<bool>,
    ) -> Result<UserRecord, DeskError> {
        require(actor, Permission::Admin)?;
        let mut tx = self.store().write().await?;
        let u = tx.user_by_id(actor.workspace_id, id).await?.ok_or(DeskError::NotFound("user"))?;
        if actor.user_id() == Some(id) && (role.is_some_and(|r| r != Role::Admin) || active == Some(false)) {
            return Err(DeskError::invalid("role", "you cannot demote or deactivate yourself"));
        }
        let name = name.map(|n| validate_name("name", n)).transpose()?.unwrap_or(u.name);
        if u.active && active == Some(false) {
            // Reactivating someone must not bring back the sign-ins they had.
            tx.end_user_sessions(actor.workspace_id, id, self.session_cutoff()).await?;
        }
        let u =
            tx.update_user(actor.workspace_id, id, &name, role.unwrap_or(u.role), active.unwrap_or(u.active)).await?;
        tx.commit().await?;
        Ok(u)
    }

    /// Sets a staff member's password (admins, or the command line); their sign-ins so far end.
    pub async fn set_user_password(&self, actor: &Actor, id: UserId, password: &str) -> Result<(), DeskError> {
        require(actor, Permission::Admin)?;
        let hash = hash_password("password", password)?;
        let mut tx = self.store().write().await?;
        tx.user_by_id(actor.workspace_id, id).await?.ok_or(DeskError::NotFound("user"))?;
        tx.set_user_password(actor.workspace_id, id, &hash, self.session_cutoff()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The workspace's staff.
    pub async fn users(&self, actor: &Actor) -> Result<Vec<UserRecord>, DeskError> {
        require(actor, Permission::View)?;
        Ok(self.store().read().await?.list_users(actor.workspace_id).await?)
    }

    /// A staff member by id.
    pub async fn user(&self, actor: &Actor, id: UserId) -> Result<UserRecord, DeskError> {
        if actor.user_id() != Some(id) {
            require(actor, Permission::View)?;
        }
        self.store().read().await?.user_by_id(actor.workspace_id, id).await?.ok_or(DeskError::NotFound("user"))
    }

    /// A contact by id: staff, or the contact themself.
    pub async fn contact(&self, actor: &Actor, id: ContactId) -> Result<ContactRecord, DeskError> {
        if actor.contact_id() != Some(id) {
            require(actor, Permission::View)?;
        }
        self.store().read().await?.contact_by_id(actor.workspace_id, id).await?.ok_or(DeskError::NotFound("contact"))
    }

    /// Contacts matching a name or email fragment.
    pub async fn contacts(
        &self,
        actor: &Actor,
        search: Option<&str>,
        first: i64,
    ) -> Result<Vec<ContactRecord>, DeskError> {
        require(actor, Permission::View)?;
        Ok(self.store().read().await?.list_contacts(actor.workspace_id, search, first.clamp(1, 100)).await?)
    }

    /// Creates a contact (staff with manage permission).
    pub async fn create_contact(&self, actor: &Actor, input: ContactInput) -> Result<ContactRecord, DeskError> {
        require(actor, Permission::Manage)?;
        let new = NewContact {
            name: validate_name("name", &input.name)?,
            email: input
                .email
                .as_deref()
                .filter(|e| !e.trim().is_empty())
                .map(|e| EmailAddress::parse("email", e).map(|e| e.as_str().to_string()))
                .transpose()?,
            phone: input
                .phone
                .as_deref()
                .filter(|p| !p.trim().is_empty())
                .map(|p| validate_phone("phone", p))
                .transpose()?,
            identities: Vec::new(),
            requester_type: input.requester_type,
            business_partner_ref: input.business_partner_ref.filter(|r| !r.trim().is_empty()).map(into_without_nul),
            password_hash: input.portal_password.as_deref().map(|p| hash_password("portalPassword", p)).transpose()?,
        };
        if new.requester_type == Some(RequesterType::BusinessPartner) && new.business_partner_ref.is_none() {
            return Err(DeskError::invalid(
                "businessPartnerRef",
                "a business-partner requester needs the partner reference",
            ));
        }
        let mut tx = self.store().write().await?;
        let c = tx
            .insert_contact(actor.workspace_id, &new, self.now())
            .await
            .map_err(conflict_as_field("email", "this email or phone"))?;
        tx.commit().await?;
        Ok(c)
    }

    // ---- queues ----

    /// The workspace's queues, default first.
    pub async fn queues(&self, actor: &Actor) -> Result<Vec<QueueRecord>, DeskError> {
        require(actor, Permission::View)?;
        Ok(self.store().read().await?.list_queues(actor.workspace_id).await?)
    }

    /// A queue's members.
    pub async fn queue_members(&self, actor: &Actor, queue: QueueId) -> Result<Vec<QueueMemberRecord>, DeskError> {
        require(actor, Permission::View)?;
        Ok(self.store().read().await?.list_queue_members(actor.workspace_id, queue).await?)
    }

    /// Creates or renames a queue and sets its assignment mode; `is_default` moves the default here.
    /// An update names the `version` its form was loaded at: a newer one (someone saved since) is
    /// refused; `None` saves over whatever is there.
    pub async fn save_queue(
        &self,
        actor: &Actor,
        id: Option<QueueId>,
        name: &str,
        mode: AssignmentMode,
        is_default: bool,
        version: Option<i64>,
    ) -> Result<QueueRecord, DeskError> {
        require(actor, Permission::Admin)?;
        let name = validate_name("name", name)?;
        let ws = actor.workspace_id;
        let mut tx = self.store().write().await?;
        let q = match id {
            None => tx
                .insert_queue(ws, &name, false, mode, self.now())
                .await
                .map_err(conflict_as_field("name", "this queue name"))?,
            Some(id) => {
                let cur = tx.queue_by_id(ws, id).await?.ok_or(DeskError::NotFound("queue"))?;
                if cur.is_default && !is_default {
                    return Err(DeskError::invalid("isDefault", "make another queue the default instead"));
                }
                self.take_version(&mut tx, actor, EditedForm::Queue(id), "queue", version).await?;
                tx.update_queue(ws, id, &name, mode).await.map_err(conflict_as_field("name", "this queue name"))?
            }
        };
        if is_default {
            tx.set_default_queue(ws, q.id).await?;
        }
        let q = tx.queue_by_id(ws, q.id).await?.ok_or(DeskError::NotFound("queue"))?;
        tx.commit().await?;
        Ok(q)
    }

    /// Deletes an empty, non-default queue.
    pub async fn delete_queue(&self, actor: &Actor, id: QueueId) -> Result<(), DeskError> {
        require(actor, Permission::Admin)?;
        let ws = actor.workspace_id;
        let mut tx = self.store().write().await?;
        let q = tx.queue_by_id(ws, id).await?.ok_or(DeskError::NotFound("queue"))?;
        if q.is_default {
            return Err(DeskError::invalid("id", "the default queue cannot be deleted"));
        }
        if tx.queue_ticket_count(ws, id).await? > 0 {
            return Err(DeskError::Conflict("the queue still holds tickets; move them first".into()));
        }
        tx.delete_queue(ws, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds a staff member to a queue, or changes their role, weight or break flag.
    pub async fn set_queue_member(
        &self,
        actor: &Actor,
        queue: QueueId,
        user: UserId,
        role: MemberRole,
        weight: i64,
        on_break: bool,
    ) -> Result<Vec<QueueMemberRecord>, DeskError> {
        require(actor, Permission::Admin)?;
        if !(1..=100).contains(&weight) {
            return Err(DeskError::invalid("weight", "must be between 1 and 100"));
        }
        let ws = actor.workspace_id;
        let mut tx = self.store().write().await?;
        tx.queue_by_id(ws, queue).await?.ok_or(DeskError::NotFound("queue"))?;
        self.check_user(&mut tx, ws, user).await?;
        tx.upsert_queue_member(ws, queue, user, role, weight, on_break).await?;
        let members = tx.list_queue_members(ws, queue).await?;
        tx.commit().await?;
        Ok(members)
    }

    /// Removes a staff member from a queue.
    pub async fn remove_queue_member(
        &self,
        actor: &Actor,
        queue: QueueId,
        user: UserId,
    ) -> Result<Vec<QueueMemberRecord>, DeskError> {
        require(actor, Permission::Admin)?;
        let ws = actor.workspace_id;
        let mut tx = self.store().write().await?;
        if !tx.remove_queue_member(ws, queue, user).await? {
            return Err(DeskError::NotFound("queue member"));
        }
        let members = tx.list_queue_members(ws, queue).await?;
        tx.commit().await?;
        Ok(members)
    }

    /// Takes the next version of an admin form's row for this save, or refuses the save when
    /// someone saved the row since `expected` was loaded, naming them and when: two admins editing
    /// one queue must not silently undo each other. The row stays locked (PostgreSQL) until the
    /// save commits, so of two saves of one version exactly one goes through.
    pub(crate) async fn take_version(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        form: EditedForm,
        what: &'static str,
        expected: Option<i64>,
    ) -> Result<(), DeskError> {
        let ws = actor.workspace_id;
        if tx.take_form_version(form, ws, expected, &actor.label, self.now()).await?.is_some() {
            return Ok(());
        }
        let (version, at, by) = tx.form_version(form, ws).await?.ok_or(DeskError::NotFound(what))?;
        Err(saved_since(&format!("this {what}"), version, at, by))
    }

    /// The same for one of the workspace's settings forms, which have a version each (saving the
    /// SLA settings never refuses a save of the manager alerts). The settings row is locked by the
    /// save first, so two saves of one form's version take turns and the second is refused.
    pub(crate) async fn take_settings_version(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        form: SettingsForm,
        expected: Option<i64>,
    ) -> Result<FormVersion, DeskError> {
        let ws = actor.workspace_id;
        let now = self.now();
        if let Some(version) = tx.take_settings_version(form, ws, expected, &actor.label, now).await? {
            return Ok(FormVersion { version, updated_at: Some(now), updated_by: Some(actor.label.clone()) });
        }
        let v = settings_version_of(tx.settings_version(form, ws).await?);
        Err(saved_since(&format!("the {}", form.label()), v.version, v.updated_at, v.updated_by))
    }

    /// Who saved one of the workspace's settings forms last, and the version a save must name.
    /// Read it before the settings themselves: a save committed in between then shows its values
    /// under the older version (the next save is refused and reloads), never older values under
    /// the newer version (which would let that save undo the change unseen).
    pub async fn settings_version(&self, actor: &Actor, form: SettingsForm) -> Result<FormVersion, DeskError> {
        require(actor, Permission::View)?;
        let mut tx = self.store().read().await?;
        Ok(settings_version_of(tx.settings_version(form, actor.workspace_id).await?))
    }

    async fn check_user(&self, tx: &mut Tx, ws: WorkspaceId, user: UserId) -> Result<UserRecord, DeskError> {
        tx.user_by_id(ws, user)
            .await?
            .ok_or_else(|| DeskError::invalid("userId", "no staff member with this id in the workspace"))
    }

    // ---- help topics ----

    /// The workspace's help topics.
    pub async fn help_topics(&self, actor: &Actor) -> Result<Vec<HelpTopicRecord>, DeskError> {
        // Customers pick a topic on the portal's new-ticket form, so they may list them too.
        if actor.is_staff_side() {
            require(actor, Permission::View)?;
        }
        let all = self.store().read().await?.list_help_topics(actor.workspace_id).await?;
        Ok(if actor.is_staff_side() { all } else { all.into_iter().filter(|t| t.active).collect() })
    }

    /// Creates or updates a help topic.
    pub async fn save_help_topic(
        &self,
        actor: &Actor,
        id: Option<HelpTopicId>,
        input: HelpTopicInput,
    ) -> Result<HelpTopicRecord, DeskError> {
        require(actor, Permission::Admin)?;
        let ws = actor.workspace_id;
        let name = validate_name("name", &input.name)?;
        if let Some(m) = input.due_offset_minutes
            && !(5..=525_600).contains(&m)
        {
            return Err(DeskError::invalid("dueOffsetMinutes", "must be between 5 minutes and one year"));
        }
        let mut tx = self.store().write().await?;
        if let Some(q) = input.default_queue_id {
            tx.queue_by_id(ws, q)
                .await?
                .ok_or_else(|| DeskError::invalid("defaultQueueId", "no queue with this id in the workspace"))?;
        }
        if let Some(u) = input.default_assignee_id {
            tx.user_by_id(ws, u).await?.ok_or_else(|| {
                DeskError::invalid("defaultAssigneeId", "no staff member with this id in the workspace")
            })?;
        }
        if let Some(id) = id {
            tx.help_topic_by_id(ws, id).await?.ok_or(DeskError::NotFound("help topic"))?;
            self.take_version(&mut tx, actor, EditedForm::HelpTopic(id), "help topic", input.version).await?;
        }
        let t = tx
            .upsert_help_topic(
                ws,
                id,
                &name,
                input.default_priority,
                input.default_queue_id,
                input.default_assignee_id,
                input.due_offset_minutes,
                input.active,
                self.now(),
            )
            .await
            .map_err(conflict_as_field("name", "this help topic name"))?;
        tx.commit().await?;
        Ok(t)
    }

    // ---- canned responses ----

    /// The workspace's canned responses.
    pub async fn canned_responses(&self, actor: &Actor) -> Result<Vec<CannedResponseRecord>, DeskError> {
        require(actor, Permission::View)?;
        Ok(self.store().read().await?.list_canned_responses(actor.workspace_id).await?)
    }

    /// Creates or updates a canned response.
    pub async fn save_canned_response(
        &self,
        actor: &Actor,
        id: Option<CannedResponseId>,
        input: CannedResponseInput,
    ) -> Result<CannedResponseRecord, DeskError> {
        require(actor, Permission::Admin)?;
        let ws = actor.workspace_id;
        let title = validate_name("title", &input.title)?;
        let body = validate_body("body", &input.body)?;
        validate_template("body", &body)?;
        let shortcut = input.shortcut.as_deref().filter(|s| !s.trim().is_empty()).map(validate_shortcut).transpose()?;
        let mut tx = self.store().write().await?;
        if let Some(h) = input.help_topic_id {
            tx.help_topic_by_id(ws, h)
                .await?
                .ok_or_else(|| DeskError::invalid("helpTopicId", "no help topic with this id in the workspace"))?;
        }
        if let Some(id) = id {
            tx.canned_response_by_id(ws, id).await?.ok_or(DeskError::NotFound("canned response"))?;
            let form = EditedForm::CannedResponse(id);
            self.take_version(&mut tx, actor, form, "canned response", input.version).await?;
        }
        let r = tx
            .upsert_canned_response(ws, id, &title, shortcut.as_deref(), &body, input.help_topic_id, self.now())
            .await
            .map_err(conflict_as_field("shortcut", "this shortcut"))?;
        tx.commit().await?;
        Ok(r)
    }

    /// Deletes a canned response.
    pub async fn delete_canned_response(&self, actor: &Actor, id: CannedResponseId) -> Result<(), DeskError> {
        require(actor, Permission::Admin)?;
        let mut tx = self.store().write().await?;
        if !tx.delete_canned_response(actor.workspace_id, id).await? {
            return Err(DeskError::NotFound("canned response"));
        }
        tx.commit().await?;
        Ok(())
    }
}
