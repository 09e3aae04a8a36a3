// The answer bot's queries, included next to queries.rs in both dialect modules (see lib.rs).
// Every statement is scoped to a workspace.

use crate::answer_records::*;

const BOT_TURN_COLUMNS: &str = "id, workspace_id, ticket_id, entry_id, question, decision, confidence, reasons, \
     reply_entry_id, gap_dismissed_at, created_at";

pub async fn answer_settings(c: &mut Conn, ws: WorkspaceId) -> Result<Option<AnswerSettingsRecord>> {
    Ok(sqlx::query_as(
        "SELECT workspace_id, bot_enabled, confidence_threshold, voice, staff_reply_cooldown_minutes, updated_at \
         FROM answer_settings WHERE workspace_id = $1",
    )
    .bind(ws)
    .fetch_optional(&mut *c)
    .await?)
}

pub async fn save_answer_settings(c: &mut Conn, s: &AnswerSettingsRecord) -> Result<()> {
    sqlx::query(
        "INSERT INTO answer_settings (workspace_id, bot_enabled, confidence_threshold, voice, \
         staff_reply_cooldown_minutes, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (workspace_id) DO UPDATE SET bot_enabled = $2, confidence_threshold = $3, voice = $4, \
         staff_reply_cooldown_minutes = $5, updated_at = $6",
    )
    .bind(s.workspace_id)
    .bind(s.bot_enabled)
    .bind(s.confidence_threshold)
    .bind(&s.voice)
    .bind(s.staff_reply_cooldown_minutes)
    .bind(s.updated_at)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Records a turn; `None` when the entry has one already (the message was considered before).
pub async fn insert_bot_turn(c: &mut Conn, t: &NewBotTurn) -> Result<Option<i64>> {
    let row = sqlx::query(
        "INSERT INTO bot_turns (workspace_id, ticket_id, entry_id, question, decision, confidence, reasons, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (entry_id) DO NOTHING RETURNING id",
    )
    .bind(t.workspace_id)
    .bind(t.ticket_id)
    .bind(t.entry_id)
    .bind(&t.question)
    .bind(&t.decision)
    .bind(t.confidence)
    .bind(&t.reasons)
    .bind(t.created_at)
    .fetch_optional(&mut *c)
    .await?;
    Ok(row.map(|r| r.get::<i64, _>(0)))
}

pub async fn set_bot_turn_reply(c: &mut Conn, ws: WorkspaceId, id: i64, reply: EntryId) -> Result<()> {
    sqlx::query("UPDATE bot_turns SET reply_entry_id = $3 WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id)
        .bind(reply)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// A ticket's turns, oldest first.
pub async fn bot_turns_of_ticket(c: &mut Conn, ws: WorkspaceId, ticket: TicketId) -> Result<Vec<BotTurnRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "SELECT {BOT_TURN_COLUMNS} FROM bot_turns WHERE workspace_id = $1 AND ticket_id = $2 ORDER BY id"
    ))
    .bind(ws)
    .bind(ticket)
    .fetch_all(&mut *c)
    .await?)
}

/// Escalated turns not dismissed, newest first: the knowledge gaps.
pub async fn knowledge_gaps(c: &mut Conn, ws: WorkspaceId, limit: i64) -> Result<Vec<BotTurnRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "SELECT {BOT_TURN_COLUMNS} FROM bot_turns WHERE workspace_id = $1 AND decision = 'escalate' \
         AND gap_dismissed_at IS NULL ORDER BY created_at DESC, id DESC LIMIT $2"
    ))
    .bind(ws)
    .bind(limit)
    .fetch_all(&mut *c)
    .await?)
}

/// Dismisses knowledge gaps; false when none of them is an open gap of the workspace.
pub async fn dismiss_knowledge_gaps(c: &mut Conn, ws: WorkspaceId, ids: &[i64], now: Millis) -> Result<bool> {
    let mut q = QueryBuilder::<Db>::new("UPDATE bot_turns SET gap_dismissed_at = ");
    q.push_bind(now).push(" WHERE workspace_id = ").push_bind(ws);
    q.push(" AND decision = 'escalate' AND gap_dismissed_at IS NULL AND id IN (");
    let mut sep = q.separated(", ");
    for id in ids {
        sep.push_bind(*id);
    }
    sep.push_unseparated(")");
    Ok(q.build().execute(&mut *c).await?.rows_affected() > 0)
}

/// Which of `entries` the bot wrote.
pub async fn bot_entries(c: &mut Conn, ws: WorkspaceId, entries: &[EntryId]) -> Result<Vec<EntryId>> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::<Db>::new("SELECT reply_entry_id FROM bot_turns WHERE workspace_id = ");
    q.push_bind(ws).push(" AND reply_entry_id IN (");
    let mut sep = q.separated(", ");
    for e in entries {
        sep.push_bind(*e);
    }
    sep.push_unseparated(")");
    let rows = q.build().fetch_all(&mut *c).await?;
    Ok(rows.iter().map(|r| r.get::<EntryId, _>(0)).collect())
}
