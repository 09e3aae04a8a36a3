// Discord, included next to queries.rs in both dialect modules (see lib.rs).

/// The Discord ticket whose private channel is `channel_id` (its thread key), with its workspace.
/// Until guilds are channel accounts this looks across workspaces; a Discord channel id is
/// unique on Discord, and only a Discord ticket carries one as its thread key.
pub async fn discord_ticket_by_channel(c: &mut Conn, channel_id: &str) -> Result<Option<(WorkspaceId, TicketId)>> {
    Ok(sqlx::query_as("SELECT workspace_id, id FROM tickets WHERE thread_key = $1 AND source = 'discord'")
        .bind(channel_id)
        .fetch_optional(&mut *c)
        .await?)
}
