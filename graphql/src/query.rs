use async_graphql::{Context, ID, Object};
use switchboard_desk::domain::{self as d, ActorKind, Permission, TicketId, UserId};
use switchboard_desk::store::SettingsForm;
use switchboard_desk::{AssigneeChoice, DeskError, TicketFilter, TicketPage};

use crate::support::*;
use crate::types::*;
use crate::{actor, desk, parse_id};

/// Every read of the core API; the server merges each channel's reads beside it into `Query`.
#[derive(Debug, Default)]
pub struct CoreQuery;

pub(crate) fn to_filter(f: Option<TicketFilterInput>) -> Result<TicketFilter, DeskError> {
    let f = f.unwrap_or_default();
    let assignee = match f.assignee.as_deref().map(str::trim) {
        None | Some("") => AssigneeChoice::Anyone,
        Some("me") => AssigneeChoice::Me,
        Some("unassigned") => AssigneeChoice::Unassigned,
        Some(other) => AssigneeChoice::User(parse_id::<UserId>(&ID(other.to_string()), "filter.assignee")?),
    };
    Ok(TicketFilter {
        statuses: f.status.unwrap_or_default().into_iter().map(Into::into).collect(),
        priorities: f.priority.unwrap_or_default().into_iter().map(Into::into).collect(),
        assignee,
        queue_id: f.queue_id.as_ref().map(|q| parse_id(q, "filter.queueId")).transpose()?,
        help_topic_id: f.help_topic_id.as_ref().map(|h| parse_id(h, "filter.helpTopicId")).transpose()?,
        tag: f.tag,
        escalated: f.escalated,
        awaiting: f.awaiting.map(Into::into),
        sla: f.sla.map(Into::into),
        text: f.search,
    })
}

fn page_info(p: &TicketPage) -> PageInfo {
    PageInfo { end_cursor: p.next_cursor.clone(), has_next_page: p.next_cursor.is_some() }
}

#[Object]
impl CoreQuery {
    /// Who is calling, with their permissions and workspace.
    async fn me(&self, ctx: &Context<'_>) -> Result<Viewer, DeskError> {
        let a = actor(ctx)?;
        let kind = match a.kind {
            ActorKind::User { .. } => "user",
            ActorKind::Contact { .. } => "contact",
            ActorKind::ApiToken { .. } => "api_token",
            ActorKind::Channel { .. } => "channel",
            ActorKind::System => "system",
        };
        Ok(Viewer {
            kind: kind.into(),
            name: a.label.clone(),
            permissions: Permission::ALL.iter().filter(|p| a.can(**p)).map(|p| p.key().to_string()).collect(),
            user_id: a.user_id().map(|u| ID(u.to_string())),
            contact_id: a.contact_id().map(|c| ID(c.to_string())),
            // One read for both password fields, and none when neither is asked for.
            password: match ctx.look_ahead() {
                l if l.field("hasPassword").exists() || l.field("currentPasswordRequired").exists() => {
                    Some(desk(ctx).password_state(a).await?)
                }
                _ => None,
            },
        })
    }

    /// Tickets, newest first, filtered; `first` up to 100, `after` from `pageInfo.endCursor`.
    #[graphql(complexity = "first.unwrap_or(25).clamp(1, 100) as usize * child_complexity")]
    async fn tickets(
        &self,
        ctx: &Context<'_>,
        filter: Option<TicketFilterInput>,
        first: Option<i64>,
        after: Option<String>,
    ) -> Result<TicketConnection, DeskError> {
        let a = actor(ctx)?;
        if a.contact_id().is_some() {
            return Err(DeskError::Forbidden("customers use myTickets".into()));
        }
        let page = desk(ctx).list_tickets(a, &to_filter(filter)?, first.unwrap_or(25), after.as_deref()).await?;
        Ok(TicketConnection {
            page_info: page_info(&page),
            total_count: page.total,
            total_count_capped: page.total_capped,
            search_matches: crate::search::search_matches(page.snippets),
            nodes: page.tickets.into_iter().map(Ticket).collect(),
        })
    }

    /// Ticket counts per status under the same filters (status ignored), for the stats tiles.
    async fn ticket_counts(
        &self,
        ctx: &Context<'_>,
        filter: Option<TicketFilterInput>,
    ) -> Result<Vec<StatusCount>, DeskError> {
        let counts = desk(ctx).ticket_counts(actor(ctx)?, &to_filter(filter)?).await?;
        Ok(counts
            .into_iter()
            .map(|(status, n)| StatusCount { status: status.into(), count: n.count, count_capped: n.capped })
            .collect())
    }

    /// One ticket, by `id` or by `number` (`SD-00012`).
    async fn ticket(&self, ctx: &Context<'_>, id: Option<ID>, number: Option<String>) -> Result<Ticket, DeskError> {
        let a = actor(ctx)?;
        if a.contact_id().is_some() {
            return Err(DeskError::Forbidden("customers use myTicket".into()));
        }
        let t = match (id, number) {
            (Some(id), None) => desk(ctx).ticket(a, parse_id::<TicketId>(&id, "id")?).await?,
            (None, Some(n)) => desk(ctx).ticket_by_number(a, &n).await?,
            _ => return Err(DeskError::invalid("id", "give exactly one of id or number")),
        };
        Ok(Ticket(t))
    }

    /// The workspace's queues, default first.
    async fn queues(&self, ctx: &Context<'_>) -> Result<Vec<Queue>, DeskError> {
        Ok(desk(ctx).queues(actor(ctx)?).await?.into_iter().map(Queue).collect())
    }

    /// Help topics (customers see the active ones, for the new-ticket form).
    async fn help_topics(&self, ctx: &Context<'_>) -> Result<Vec<HelpTopic>, DeskError> {
        Ok(desk(ctx).help_topics(actor(ctx)?).await?.into_iter().map(HelpTopic).collect())
    }

    /// Reply templates.
    async fn canned_responses(&self, ctx: &Context<'_>) -> Result<Vec<CannedResponse>, DeskError> {
        Ok(desk(ctx).canned_responses(actor(ctx)?).await?.into_iter().map(CannedResponse).collect())
    }

    /// The workspace's staff.
    async fn users(&self, ctx: &Context<'_>) -> Result<Vec<User>, DeskError> {
        Ok(desk(ctx).users(actor(ctx)?).await?.into_iter().map(User).collect())
    }

    /// How staff members are known on channels (a chat user id), by staff member (admins).
    async fn staff_identities(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<crate::staff_identities::StaffIdentity>, DeskError> {
        let list = desk(ctx).staff_identities(actor(ctx)?).await?;
        Ok(list.into_iter().map(crate::staff_identities::StaffIdentity).collect())
    }

    /// Requesters matching a name or email fragment.
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        search: Option<String>,
        first: Option<i64>,
    ) -> Result<Vec<Contact>, DeskError> {
        Ok(desk(ctx)
            .contacts(actor(ctx)?, search.as_deref(), first.unwrap_or(25))
            .await?
            .into_iter()
            .map(Contact)
            .collect())
    }

    /// Integrator API tokens (admins).
    async fn api_tokens(&self, ctx: &Context<'_>) -> Result<Vec<ApiToken>, DeskError> {
        Ok(desk(ctx).list_api_tokens(actor(ctx)?).await?.into_iter().map(ApiToken).collect())
    }

    /// Renders a canned response, given by `id` or by `shortcut` (e.g. `refund-policy`), against
    /// a ticket as the caller would send it.
    async fn preview_canned_response(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        shortcut: Option<String>,
        ticket_id: ID,
    ) -> Result<String, DeskError> {
        let a = actor(ctx)?;
        let ticket = parse_id(&ticket_id, "ticketId")?;
        match (id, shortcut) {
            (Some(id), None) => desk(ctx).preview_canned_response(a, parse_id(&id, "id")?, ticket).await,
            (None, Some(s)) => desk(ctx).render_canned_shortcut(a, &s, ticket).await,
            _ => Err(DeskError::invalid("id", "give either id or shortcut")),
        }
    }

    /// The variables canned responses may use, e.g. `ticket.number` (write `{{ticket.number}}`).
    async fn canned_response_variables(&self, ctx: &Context<'_>) -> Result<Vec<&'static str>, DeskError> {
        if !actor(ctx)?.can(Permission::View) {
            return Err(DeskError::Forbidden(format!("this needs the {} permission", Permission::View.key())));
        }
        Ok(d::TEMPLATE_VARIABLES.to_vec())
    }

    /// Business-hours calendars.
    async fn calendars(&self, ctx: &Context<'_>) -> Result<Vec<Calendar>, DeskError> {
        desk(ctx).calendars(actor(ctx)?).await?.into_iter().map(Calendar::new).collect()
    }

    /// SLA policies.
    async fn sla_policies(&self, ctx: &Context<'_>) -> Result<Vec<SlaPolicy>, DeskError> {
        Ok(desk(ctx).sla_policies(actor(ctx)?).await?.into_iter().map(SlaPolicy).collect())
    }

    /// The workspace's SLA settings.
    async fn sla_settings(&self, ctx: &Context<'_>) -> Result<SlaSettings, DeskError> {
        let (d, a) = (desk(ctx), actor(ctx)?);
        // The version first: see `Desk::settings_version`.
        let v = d.settings_version(a, SettingsForm::Sla).await?;
        Ok(SlaSettings::new(d.sla_settings(a).await?, v))
    }

    /// The workspace's proactive follow-up and auto-close settings.
    async fn inactivity_settings(&self, ctx: &Context<'_>) -> Result<InactivitySettings, DeskError> {
        let (d, a) = (desk(ctx), actor(ctx)?);
        let v = d.settings_version(a, SettingsForm::Inactivity).await?;
        Ok(InactivitySettings::new(d.inactivity_settings(a).await?, v))
    }

    /// Tickets opened, SLA targets missed and tickets resolved per day for the last `days` days
    /// (today included, at most 90), by the workspace's calendar.
    async fn sla_trend(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 7)] days: i32,
    ) -> Result<Vec<SlaTrendDay>, DeskError> {
        let days = u32::try_from(days).map_err(|_| DeskError::invalid("days", "must be between 1 and 90"))?;
        Ok(desk(ctx).sla_trend(actor(ctx)?, days).await?.into_iter().map(SlaTrendDay::from).collect())
    }

    /// The service metrics of a period in the workspace's time zone (`from` and `to`,
    /// `YYYY-MM-DD`, for a custom one), narrowed by queue, help topic and channel; read from the
    /// daily rollups the job runner keeps. Supervisors and admins (`service-desk.reassign`).
    async fn insights(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "InsightPeriod::Last7Days")] period: InsightPeriod,
        from: Option<String>,
        to: Option<String>,
        filter: Option<InsightFilterInput>,
    ) -> Result<Insights, DeskError> {
        let a = actor(ctx)?;
        let (period, filter) = insight_args(period, from.as_deref(), to.as_deref(), filter)?;
        Ok(Insights(desk(ctx).insights(a, period, &filter).await?))
    }

    /// The workspace's messages after a ticket closes (CSAT request, post-close follow-up).
    async fn after_close_settings(&self, ctx: &Context<'_>) -> Result<AfterCloseSettings, DeskError> {
        let (d, a) = (desk(ctx), actor(ctx)?);
        let v = d.settings_version(a, SettingsForm::AfterClose).await?;
        Ok(AfterCloseSettings::new(d.after_close_settings(a).await?, v))
    }

    /// The workspace's manager alert thresholds.
    async fn manager_alert_settings(&self, ctx: &Context<'_>) -> Result<ManagerAlertSettings, DeskError> {
        let (d, a) = (desk(ctx), actor(ctx)?);
        let v = d.settings_version(a, SettingsForm::ManagerAlerts).await?;
        Ok(ManagerAlertSettings::new(d.manager_alert_settings(a).await?, v))
    }

    /// Routing rules, in the order they are tried.
    async fn routing_rules(&self, ctx: &Context<'_>) -> Result<Vec<RoutingRule>, DeskError> {
        Ok(desk(ctx).routing_rule_list(actor(ctx)?).await?.into_iter().map(RoutingRule).collect())
    }

    /// The automation rules in force, as the JSON array `saveAutomationRules` takes.
    async fn automation_rules(&self, ctx: &Context<'_>) -> Result<String, DeskError> {
        rules_json(&desk(ctx).automation_rules(actor(ctx)?).await?)
    }

    /// Where the automation rules' form stands: send `version` back with `saveAutomationRules`.
    /// Read it before (or with) `automationRules`.
    async fn automation_rules_version(&self, ctx: &Context<'_>) -> Result<FormVersion, DeskError> {
        Ok(desk(ctx).settings_version(actor(ctx)?, SettingsForm::AutomationRules).await?.into())
    }

    /// The automation rules in force, typed.
    async fn automation_rule_list(&self, ctx: &Context<'_>) -> Result<Vec<AutomationRule>, DeskError> {
        Ok(desk(ctx).automation_rules(actor(ctx)?).await?.into_iter().map(AutomationRule).collect())
    }

    /// Webhook endpoints (admins).
    async fn webhooks(&self, ctx: &Context<'_>) -> Result<Vec<Webhook>, DeskError> {
        Ok(desk(ctx).webhooks(actor(ctx)?).await?.into_iter().map(Webhook).collect())
    }

    /// Tickets flagged for quality review (up to 200), newest first; open flags only unless
    /// `includeResolved`.
    #[graphql(complexity = "200 * child_complexity")]
    async fn quality_flags(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(false)")] include_resolved: Option<bool>,
    ) -> Result<Vec<QualityFlag>, DeskError> {
        let flags = desk(ctx).quality_flags(actor(ctx)?, include_resolved.unwrap_or(false)).await?;
        Ok(flags.into_iter().map(QualityFlag).collect())
    }

    /// Suggested macros waiting for an admin's decision, most repeated first (admins).
    async fn macro_suggestions(&self, ctx: &Context<'_>) -> Result<Vec<MacroSuggestion>, DeskError> {
        Ok(desk(ctx).macro_suggestions(actor(ctx)?).await?.into_iter().map(MacroSuggestion).collect())
    }

    /// The newest notifications for managers (supervisors and admins); `first` up to 200.
    #[graphql(complexity = "first.unwrap_or(50).clamp(1, 200) as usize * child_complexity")]
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(50)")] first: Option<i64>,
    ) -> Result<Vec<Notification>, DeskError> {
        let list = desk(ctx).notifications(actor(ctx)?, first.unwrap_or(50)).await?;
        Ok(list.into_iter().map(Notification).collect())
    }

    /// The signed-in customer's own tickets, newest first; with `search`, those whose subject or
    /// public messages match, best first.
    #[graphql(complexity = "first.unwrap_or(25).clamp(1, 100) as usize * child_complexity")]
    async fn my_tickets(
        &self,
        ctx: &Context<'_>,
        status: Option<Vec<TicketStatus>>,
        search: Option<String>,
        first: Option<i64>,
        after: Option<String>,
    ) -> Result<MyTicketConnection, DeskError> {
        let a = actor(ctx)?;
        if a.contact_id().is_none() {
            return Err(DeskError::Forbidden("myTickets is the customer portal's view; staff use tickets".into()));
        }
        let filter = TicketFilter {
            statuses: status.unwrap_or_default().into_iter().map(Into::into).collect(),
            text: search,
            ..Default::default()
        };
        let page = desk(ctx).list_tickets(a, &filter, first.unwrap_or(25), after.as_deref()).await?;
        Ok(MyTicketConnection {
            page_info: page_info(&page),
            total_count: page.total,
            total_count_capped: page.total_capped,
            search_matches: crate::search::search_matches(page.snippets),
            nodes: page.tickets.into_iter().map(MyTicket).collect(),
        })
    }

    /// One of the signed-in customer's tickets, by `id` or `number`.
    async fn my_ticket(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        number: Option<String>,
    ) -> Result<MyTicket, DeskError> {
        let a = actor(ctx)?;
        if a.contact_id().is_none() {
            return Err(DeskError::Forbidden("myTicket is the customer portal's view; staff use ticket".into()));
        }
        let t = match (id, number) {
            (Some(id), None) => desk(ctx).ticket(a, parse_id::<TicketId>(&id, "id")?).await?,
            (None, Some(n)) => desk(ctx).ticket_by_number(a, &n).await?,
            _ => return Err(DeskError::invalid("id", "give exactly one of id or number")),
        };
        Ok(MyTicket(t))
    }
}
