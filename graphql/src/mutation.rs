use std::io::Read;

use async_graphql::{Context, ID, MaybeUndefined, Object, Upload};
use switchboard_desk::domain::{self as d, Actor};
use switchboard_desk::store::IdentityKind;
use switchboard_desk::{
    self as desk_api, DeskError, InboundMessage, LoginResult, NewAttachment, OpenTicket, RequesterRef,
};

use crate::support::*;
use crate::types::*;
use crate::{actor, client_addr, desk, opt_id, parse_id};

/// Every change the core API offers; the server merges each channel's changes beside it into
/// `Mutation`.
#[derive(Debug, Default)]
pub struct CoreMutation;

fn read_uploads(ctx: &Context<'_>, uploads: Option<Vec<Upload>>) -> Result<Vec<NewAttachment>, DeskError> {
    let mut out = Vec::new();
    for (i, u) in uploads.unwrap_or_default().iter().enumerate() {
        let field = format!("attachments[{i}]");
        let v = u.value(ctx).map_err(|_| DeskError::invalid(&field, "could not be read"))?;
        let size = v.size().map_err(|_| DeskError::invalid(&field, "could not be read"))?;
        if size > desk_api::MAX_ATTACHMENT_BYTES as u64 {
            return Err(DeskError::invalid(
                &field,
                format!("is larger than {} MiB", desk_api::MAX_ATTACHMENT_BYTES >> 20),
            ));
        }
        let mut bytes = Vec::with_capacity(size as usize);
        let (file_name, content_type) = (v.filename.clone(), v.content_type.clone().unwrap_or_default());
        v.into_read().read_to_end(&mut bytes).map_err(|_| DeskError::invalid(&field, "could not be read"))?;
        out.push(NewAttachment { file_name, content_type, bytes });
    }
    Ok(out)
}

fn maybe_id<T: From<i64>>(id: &MaybeUndefined<ID>, field: &str) -> Result<Option<Option<T>>, DeskError> {
    Ok(match id {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(parse_id(v, field)?)),
    })
}

fn to_patch(p: TicketPatch) -> Result<desk_api::TicketPatch, DeskError> {
    Ok(desk_api::TicketPatch {
        subject: p.subject,
        status: p.status.map(Into::into),
        priority: p.priority.map(Into::into),
        assignee_id: maybe_id(&p.assignee_id, "assigneeId")?,
        queue_id: opt_id(&p.queue_id, "queueId")?,
        help_topic_id: maybe_id(&p.help_topic_id, "helpTopicId")?,
        tags: p.tags,
        escalated: p.escalated,
        escalation_reason: None,
        resolution_due_at: match p.resolution_due_at {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(t) => Some(Some(t.timestamp_millis())),
        },
    })
}

fn staff<'a>(ctx: &Context<'a>) -> Result<&'a Actor, DeskError> {
    let a = actor(ctx)?;
    if a.contact_id().is_some() {
        return Err(DeskError::Forbidden("this is a staff operation".into()));
    }
    Ok(a)
}

#[Object]
impl CoreMutation {
    /// Signs a staff member in. An address may belong to staff of several workspaces: the
    /// password decides which account it is. When it fits accounts in several, the answer is a
    /// VALIDATION error on `workspace` whose `extensions.workspaces` lists them
    /// (`[{ slug, name }]`); sign in again with one's slug as `workspace`. A wrong password, an
    /// unknown address and an unknown workspace get the same UNAUTHENTICATED answer.
    /// RATE_LIMITED after 10 failures with one address from one network (100 with any) in 15
    /// minutes.
    async fn login(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
        workspace: Option<String>,
    ) -> Result<LoginPayload, DeskError> {
        let r = desk(ctx).login_staff(&email, &password, workspace.as_deref(), client_addr(ctx)).await?;
        let user = desk(ctx).user(&r.actor, r.actor.user_id().ok_or(DeskError::NotFound("user"))?).await?;
        Ok(LoginPayload { token: r.token, expires_at: time(r.expires_at), user: User(user) })
    }

    /// Signs a customer in to the My Tickets portal; several workspaces and failures are
    /// handled like `login`.
    async fn customer_login(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
        workspace: Option<String>,
    ) -> Result<CustomerLoginPayload, DeskError> {
        customer_payload(
            ctx,
            desk(ctx).login_customer(&email, &password, workspace.as_deref(), client_addr(ctx)).await?,
        )
        .await
    }

    /// Emails a one-time sign-in link for the My Tickets portal to the customer with this
    /// address: one link per workspace where it is a customer's (only `workspace`, a slug, when
    /// given), each email naming its workspace. Answers true whether or not the address is a
    /// customer's (so it tells nobody who writes to the helpdesk); a link works once, within 15
    /// minutes. RATE_LIMITED after 20
    /// requests from one network in 15 minutes, whatever the addresses.
    async fn request_customer_sign_in_link(
        &self,
        ctx: &Context<'_>,
        email: String,
        workspace: Option<String>,
    ) -> Result<bool, DeskError> {
        desk(ctx).request_customer_sign_in_link(&email, workspace.as_deref(), client_addr(ctx)).await?;
        Ok(true)
    }

    /// Signs a customer in to the My Tickets portal with the token of an emailed sign-in link.
    async fn customer_sign_in_with_link(
        &self,
        ctx: &Context<'_>,
        token: String,
    ) -> Result<CustomerLoginPayload, DeskError> {
        customer_payload(ctx, desk(ctx).login_customer_with_link(&token).await?).await
    }

    /// Ends every sign-in of the caller (staff or customer) on every device, this one included.
    async fn sign_out_everywhere(&self, ctx: &Context<'_>) -> Result<bool, DeskError> {
        desk(ctx).sign_out_everywhere(actor(ctx)?).await?;
        Ok(true)
    }

    /// Changes the caller's own password (a customer's: their portal password). A wrong
    /// `currentPassword` is a VALIDATION error on that field and counts toward the sign-in
    /// limits. It is not asked for (and ignored) while `me.currentPasswordRequired` is false:
    /// just after a customer signs in with an emailed link, to reset a forgotten password or
    /// set a first one. Every other sign-in ends; use the returned token from now on.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> Result<Session, DeskError> {
        let a = actor(ctx)?;
        let r = desk(ctx).change_own_password(a, &current_password, &new_password, client_addr(ctx)).await?;
        Ok(Session { token: r.token, expires_at: time(r.expires_at) })
    }

    /// Opens a ticket for a requester.
    async fn open_ticket(
        &self,
        ctx: &Context<'_>,
        input: OpenTicketInput,
        attachments: Option<Vec<Upload>>,
    ) -> Result<Ticket, DeskError> {
        let a = staff(ctx)?;
        let requester = match (&input.requester.contact_id, &input.requester.email) {
            (Some(id), None) => RequesterRef::Contact(parse_id(id, "requester.contactId")?),
            (None, Some(email)) => RequesterRef::Email { email: email.clone(), name: input.requester.name.clone() },
            _ => return Err(DeskError::invalid("requester", "give exactly one of contactId or email")),
        };
        let open = OpenTicket {
            subject: input.subject,
            description: input.description,
            requester,
            priority: input.priority.map(Into::into),
            source: input.source.map(Into::into),
            queue_id: opt_id(&input.queue_id, "queueId")?,
            help_topic_id: opt_id(&input.help_topic_id, "helpTopicId")?,
            assignee_id: opt_id(&input.assignee_id, "assigneeId")?,
            tags: input.tags,
            resolution_due_at: input.resolution_due_at.map(|t| t.timestamp_millis()),
            attachments: read_uploads(ctx, attachments)?,
        };
        Ok(Ticket(desk(ctx).open_ticket(a, open).await?))
    }

    /// Ingests a message from an integrator's own channel; idempotent on `externalMessageId`.
    async fn ingest_message(&self, ctx: &Context<'_>, input: IngestMessageInput) -> Result<IngestResult, DeskError> {
        let a = staff(ctx)?;
        let msg = InboundMessage {
            channel: d::Channel::Api,
            thread_key: input.thread_key,
            ticket_id: None,
            external_message_id: input.external_message_id,
            sender_kind: IdentityKind::Email,
            sender_value: input.sender_email,
            sender_name: input.sender_name,
            subject: input.subject,
            text: input.text,
            attachments: Vec::new(),
        };
        let out = desk(ctx).ingest(a, msg).await?;
        let ticket = desk(ctx).ticket(a, out.ticket_id).await?;
        Ok(IngestResult {
            ticket: Ticket(ticket),
            entry_id: ID(out.entry_id.to_string()),
            opened: out.opened,
            duplicate: out.duplicate,
        })
    }

    /// Posts a public reply to the requester; optionally moves the ticket to `status`.
    async fn reply(
        &self,
        ctx: &Context<'_>,
        ticket_id: ID,
        body: String,
        status: Option<TicketStatus>,
        attachments: Option<Vec<Upload>>,
    ) -> Result<Entry, DeskError> {
        let a = staff(ctx)?;
        let files = read_uploads(ctx, attachments)?;
        Ok(Entry(desk(ctx).reply(a, parse_id(&ticket_id, "ticketId")?, &body, files, status.map(Into::into)).await?))
    }

    /// Adds an internal note; `@handle` mentions staff by the local part of their email.
    async fn add_note(&self, ctx: &Context<'_>, ticket_id: ID, body: String) -> Result<Entry, DeskError> {
        let a = staff(ctx)?;
        Ok(Entry(desk(ctx).add_note(a, parse_id(&ticket_id, "ticketId")?, &body).await?))
    }

    /// Changes a ticket's fields.
    async fn update_ticket(&self, ctx: &Context<'_>, ticket_id: ID, input: TicketPatch) -> Result<Ticket, DeskError> {
        let a = staff(ctx)?;
        Ok(Ticket(desk(ctx).update_ticket(a, parse_id(&ticket_id, "ticketId")?, to_patch(input)?).await?))
    }

    /// Applies one change to several tickets; each succeeds or fails on its own.
    async fn bulk_update_tickets(
        &self,
        ctx: &Context<'_>,
        ticket_ids: Vec<ID>,
        input: TicketPatch,
    ) -> Result<Vec<BulkUpdateResult>, DeskError> {
        let a = staff(ctx)?;
        let ids = ticket_ids
            .iter()
            .enumerate()
            .map(|(i, id)| parse_id(id, &format!("ticketIds[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let results = desk(ctx).bulk_update(a, &ids, to_patch(input)?).await?;
        Ok(results
            .into_iter()
            .map(|r| {
                let (ticket, error) = match r.result {
                    Ok(t) => (Some(Ticket(t)), None),
                    Err(e) => (None, Some(UserError::from(e))),
                };
                BulkUpdateResult { ticket_id: ID(r.ticket_id.to_string()), ticket, error }
            })
            .collect())
    }

    /// Assigns the ticket to yourself and starts work on it.
    async fn claim_ticket(&self, ctx: &Context<'_>, ticket_id: ID) -> Result<Ticket, DeskError> {
        Ok(Ticket(desk(ctx).claim(staff(ctx)?, parse_id(&ticket_id, "ticketId")?).await?))
    }

    /// Releases a claimed ticket back to its queue.
    async fn unclaim_ticket(&self, ctx: &Context<'_>, ticket_id: ID) -> Result<Ticket, DeskError> {
        Ok(Ticket(desk(ctx).unclaim(staff(ctx)?, parse_id(&ticket_id, "ticketId")?).await?))
    }

    /// Closes a ticket with a reason and an optional note (at most 500 characters).
    async fn close_ticket(
        &self,
        ctx: &Context<'_>,
        ticket_id: ID,
        reason: CloseReason,
        note: Option<String>,
    ) -> Result<Ticket, DeskError> {
        Ok(Ticket(
            desk(ctx).close(staff(ctx)?, parse_id(&ticket_id, "ticketId")?, reason.into(), note.as_deref()).await?,
        ))
    }

    /// Reopens a resolved or closed ticket.
    async fn reopen_ticket(&self, ctx: &Context<'_>, ticket_id: ID) -> Result<Ticket, DeskError> {
        Ok(Ticket(desk(ctx).reopen(staff(ctx)?, parse_id(&ticket_id, "ticketId")?).await?))
    }

    /// Opens a ticket as the signed-in customer.
    async fn create_my_ticket(
        &self,
        ctx: &Context<'_>,
        subject: String,
        description: String,
        help_topic_id: Option<ID>,
        attachments: Option<Vec<Upload>>,
    ) -> Result<MyTicket, DeskError> {
        let a = actor(ctx)?;
        let files = read_uploads(ctx, attachments)?;
        Ok(MyTicket(
            desk(ctx).open_my_ticket(a, &subject, &description, opt_id(&help_topic_id, "helpTopicId")?, files).await?,
        ))
    }

    /// Replies on one of the signed-in customer's tickets.
    async fn reply_to_my_ticket(
        &self,
        ctx: &Context<'_>,
        ticket_id: ID,
        body: String,
        attachments: Option<Vec<Upload>>,
    ) -> Result<PublicEntry, DeskError> {
        let a = actor(ctx)?;
        if a.contact_id().is_none() {
            return Err(DeskError::Forbidden("staff reply with reply".into()));
        }
        let files = read_uploads(ctx, attachments)?;
        let entry = desk(ctx).reply(a, parse_id(&ticket_id, "ticketId")?, &body, files, None).await?;
        Ok(PublicEntry { entry, from_me: true })
    }

    /// Rates a resolved or closed ticket (1-5) as its requester.
    async fn rate_my_ticket(
        &self,
        ctx: &Context<'_>,
        ticket_id: ID,
        rating: i64,
        comment: Option<String>,
    ) -> Result<MyTicket, DeskError> {
        Ok(MyTicket(
            desk(ctx).rate_ticket(actor(ctx)?, parse_id(&ticket_id, "ticketId")?, rating, comment.as_deref()).await?,
        ))
    }

    /// Creates an integrator API token with the given permission keys; the token is shown once.
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        name: String,
        scopes: Vec<String>,
    ) -> Result<CreatedApiToken, DeskError> {
        let (token, rec) = desk(ctx).create_api_token(actor(ctx)?, &name, &scopes).await?;
        Ok(CreatedApiToken { token, api_token: ApiToken(rec) })
    }

    /// Revokes an API token at once.
    async fn revoke_api_token(&self, ctx: &Context<'_>, id: ID) -> Result<bool, DeskError> {
        desk(ctx).revoke_api_token(actor(ctx)?, parse_id(&id, "id")?).await?;
        Ok(true)
    }

    /// Adds a staff member (admins).
    async fn create_user(&self, ctx: &Context<'_>, input: UserInput) -> Result<User, DeskError> {
        let u = desk(ctx)
            .create_user(actor(ctx)?, &input.email, &input.name, input.role.into(), input.password.as_deref())
            .await?;
        Ok(User(u))
    }

    /// Links how a staff member is known on a channel, e.g. their chat user id (admins). An id
    /// already linked on that channel is a CONFLICT naming its holder.
    async fn link_staff_identity(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        channel: Channel,
        external_id: String,
    ) -> Result<crate::staff_identities::StaffIdentity, DeskError> {
        let user = parse_id(&user_id, "userId")?;
        let linked = desk(ctx).link_staff_identity(actor(ctx)?, user, channel.into(), &external_id).await?;
        Ok(crate::staff_identities::StaffIdentity(linked))
    }

    /// Removes a staff identity (admins).
    async fn unlink_staff_identity(&self, ctx: &Context<'_>, id: ID) -> Result<bool, DeskError> {
        desk(ctx).unlink_staff_identity(actor(ctx)?, parse_id(&id, "id")?).await?;
        Ok(true)
    }

    /// Changes a staff member (admins).
    async fn update_user(&self, ctx: &Context<'_>, id: ID, input: UserPatch) -> Result<User, DeskError> {
        let a = actor(ctx)?;
        let id = parse_id(&id, "id")?;
        if let Some(p) = &input.password {
            desk(ctx).set_user_password(a, id, p).await?;
        }
        Ok(User(desk(ctx).update_user(a, id, input.name.as_deref(), input.role.map(Into::into), input.active).await?))
    }

    /// Adds a requester.
    async fn create_contact(&self, ctx: &Context<'_>, input: ContactInput) -> Result<Contact, DeskError> {
        let c = desk(ctx)
            .create_contact(
                actor(ctx)?,
                desk_api::ContactInput {
                    name: input.name,
                    email: input.email,
                    phone: input.phone,
                    requester_type: input.requester_type.map(Into::into),
                    business_partner_ref: input.business_partner_ref,
                    portal_password: input.portal_password,
                },
            )
            .await?;
        Ok(Contact(c))
    }

    /// Creates a queue, or updates one when `id` is given (admins).
    async fn save_queue(&self, ctx: &Context<'_>, id: Option<ID>, input: QueueInput) -> Result<Queue, DeskError> {
        let q = desk(ctx)
            .save_queue(
                actor(ctx)?,
                opt_id(&id, "id")?,
                &input.name,
                input.assignment_mode.into(),
                input.is_default,
                input.version,
            )
            .await?;
        Ok(Queue(q))
    }

    /// Deletes an empty queue that is not the default (admins).
    async fn delete_queue(&self, ctx: &Context<'_>, id: ID) -> Result<bool, DeskError> {
        desk(ctx).delete_queue(actor(ctx)?, parse_id(&id, "id")?).await?;
        Ok(true)
    }

    /// Adds a member to a queue or changes their role, weight or break (admins).
    async fn set_queue_member(
        &self,
        ctx: &Context<'_>,
        queue_id: ID,
        user_id: ID,
        role: Option<MemberRole>,
        weight: Option<i64>,
        on_break: Option<bool>,
    ) -> Result<Vec<QueueMember>, DeskError> {
        let members = desk(ctx)
            .set_queue_member(
                actor(ctx)?,
                parse_id(&queue_id, "queueId")?,
                parse_id(&user_id, "userId")?,
                role.map_or(d::MemberRole::Member, Into::into),
                weight.unwrap_or(1),
                on_break.unwrap_or(false),
            )
            .await?;
        Ok(members.into_iter().map(QueueMember).collect())
    }

    /// Removes a member from a queue (admins).
    async fn remove_queue_member(
        &self,
        ctx: &Context<'_>,
        queue_id: ID,
        user_id: ID,
    ) -> Result<Vec<QueueMember>, DeskError> {
        let members = desk(ctx)
            .remove_queue_member(actor(ctx)?, parse_id(&queue_id, "queueId")?, parse_id(&user_id, "userId")?)
            .await?;
        Ok(members.into_iter().map(QueueMember).collect())
    }

    /// Creates a help topic, or updates one when `id` is given (admins).
    async fn save_help_topic(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        input: HelpTopicInput,
    ) -> Result<HelpTopic, DeskError> {
        let t = desk(ctx)
            .save_help_topic(
                actor(ctx)?,
                opt_id(&id, "id")?,
                desk_api::HelpTopicInput {
                    name: input.name,
                    default_priority: input.default_priority.map(Into::into),
                    default_queue_id: opt_id(&input.default_queue_id, "defaultQueueId")?,
                    default_assignee_id: opt_id(&input.default_assignee_id, "defaultAssigneeId")?,
                    due_offset_minutes: input.due_offset_minutes,
                    active: input.active,
                    version: input.version,
                },
            )
            .await?;
        Ok(HelpTopic(t))
    }

    /// Creates a canned response, or updates one when `id` is given (admins).
    async fn save_canned_response(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        input: CannedResponseInput,
    ) -> Result<CannedResponse, DeskError> {
        let r = desk(ctx)
            .save_canned_response(
                actor(ctx)?,
                opt_id(&id, "id")?,
                desk_api::CannedResponseInput {
                    title: input.title,
                    shortcut: input.shortcut,
                    body: input.body,
                    help_topic_id: opt_id(&input.help_topic_id, "helpTopicId")?,
                    version: input.version,
                },
            )
            .await?;
        Ok(CannedResponse(r))
    }

    /// Deletes a canned response (admins).
    async fn delete_canned_response(&self, ctx: &Context<'_>, id: ID) -> Result<bool, DeskError> {
        desk(ctx).delete_canned_response(actor(ctx)?, parse_id(&id, "id")?).await?;
        Ok(true)
    }

    /// Creates a business-hours calendar, or updates one when `id` is given (admins).
    async fn save_calendar(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        input: CalendarInput,
    ) -> Result<Calendar, DeskError> {
        let a = actor(ctx)?;
        let spec = input.spec();
        Calendar::new(desk(ctx).save_calendar(a, opt_id(&id, "id")?, &input.name, &spec, input.version).await?)
    }

    /// Creates an SLA policy, or updates one when `id` is given (admins).
    async fn save_sla_policy(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        input: SlaPolicyInput,
    ) -> Result<SlaPolicy, DeskError> {
        let a = actor(ctx)?;
        Ok(SlaPolicy(desk(ctx).save_sla_policy(a, opt_id(&id, "id")?, input.change()?).await?))
    }

    /// Deletes a business-hours calendar no SLA policy counts in (admins); CONFLICT names the
    /// policies that still do.
    async fn delete_calendar(&self, ctx: &Context<'_>, id: ID) -> Result<bool, DeskError> {
        desk(ctx).delete_calendar(actor(ctx)?, parse_id(&id, "id")?).await?;
        Ok(true)
    }

    /// Deletes an SLA policy; tickets keep the targets it gave them (admins).
    async fn delete_sla_policy(&self, ctx: &Context<'_>, id: ID) -> Result<bool, DeskError> {
        desk(ctx).delete_sla_policy(actor(ctx)?, parse_id(&id, "id")?).await?;
        Ok(true)
    }

    /// Changes the SLA settings (admins).
    async fn save_sla_settings(&self, ctx: &Context<'_>, input: SlaSettingsInput) -> Result<SlaSettings, DeskError> {
        let version = input.version;
        let (saved, v) = desk(ctx).save_sla_settings(actor(ctx)?, input.into(), version).await?;
        Ok(SlaSettings::new(saved, v))
    }

    /// Changes the proactive follow-up and auto-close settings (admins).
    async fn save_inactivity_settings(
        &self,
        ctx: &Context<'_>,
        input: InactivitySettings,
    ) -> Result<InactivitySettings, DeskError> {
        let version = input.version;
        let (saved, v) = desk(ctx).save_inactivity_settings(actor(ctx)?, input.into(), version).await?;
        Ok(InactivitySettings::new(saved, v))
    }

    /// Changes the messages sent after a ticket closes (admins).
    async fn save_after_close_settings(
        &self,
        ctx: &Context<'_>,
        input: AfterCloseSettings,
    ) -> Result<AfterCloseSettings, DeskError> {
        let version = input.version;
        let (saved, v) = desk(ctx).save_after_close_settings(actor(ctx)?, input.into(), version).await?;
        Ok(AfterCloseSettings::new(saved, v))
    }

    /// Changes the manager alert thresholds (admins).
    async fn save_manager_alert_settings(
        &self,
        ctx: &Context<'_>,
        input: ManagerAlertSettings,
    ) -> Result<ManagerAlertSettings, DeskError> {
        let version = input.version;
        let (saved, v) = desk(ctx).save_manager_alert_settings(actor(ctx)?, input.into(), version).await?;
        Ok(ManagerAlertSettings::new(saved, v))
    }

    /// Creates a routing rule, or updates one when `id` is given (admins).
    async fn save_routing_rule(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        input: RoutingRuleInput,
    ) -> Result<RoutingRule, DeskError> {
        let a = actor(ctx)?;
        Ok(RoutingRule(desk(ctx).save_routing_rule(a, opt_id(&id, "id")?, input.change()?).await?))
    }

    /// Puts the routing rules in this order, naming every rule exactly once (admins).
    async fn reorder_routing_rules(&self, ctx: &Context<'_>, rule_ids: Vec<ID>) -> Result<Vec<RoutingRule>, DeskError> {
        let a = actor(ctx)?;
        let ids = rule_ids
            .iter()
            .enumerate()
            .map(|(i, id)| parse_id(id, &format!("ruleIds[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(desk(ctx).reorder_routing_rules(a, &ids).await?.into_iter().map(RoutingRule).collect())
    }

    /// Deletes a routing rule (admins).
    async fn delete_routing_rule(&self, ctx: &Context<'_>, id: ID) -> Result<bool, DeskError> {
        desk(ctx).delete_routing_rule(actor(ctx)?, parse_id(&id, "id")?).await?;
        Ok(true)
    }

    /// Replaces the automation rules with a JSON array in the seed's format, reporting on every
    /// rule. An invalid rule saves nothing unless `dropInvalid`, which saves the valid ones (admins).
    /// `version` is `automationRulesVersion.version` when the rules were loaded: a save over a
    /// newer one is refused with CONFLICT naming who saved it and when; without it the save
    /// applies whatever was saved since (as before versions existed).
    async fn save_automation_rules(
        &self,
        ctx: &Context<'_>,
        rules: String,
        #[graphql(default_with = "Some(false)")] drop_invalid: Option<bool>,
        version: Option<i64>,
    ) -> Result<SaveAutomationRulesPayload, DeskError> {
        let a = actor(ctx)?;
        SaveAutomationRulesPayload::new(
            desk(ctx).save_automation_rules(a, &rules, drop_invalid.unwrap_or(false), version).await?,
        )
    }

    /// Creates a webhook endpoint, or updates one when `id` is given (admins).
    async fn save_webhook(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        input: WebhookInput,
    ) -> Result<SavedWebhook, DeskError> {
        let a = actor(ctx)?;
        let saved = desk(ctx).save_webhook(a, opt_id(&id, "id")?, input.into()).await?;
        Ok(SavedWebhook { webhook: Webhook(saved.webhook), secret: saved.new_secret })
    }

    /// Deletes a webhook endpoint and its delivery log (admins).
    async fn delete_webhook(&self, ctx: &Context<'_>, id: ID) -> Result<bool, DeskError> {
        desk(ctx).delete_webhook(actor(ctx)?, parse_id(&id, "id")?).await?;
        Ok(true)
    }

    /// Queues a `webhook.test` delivery to an endpoint, whatever its events; returns the delivery's id (admins).
    async fn send_test_webhook(&self, ctx: &Context<'_>, id: ID) -> Result<ID, DeskError> {
        let delivery = desk(ctx).send_test_webhook(actor(ctx)?, parse_id(&id, "id")?).await?;
        Ok(ID(delivery.to_string()))
    }

    /// Marks a quality flag reviewed.
    async fn resolve_quality_flag(&self, ctx: &Context<'_>, id: ID) -> Result<QualityFlag, DeskError> {
        Ok(QualityFlag(desk(ctx).resolve_quality_flag(actor(ctx)?, parse_id(&id, "id")?).await?))
    }

    /// Turns a suggested macro into a canned response with a title and shortcut (admins).
    async fn accept_macro_suggestion(
        &self,
        ctx: &Context<'_>,
        id: ID,
        title: String,
        shortcut: String,
    ) -> Result<CannedResponse, DeskError> {
        let id = parse_id(&id, "id")?;
        Ok(CannedResponse(desk(ctx).accept_macro_suggestion(actor(ctx)?, id, &title, &shortcut).await?))
    }

    /// Hides a suggested macro for good (admins).
    async fn dismiss_macro_suggestion(&self, ctx: &Context<'_>, id: ID) -> Result<bool, DeskError> {
        desk(ctx).dismiss_macro_suggestion(actor(ctx)?, parse_id(&id, "id")?).await?;
        Ok(true)
    }
}

/// What a customer's sign-in returns, whichever way they signed in.
async fn customer_payload(ctx: &Context<'_>, r: LoginResult) -> Result<CustomerLoginPayload, DeskError> {
    let contact = desk(ctx).contact(&r.actor, r.actor.contact_id().ok_or(DeskError::NotFound("contact"))?).await?;
    Ok(CustomerLoginPayload { token: r.token, expires_at: time(r.expires_at), contact: Contact(contact) })
}
