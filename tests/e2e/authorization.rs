//! The authorization matrix: every query and mutation, called by someone who must not reach
//! workspace A's ticket: an anonymous caller, a customer of A who is not the requester, and an
//! admin of another workspace. Each is refused or sees only its own data, nothing of A appears
//! in any response, and A's data is unchanged afterwards.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::support::*;

struct Op {
    name: &'static str,
    doc: &'static str,
    vars: Value,
}

/// Ids of workspace A's things that the operations aim at.
struct Targets {
    ticket: String,
    queue: String,
    topic: String,
    canned: String,
    user: String,
    contact: String,
    token: String,
    calendar: String,
    sla_policy: String,
    routing_rule: String,
    webhook: String,
    quality_flag: String,
    mailbox: String,
    email_message: String,
    whatsapp_number: String,
    staff_identity: String,
    discord_guild: String,
    knowledge_document: String,
    knowledge_folder: String,
    knowledge_source: String,
}

fn ops(t: &Targets, marker: &str) -> Vec<Op> {
    let op = |name, doc, vars| Op { name, doc, vars };
    vec![
        op(
            "login",
            "mutation($e: String!) { login(email: $e, password: \"wrong password\") { token } }",
            json!({ "e": format!("agent@{marker}.test") }),
        ),
        op(
            "customerLogin",
            "mutation($e: String!) { customerLogin(email: $e, password: \"wrong password\") { token } }",
            json!({ "e": format!("customer@{marker}.test") }),
        ),
        op(
            "requestCustomerSignInLink",
            "mutation($e: String!) { requestCustomerSignInLink(email: $e) }",
            json!({ "e": format!("customer@{marker}.test") }),
        ),
        op(
            "customerSignInWithLink",
            "mutation { customerSignInWithLink(token: \"sbl_guessed000000000000000000000000000000000000\") { token } }",
            json!({}),
        ),
        op("signOutEverywhere", "mutation { signOutEverywhere }", json!({})),
        op(
            "changePassword",
            "mutation { changePassword(currentPassword: \"wrong password\", newPassword: \"a new long password\") { token } }",
            json!({}),
        ),
        op("me", "{ me { kind name permissions } }", json!({})),
        op("tickets", "{ tickets { totalCount nodes { subject requester { email } } } }", json!({})),
        op("ticketCounts", "{ ticketCounts { status count } }", json!({})),
        op("ticket", "query($id: ID!) { ticket(id: $id) { subject entries { body } } }", json!({ "id": t.ticket })),
        op("queues", "{ queues { name members { email } } }", json!({})),
        op("helpTopics", "{ helpTopics { name } }", json!({})),
        op("cannedResponses", "{ cannedResponses { title body } }", json!({})),
        op("users", "{ users { email } }", json!({})),
        op("contacts", "{ contacts { email } }", json!({})),
        op("apiTokens", "{ apiTokens { name } }", json!({})),
        op("myTickets", "{ myTickets { totalCount nodes { subject } } }", json!({})),
        op("myTicket", "query($id: ID!) { myTicket(id: $id) { subject entries { body } } }", json!({ "id": t.ticket })),
        op(
            "openTicket",
            "mutation($c: ID!) { openTicket(input: { subject: \"x\", requester: { contactId: $c } }) { id } }",
            json!({ "c": t.contact }),
        ),
        op(
            "ingestMessage",
            "mutation { ingestMessage(input: { externalMessageId: \"m-1\", senderEmail: \"someone@example.com\", text: \"hello\" }) { opened } }",
            json!({}),
        ),
        op("reply", "mutation($t: ID!) { reply(ticketId: $t, body: \"hi\") { id } }", json!({ "t": t.ticket })),
        op("addNote", "mutation($t: ID!) { addNote(ticketId: $t, body: \"hi\") { id } }", json!({ "t": t.ticket })),
        op(
            "updateTicket",
            "mutation($t: ID!) { updateTicket(ticketId: $t, input: { priority: LOW }) { id } }",
            json!({ "t": t.ticket }),
        ),
        op(
            "bulkUpdateTickets",
            "mutation($t: ID!) { bulkUpdateTickets(ticketIds: [$t], input: { priority: LOW }) { ticket { subject } error { code message } } }",
            json!({ "t": t.ticket }),
        ),
        op("claimTicket", "mutation($t: ID!) { claimTicket(ticketId: $t) { id } }", json!({ "t": t.ticket })),
        op("unclaimTicket", "mutation($t: ID!) { unclaimTicket(ticketId: $t) { id } }", json!({ "t": t.ticket })),
        op(
            "closeTicket",
            "mutation($t: ID!) { closeTicket(ticketId: $t, reason: SPAM) { id } }",
            json!({ "t": t.ticket }),
        ),
        op("reopenTicket", "mutation($t: ID!) { reopenTicket(ticketId: $t) { id } }", json!({ "t": t.ticket })),
        op(
            "createMyTicket",
            "mutation { createMyTicket(subject: \"mine\", description: \"my own problem\") { id } }",
            json!({}),
        ),
        op(
            "replyToMyTicket",
            "mutation($t: ID!) { replyToMyTicket(ticketId: $t, body: \"hi\") { id } }",
            json!({ "t": t.ticket }),
        ),
        op(
            "rateMyTicket",
            "mutation($t: ID!) { rateMyTicket(ticketId: $t, rating: 1) { id } }",
            json!({ "t": t.ticket }),
        ),
        op(
            "createApiToken",
            "mutation { createApiToken(name: \"mine\", scopes: [\"service-desk.view\"]) { apiToken { name } } }",
            json!({}),
        ),
        op("revokeApiToken", "mutation($id: ID!) { revokeApiToken(id: $id) }", json!({ "id": t.token })),
        op(
            "createUser",
            "mutation { createUser(input: { email: \"new-agent@example.com\", name: \"New\", role: AGENT }) { id } }",
            json!({}),
        ),
        op(
            "updateUser",
            "mutation($id: ID!) { updateUser(id: $id, input: { active: false }) { id } }",
            json!({ "id": t.user }),
        ),
        op(
            "createContact",
            "mutation { createContact(input: { name: \"New\", email: \"new-contact@example.com\" }) { id } }",
            json!({}),
        ),
        op(
            "saveQueue",
            "mutation($id: ID) { saveQueue(id: $id, input: { name: \"Renamed\" }) { id } }",
            json!({ "id": t.queue }),
        ),
        op("deleteQueue", "mutation($id: ID!) { deleteQueue(id: $id) }", json!({ "id": t.queue })),
        op(
            "setQueueMember",
            "mutation($q: ID!, $u: ID!) { setQueueMember(queueId: $q, userId: $u, onBreak: true) { email } }",
            json!({ "q": t.queue, "u": t.user }),
        ),
        op(
            "removeQueueMember",
            "mutation($q: ID!, $u: ID!) { removeQueueMember(queueId: $q, userId: $u) { email } }",
            json!({ "q": t.queue, "u": t.user }),
        ),
        op(
            "saveHelpTopic",
            "mutation($id: ID) { saveHelpTopic(id: $id, input: { name: \"Renamed\" }) { id } }",
            json!({ "id": t.topic }),
        ),
        op(
            "saveCannedResponse",
            "mutation($id: ID) { saveCannedResponse(id: $id, input: { title: \"Renamed\", body: \"x\" }) { id } }",
            json!({ "id": t.canned }),
        ),
        op("deleteCannedResponse", "mutation($id: ID!) { deleteCannedResponse(id: $id) }", json!({ "id": t.canned })),
        op(
            "previewCannedResponse",
            "query($id: ID!, $t: ID!) { previewCannedResponse(id: $id, ticketId: $t) }",
            json!({ "id": t.canned, "t": t.ticket }),
        ),
        op("cannedResponseVariables", "{ cannedResponseVariables }", json!({})),
        op("calendars", "{ calendars { id name timeZone schedule { weekday opens closes } holidays } }", json!({})),
        op(
            "saveCalendar",
            "mutation($id: ID) { saveCalendar(id: $id, input: { name: \"Renamed\", timeZone: \"UTC\", schedule: [{ weekday: MONDAY, opens: \"09:00\", closes: \"17:00\" }] }) { id } }",
            json!({ "id": t.calendar }),
        ),
        op("slaPolicies", "{ slaPolicies { id name calendarId } }", json!({})),
        op(
            "saveSlaPolicy",
            "mutation($id: ID) { saveSlaPolicy(id: $id, input: { name: \"Renamed\", priority: LOW, firstResponseMinutes: 60, resolutionMinutes: 600 }) { id } }",
            json!({ "id": t.sla_policy }),
        ),
        op("deleteSlaPolicy", "mutation($id: ID!) { deleteSlaPolicy(id: $id) }", json!({ "id": t.sla_policy })),
        op("deleteCalendar", "mutation($id: ID!) { deleteCalendar(id: $id) }", json!({ "id": t.calendar })),
        op("slaSettings", "{ slaSettings { atRiskPercent alertOnBreach } }", json!({})),
        op(
            "saveSlaSettings",
            "mutation { saveSlaSettings(input: { atRiskPercent: 30, alertOnBreach: false }) { atRiskPercent } }",
            json!({}),
        ),
        op("inactivitySettings", "{ inactivitySettings { autoCloseDays staleAfterHours } }", json!({})),
        op(
            "saveInactivitySettings",
            "mutation { saveInactivitySettings(input: { autoCloseDays: 5, autoCloseCustomerOnly: true }) { autoCloseDays } }",
            json!({}),
        ),
        op("afterCloseSettings", "{ afterCloseSettings { csatRequestEnabled postCloseFollowUpDays } }", json!({})),
        op(
            "saveAfterCloseSettings",
            "mutation { saveAfterCloseSettings(input: { csatRequestEnabled: false, postCloseFollowUpDays: 2 }) { postCloseFollowUpDays } }",
            json!({}),
        ),
        op("managerAlertSettings", "{ managerAlertSettings { queueDepth escalationSpike } }", json!({})),
        op("slaTrend", "{ slaTrend(days: 7) { date opened breaches resolved } }", json!({})),
        op(
            "insights",
            "{ insights(period: LAST_30_DAYS) { from to opened closed reopenRate days { date opened closed backlog }
              volume { date channel helpTopicName opened closed } firstResponse { count medianMinutes p90Minutes }
              resolutionBusiness { medianMinutes } sla { target met missed rate } csat { rated satisfiedShare byRating { rating count } }
              staff { userId name closed claimed avgFirstResponseMinutes avgResolutionMinutes messages csatRate }
              bot { deflectionRate botResolved topQuestions tipsLearned knowledgeGaps } } }",
            json!({}),
        ),
        op(
            "saveManagerAlertSettings",
            "mutation { saveManagerAlertSettings(input: { queueDepth: 3 }) { queueDepth } }",
            json!({}),
        ),
        op("routingRules", "{ routingRules { id name clauses { value } actions { type } } }", json!({})),
        op(
            "saveRoutingRule",
            "mutation($id: ID) { saveRoutingRule(id: $id, input: { name: \"Renamed\", clauses: [{ field: TAG, op: IS, value: \"vip\" }], actions: [{ type: ESCALATE }] }) { id } }",
            json!({ "id": t.routing_rule }),
        ),
        op(
            "reorderRoutingRules",
            "mutation($id: ID!) { reorderRoutingRules(ruleIds: [$id]) { id } }",
            json!({ "id": t.routing_rule }),
        ),
        op("deleteRoutingRule", "mutation($id: ID!) { deleteRoutingRule(id: $id) }", json!({ "id": t.routing_rule })),
        op("automationRules", "{ automationRules }", json!({})),
        op("automationRuleList", "{ automationRuleList { id name } }", json!({})),
        op("automationRulesVersion", "{ automationRulesVersion { version updatedBy } }", json!({})),
        op("saveAutomationRules", "mutation { saveAutomationRules(rules: \"[]\") { saved rules } }", json!({})),
        op("webhooks", "{ webhooks { id name url deliveries { event } } }", json!({})),
        op(
            "saveWebhook",
            "mutation($id: ID) { saveWebhook(id: $id, input: { name: \"Renamed\", url: \"https://hooks.example.com/in\", events: [CSAT_NEGATIVE] }) { webhook { id } secret } }",
            json!({ "id": t.webhook }),
        ),
        op("deleteWebhook", "mutation($id: ID!) { deleteWebhook(id: $id) }", json!({ "id": t.webhook })),
        op("sendTestWebhook", "mutation($id: ID!) { sendTestWebhook(id: $id) }", json!({ "id": t.webhook })),
        op("whatsappNumbers", "{ whatsappNumbers { id phoneNumberId displayPhoneNumber } }", json!({})),
        op(
            "saveWhatsappNumber",
            "mutation($id: ID) { saveWhatsappNumber(id: $id, input: { phoneNumberId: \"5550001\", displayPhoneNumber: \"+1\", accessToken: \"stolen\" }) { id } }",
            json!({ "id": t.whatsapp_number }),
        ),
        op(
            "deleteWhatsappNumber",
            "mutation($id: ID!) { deleteWhatsappNumber(id: $id) }",
            json!({ "id": t.whatsapp_number }),
        ),
        op(
            "sendWhatsappTemplate",
            "mutation($id: ID!) { sendWhatsappTemplate(ticketId: $id) { id body } }",
            json!({ "id": t.ticket }),
        ),
        op("qualityFlags", "{ qualityFlags(includeResolved: true) { id reason ticket { subject } } }", json!({})),
        op(
            "resolveQualityFlag",
            "mutation($id: ID!) { resolveQualityFlag(id: $id) { id } }",
            json!({ "id": t.quality_flag }),
        ),
        op("notifications", "{ notifications { message } }", json!({})),
        op("macroSuggestions", "{ macroSuggestions { id body occurrences } }", json!({})),
        op(
            "acceptMacroSuggestion",
            "mutation($id: ID!) { acceptMacroSuggestion(id: $id, title: \"Stolen\", shortcut: \"stolen\") { id } }",
            json!({ "id": "999999" }),
        ),
        op(
            "dismissMacroSuggestion",
            "mutation($id: ID!) { dismissMacroSuggestion(id: $id) }",
            json!({ "id": "999999" }),
        ),
        op("staffIdentities", "{ staffIdentities { id userId channel externalId } }", json!({})),
        op(
            "linkStaffIdentity",
            "mutation($u: ID!) { linkStaffIdentity(userId: $u, channel: DISCORD, externalId: \"4711\") { id } }",
            json!({ "u": t.user }),
        ),
        op(
            "unlinkStaffIdentity",
            "mutation($id: ID!) { unlinkStaffIdentity(id: $id) }",
            json!({ "id": t.staff_identity }),
        ),
        op("discordGuilds", "{ discordGuilds { id guildId name } }", json!({})),
        op("discordGateway", "{ discordGateway { configured guilds { id name } } }", json!({})),
        op(
            "saveDiscordGuild",
            DISCORD_GUILD_SAVE,
            json!({ "id": t.discord_guild, "g": unique_guild_id(), "n": "Stolen", "t": t.topic }),
        ),
        op("createDiscordLinkCode", "mutation { createDiscordLinkCode { code expiresAt nextStep } }", json!({})),
        op(
            "deleteDiscordGuild",
            "mutation($id: ID!) { deleteDiscordGuild(id: $id) }",
            json!({ "id": t.discord_guild }),
        ),
        op("emailMailboxes", "{ emailMailboxes { id name address } }", json!({})),
        op(
            "saveEmailMailbox",
            "mutation($id: ID) { saveEmailMailbox(id: $id, input: { name: \"Stolen\", address: \"thief@example.com\", rotateInboundSecret: true }) { inboundSecret mailbox { id } } }",
            json!({ "id": t.mailbox }),
        ),
        op("deleteEmailMailbox", "mutation($id: ID!) { deleteEmailMailbox(id: $id) }", json!({ "id": t.mailbox })),
        op("emailMessages", "{ emailMessages { id reason subject } }", json!({})),
        op("emailOriginal", "query($id: ID!) { emailOriginal(id: $id) }", json!({ "id": t.email_message })),
        op("knowledgeFolders", "{ knowledgeFolders { id name } }", json!({})),
        op("knowledgeDocuments", "{ knowledgeDocuments { id title body } }", json!({})),
        op(
            "knowledgeDocument",
            "query($id: ID!) { knowledgeDocument(id: $id) { id title body versions { body } chunks { text } } }",
            json!({ "id": t.knowledge_document }),
        ),
        op(
            "knowledgeSearch",
            "query($q: String!) { knowledgeSearch(text: $q) { chunk { text documentTitle } } }",
            json!({ "q": format!("vault {marker}") }),
        ),
        op(
            "saveKnowledgeDocument",
            "mutation($id: ID) { saveKnowledgeDocument(input: { id: $id, title: \"Stolen\", body: \"mine\", format: TEXT }) { id } }",
            json!({ "id": t.knowledge_document }),
        ),
        op(
            "uploadKnowledgeDocuments",
            "mutation($f: ID) { uploadKnowledgeDocuments(files: [], folderId: $f) { id } }",
            json!({ "f": t.knowledge_folder }),
        ),
        op(
            "moveKnowledgeDocument",
            "mutation($id: ID!) { moveKnowledgeDocument(id: $id) { id } }",
            json!({ "id": t.knowledge_document }),
        ),
        op(
            "deleteKnowledgeDocument",
            "mutation($id: ID!) { deleteKnowledgeDocument(id: $id) }",
            json!({ "id": t.knowledge_document }),
        ),
        op(
            "revertKnowledgeDocument",
            "mutation($id: ID!) { revertKnowledgeDocument(id: $id, version: 1) { id } }",
            json!({ "id": t.knowledge_document }),
        ),
        op("knowledgeSources", "{ knowledgeSources { id url health lastError documentId } }", json!({})),
        op("knowledgeFreshnessAlerts", "{ knowledgeFreshnessAlerts { reason source { id url } } }", json!({})),
        op(
            "saveKnowledgeSource",
            "mutation($u: String!) { saveKnowledgeSource(input: { url: $u, refreshMinutes: 60 }) { id url } }",
            // Echoed back to a foreign admin in its own workspace: it must not carry A's marker.
            json!({ "u": "https://docs.example.com/handbook" }),
        ),
        op(
            "syncKnowledgeSource",
            "mutation($id: ID!) { syncKnowledgeSource(id: $id) { id url lastError } }",
            json!({ "id": t.knowledge_source }),
        ),
        op(
            "deleteKnowledgeSource",
            "mutation($id: ID!) { deleteKnowledgeSource(id: $id) }",
            json!({ "id": t.knowledge_source }),
        ),
        op(
            "setKnowledgeDocumentPublic",
            "mutation($id: ID!) { setKnowledgeDocumentPublic(id: $id, public: true) { id body } }",
            json!({ "id": t.knowledge_document }),
        ),
        op("helpCenterFolders", "{ helpCenterFolders { id name } }", json!({})),
        op("helpCenterArticles", "{ helpCenterArticles { id title body } }", json!({})),
        op(
            "helpCenterArticle",
            "query($id: ID!) { helpCenterArticle(id: $id) { id title body } }",
            json!({ "id": t.knowledge_document }),
        ),
        op(
            "helpCenterSearch",
            "query($q: String!) { helpCenterSearch(text: $q) { articleId title fragments { text } } }",
            json!({ "q": format!("vault {marker}") }),
        ),
        op("backgroundJobs", "{ backgroundJobs { id kind state subject error } }", json!({})),
        op("reindexSearch", "mutation { reindexSearch { id state subject } }", json!({})),
        op("createKnowledgeFolder", "mutation { createKnowledgeFolder(name: \"Stolen\") { id } }", json!({})),
        op(
            "playground",
            "query($q: String!) { playground(question: $q) { answer decision confidence reasons sources { kind id title heading excerpt score link } } }",
            json!({ "q": "What is the vault code?" }),
        ),
        op(
            "answerSettings",
            "{ answerSettings { botEnabled confidenceThreshold voice staffReplyCooldownMinutes chatModel } }",
            json!({}),
        ),
        op(
            "updateAnswerSettings",
            "mutation { updateAnswerSettings(input: { botEnabled: true, confidenceThreshold: 90, voice: \"Curt.\", staffReplyCooldownMinutes: 5 }) { botEnabled voice } }",
            json!({}),
        ),
        op("knowledgeGaps", "{ knowledgeGaps { id ticketId question confidence reasons createdAt } }", json!({})),
        op("dismissKnowledgeGaps", "mutation { dismissKnowledgeGaps(ids: [\"1\"]) }", json!({})),
        op("requestHuman", "mutation($t: ID!) { requestHuman(ticketId: $t) { id } }", json!({ "t": t.ticket })),
        op(
            "deleteKnowledgeFolder",
            "mutation($id: ID!) { deleteKnowledgeFolder(id: $id) }",
            json!({ "id": t.knowledge_folder }),
        ),
    ]
}

/// Links a Discord guild (`id` null) or changes a link, with one ticket type on help topic `t`.
const DISCORD_GUILD_SAVE: &str = "mutation($id: ID, $g: String!, $n: String!, $t: ID!) { saveDiscordGuild(id: $id, input: {
    guildId: $g, name: $n, enabled: true, panelChannelId: \"310000000000000001\", staffRoleIds: [], managementRoleIds: [],
    sequentialNames: true, ticketTypes: [{ key: \"general\", helpTopicId: $t, label: \"General\", categoryId: \"310000000000000002\",
    enabled: true, roleIds: [], openLimit: 0, askSubject: true, askDescription: true }] }) { id } }";

/// A guild no workspace of the shared test server has linked (a guild has one workspace), with
/// the bot in it on the server's Discord double.
fn unique_guild_id() -> String {
    crate::support::discord_guild("Authorization matrix").to_string()
}

/// What a caller may get: refused with one of these codes, or an answer about its own data.
#[derive(Debug)]
enum Expect {
    Refused(&'static [&'static str]),
    OwnDataOnly,
}

const PUBLIC: &[&str] = &["login", "customerLogin", "requestCustomerSignInLink", "customerSignInWithLink"];
/// Acting on the caller's own account only (so nothing of workspace A to reach), and signing
/// the matrix's callers out would end the run: refused to anonymous callers here, the rest in
/// tokens.rs.
const CALLER_ONLY: &[&str] = &["signOutEverywhere", "changePassword"];
/// The customer surface, and what every caller may ask about itself.
const CUSTOMER_OWN: &[&str] =
    &["me", "myTickets", "helpTopics", "createMyTicket", "helpCenterFolders", "helpCenterArticles", "helpCenterSearch"];
/// Workspace A's document is not public: not in its customers' help center, nor in anyone else's.
const NOT_PUBLIC: &[&str] = &["helpCenterArticle"];
const CUSTOMER_ON_TICKET: &[&str] = &["myTicket", "replyToMyTicket", "rateMyTicket", "requestHuman"];
/// Reads and creations that act on the caller's own workspace.
const WORKSPACE_OWN: &[&str] = &[
    "me",
    "tickets",
    "ticketCounts",
    "queues",
    "helpTopics",
    "cannedResponses",
    "users",
    "contacts",
    "apiTokens",
    "ingestMessage",
    "createApiToken",
    "createUser",
    "createContact",
    "cannedResponseVariables",
    "calendars",
    "slaPolicies",
    "slaSettings",
    "saveSlaSettings",
    "inactivitySettings",
    "saveInactivitySettings",
    "afterCloseSettings",
    "saveAfterCloseSettings",
    "managerAlertSettings",
    "slaTrend",
    "insights",
    "saveManagerAlertSettings",
    "routingRules",
    "automationRules",
    "automationRuleList",
    "automationRulesVersion",
    "saveAutomationRules",
    "webhooks",
    "whatsappNumbers",
    "qualityFlags",
    "notifications",
    "macroSuggestions",
    "emailMailboxes",
    "emailMessages",
    "staffIdentities",
    "discordGuilds",
    "discordGateway",
    // A link code for the caller's own workspace.
    "createDiscordLinkCode",
    "knowledgeFolders",
    "knowledgeDocuments",
    "knowledgeSearch",
    "createKnowledgeFolder",
    "knowledgeSources",
    "knowledgeFreshnessAlerts",
    "saveKnowledgeSource",
    "playground",
    "answerSettings",
    "updateAnswerSettings",
    "knowledgeGaps",
    "helpCenterFolders",
    "helpCenterArticles",
    "helpCenterSearch",
    "backgroundJobs",
    "reindexSearch",
];

fn expect_anonymous(name: &str) -> Expect {
    // Asking for a sign-in link answers `true` to anyone, for any address: it reveals nothing.
    // A document larger than an anonymous caller's budget is refused before it runs.
    if name == "requestCustomerSignInLink" {
        Expect::OwnDataOnly
    } else {
        Expect::Refused(&["UNAUTHENTICATED", "QUERY_TOO_LARGE"])
    }
}

fn expect_other_customer(name: &str) -> Expect {
    if CUSTOMER_OWN.contains(&name) {
        Expect::OwnDataOnly
    } else if CUSTOMER_ON_TICKET.contains(&name) || NOT_PUBLIC.contains(&name) {
        Expect::Refused(&["NOT_FOUND"])
    } else {
        Expect::Refused(&["FORBIDDEN"])
    }
}

fn expect_foreign_admin(name: &str) -> Expect {
    if WORKSPACE_OWN.contains(&name) {
        Expect::OwnDataOnly
    } else if CUSTOMER_ON_TICKET.contains(&name) || ["myTickets", "createMyTicket"].contains(&name) {
        Expect::Refused(&["FORBIDDEN"])
    } else if name == "bulkUpdateTickets" {
        // Bulk results report per ticket; the foreign ticket's entry must be NOT_FOUND.
        Expect::OwnDataOnly
    } else {
        Expect::Refused(&["NOT_FOUND", "VALIDATION"])
    }
}

async fn snapshot(admin: &str, ticket_id: &str) -> Value {
    let q = "query($id: ID!) { ticket(id: $id) { subject status priority assignee { id } updatedAt entries { body } history { field } }
        queues { id name isDefault members { email onBreak } } helpTopics { id name } cannedResponses { id title }
        users { id active } apiTokens { id revokedAt }
        calendars { id name } slaPolicies { id name } slaSettings { atRiskPercent alertOnBreach }
        inactivitySettings { autoCloseDays autoCloseCustomerOnly staleAfterHours }
        afterCloseSettings { csatRequestEnabled postCloseFollowUpDays } managerAlertSettings { queueDepth }
        routingRules { id name position } automationRules webhooks { id name enabled deliveries { id } }
        whatsappNumbers { id phoneNumberId displayPhoneNumber templateName updatedAt }
        qualityFlags(includeResolved: true) { id resolvedAt } emailMailboxes { id name address }
        staffIdentities { id userId channel externalId } discordGuilds { id guildId name enabled panelChannelId }
        knowledgeFolders { id name } knowledgeDocuments { id title body version folderId public }
        knowledgeSources { id url refreshMinutes }
        answerSettings { botEnabled confidenceThreshold voice staffReplyCooldownMinutes } }";
    ok(admin, q, json!({ "id": ticket_id })).await
}

#[tokio::test]
async fn every_operation_is_refused_or_scoped_for_outsiders() {
    let a = workspace().await;
    let b = workspace().await;
    let marker = a.slug.clone();
    let secret = format!("Secret payroll export {marker}");
    let t = open_ticket(&a, &secret).await;
    let ticket_id = t["id"].as_str().unwrap().to_string();
    ok(
        &a.agent,
        "mutation($t: ID!) { addNote(ticketId: $t, body: \"internal: customer owes 12k\") { id } }",
        json!({ "t": ticket_id }),
    )
    .await;
    let cfg = ok(
        &a.admin,
        "{ queues { id } helpTopics { id } cannedResponses { id } users { id email } contacts { id email } }",
        json!({}),
    )
    .await;
    let token = ok(
        &a.admin,
        "mutation { createApiToken(name: \"crm\", scopes: [\"service-desk.view\"]) { apiToken { id } } }",
        json!({}),
    )
    .await;
    let targets = Targets {
        ticket: ticket_id.clone(),
        queue: cfg["queues"][0]["id"].as_str().unwrap().into(),
        topic: cfg["helpTopics"][0]["id"].as_str().unwrap().into(),
        canned: cfg["cannedResponses"][0]["id"].as_str().unwrap().into(),
        user: cfg["users"].as_array().unwrap().iter().find(|u| u["email"] == a.email("agent")).unwrap()["id"]
            .as_str()
            .unwrap()
            .into(),
        contact: cfg["contacts"][0]["id"].as_str().unwrap().into(),
        token: token["createApiToken"]["apiToken"]["id"].as_str().unwrap().into(),
        calendar: String::new(),
        sla_policy: String::new(),
        routing_rule: String::new(),
        webhook: String::new(),
        quality_flag: String::new(),
        mailbox: String::new(),
        email_message: String::new(),
        whatsapp_number: String::new(),
        staff_identity: String::new(),
        discord_guild: String::new(),
        knowledge_document: String::new(),
        knowledge_folder: String::new(),
        knowledge_source: String::new(),
    };
    let support = ok(
        &a.admin,
        "mutation { saveCalendar(input: { name: \"Office\", timeZone: \"UTC\", schedule: [{ weekday: MONDAY, opens: \"09:00\", closes: \"17:00\" }] }) { id }
            saveRoutingRule(input: { name: \"VIP\", clauses: [{ field: TAG, op: IS, value: \"vip\" }], actions: [{ type: ESCALATE }] }) { id }
            saveWebhook(input: { name: \"CRM\", url: \"https://hooks.example.com/in\", events: [CSAT_NEGATIVE] }) { webhook { id } } }",
        json!({}),
    )
    .await;
    let policy = ok(
        &a.admin,
        "mutation($c: ID) { saveSlaPolicy(input: { name: \"Urgent\", priority: URGENT, firstResponseMinutes: 30, resolutionMinutes: 240, calendarId: $c }) { id } }",
        json!({ "c": support["saveCalendar"]["id"] }),
    )
    .await;
    ok(
        &a.agent,
        "mutation($t: ID!) { updateTicket(ticketId: $t, input: { escalated: true }) { id } }",
        json!({ "t": ticket_id }),
    )
    .await;
    let flags = ok(&a.admin, "{ qualityFlags { id } }", json!({})).await;
    let mailbox = ok(
        &a.admin,
        "mutation($a: String!) { saveEmailMailbox(input: { name: \"Help\", address: $a }) { inboundSecret mailbox { id } } }",
        json!({ "a": format!("help@{marker}.test") }),
    )
    .await["saveEmailMailbox"]
        .clone();
    let mailbox_id = mailbox["mailbox"]["id"].as_str().unwrap().to_string();
    // A message that cannot be parsed, so the quarantine has an entry to aim at.
    let status = client()
        .post(format!("{}/inbound/email/{mailbox_id}", server().url))
        .bearer_auth(mailbox["inboundSecret"].as_str().unwrap())
        .body(format!("To: help@{marker}.test\r\nSubject: {secret}\r\n\r\nno sender\r\n"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 422);
    let quarantined = ok(&a.admin, "{ emailMessages { id } }", json!({})).await;
    let number = ok(
        &a.admin,
        "mutation { saveWhatsappNumber(input: { phoneNumberId: \"5550001\", displayPhoneNumber: \"+1 555\", accessToken: \"a-token\", templateName: \"hello_world\", templateLanguage: \"en_US\" }) { id } }",
        json!({}),
    )
    .await;
    let linked = ok(
        &a.admin,
        "mutation($u: ID!, $x: String!) { linkStaffIdentity(userId: $u, channel: DISCORD, externalId: $x) { id } }",
        json!({ "u": targets.user, "x": format!("discord-{marker}") }),
    )
    .await;
    let guild = ok(
        &a.admin,
        DISCORD_GUILD_SAVE,
        json!({ "id": null, "g": unique_guild_id(), "n": format!("Guild {marker}"), "t": targets.topic }),
    )
    .await;
    let folder = ok(&a.admin, "mutation { createKnowledgeFolder(name: \"Runbooks\") { id } }", json!({})).await;
    let folder_id = folder["createKnowledgeFolder"]["id"].as_str().unwrap().to_string();
    let document = ok(
        &a.admin,
        "mutation($f: ID, $b: String!) { saveKnowledgeDocument(input: { title: \"Vault\", body: $b, format: MARKDOWN, folderId: $f }) { id } }",
        json!({ "f": folder_id, "b": format!("# Vault\nThe vault {marker} code is 1234") }),
    )
    .await;
    let knowledge_source = ok(
        &a.admin,
        "mutation($u: String!) { saveKnowledgeSource(input: { url: $u }) { id } }",
        json!({ "u": format!("https://wiki.example.com/{marker}") }),
    )
    .await;
    let targets = Targets {
        knowledge_source: knowledge_source["saveKnowledgeSource"]["id"].as_str().unwrap().into(),
        knowledge_document: document["saveKnowledgeDocument"]["id"].as_str().unwrap().into(),
        knowledge_folder: folder_id,
        calendar: support["saveCalendar"]["id"].as_str().unwrap().into(),
        sla_policy: policy["saveSlaPolicy"]["id"].as_str().unwrap().into(),
        routing_rule: support["saveRoutingRule"]["id"].as_str().unwrap().into(),
        webhook: support["saveWebhook"]["webhook"]["id"].as_str().unwrap().into(),
        quality_flag: flags["qualityFlags"][0]["id"].as_str().unwrap().into(),
        mailbox: mailbox_id,
        email_message: quarantined["emailMessages"][0]["id"].as_str().unwrap().into(),
        whatsapp_number: number["saveWhatsappNumber"]["id"].as_str().unwrap().into(),
        staff_identity: linked["linkStaffIdentity"]["id"].as_str().unwrap().into(),
        discord_guild: guild["saveDiscordGuild"]["id"].as_str().unwrap().into(),
        ..targets
    };
    let before = snapshot(&a.admin, &ticket_id).await;
    let operations = ops(&targets, &marker);

    // The matrix covers the whole schema: a new root field without an entry fails here.
    // Introspection needs a signed-in caller.
    let schema = gql(
        Some(&a.admin),
        "{ __schema { queryType { fields { name } } mutationType { fields { name } } } }",
        json!({}),
    )
    .await;
    let mut fields = BTreeSet::new();
    for root in ["queryType", "mutationType"] {
        for f in schema["data"]["__schema"][root]["fields"].as_array().unwrap() {
            fields.insert(f["name"].as_str().unwrap().to_string());
        }
    }
    let covered: BTreeSet<String> = operations.iter().map(|o| o.name.to_string()).collect();
    assert_eq!(covered, fields, "every query and mutation has a row in the matrix");

    type Caller<'a> = (&'a str, Option<&'a str>, fn(&str) -> Expect);
    let callers: [Caller; 3] = [
        ("anonymous", None, expect_anonymous),
        ("other customer", Some(&a.other_customer), expect_other_customer),
        ("admin of another workspace", Some(&b.admin), expect_foreign_admin),
    ];
    for (who, token, expect) in callers {
        for op in &operations {
            if (PUBLIC.contains(&op.name) || CALLER_ONLY.contains(&op.name)) && token.is_some() {
                continue;
            }
            let body = gql(token, op.doc, op.vars.clone()).await;
            let text = body.to_string();
            assert!(
                !text.contains(&marker) && !text.contains("12k"),
                "{who} / {}: workspace A leaked: {text}",
                op.name
            );
            match expect(op.name) {
                Expect::Refused(codes) => {
                    let (code, _, _) = error_of(&body);
                    assert!(
                        codes.contains(&code.as_str()),
                        "{who} / {}: expected one of {codes:?}, got {text}",
                        op.name
                    );
                    assert!(
                        body["data"].is_null()
                            || body["data"].as_object().is_some_and(|d| d.values().all(Value::is_null)),
                        "{who} / {}: data with a refusal: {text}",
                        op.name
                    );
                    assert!(
                        !text.contains("panicked") && !text.contains("src/"),
                        "{who} / {}: internals in the error: {text}",
                        op.name
                    );
                }
                Expect::OwnDataOnly => {
                    assert!(
                        body.get("errors").is_none() || op.name == "bulkUpdateTickets",
                        "{who} / {}: refused its own data: {text}",
                        op.name
                    );
                    if op.name == "bulkUpdateTickets" {
                        assert_eq!(body["data"]["bulkUpdateTickets"][0]["error"]["code"], "NOT_FOUND", "{text}");
                    }
                }
            }
        }
    }
    // Wrong password and unknown account read the same.
    let unknown = gql(
        None,
        "mutation { login(email: \"nobody@example.com\", password: \"wrong password\") { token } }",
        json!({}),
    )
    .await;
    let known = gql(None, operations[0].doc, operations[0].vars.clone()).await;
    assert_eq!(error_of(&unknown).2, error_of(&known).2);

    assert_eq!(snapshot(&a.admin, &ticket_id).await, before, "workspace A is unchanged");
}

#[tokio::test]
async fn agents_cannot_administer_and_bad_tokens_are_refused() {
    let ws = workspace().await;
    for doc in [
        "mutation { saveQueue(input: { name: \"Mine\" }) { id } }",
        "mutation { createUser(input: { email: \"x@example.com\", name: \"X\", role: ADMIN }) { id } }",
        "mutation { createApiToken(name: \"t\", scopes: [\"service-desk.admin\"]) { token } }",
        "{ apiTokens { id } }",
        "mutation { createDiscordLinkCode { code } }",
    ] {
        assert_error(&gql(Some(&ws.agent), doc, json!({})).await, "FORBIDDEN", None);
        assert_error(&gql(Some(&ws.supervisor), doc, json!({})).await, "FORBIDDEN", None);
    }
    for bad in ["garbage", "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl", "sbt_notarealtoken"] {
        let (status, body) = gql_status(Some(bad), "{ me { name } }", json!({})).await;
        assert_eq!(status, 401);
        assert_error(&body, "UNAUTHENTICATED", None);
    }
}
