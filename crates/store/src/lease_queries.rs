// Leases, included next to queries.rs in both dialect modules (see lib.rs): which process does a
// piece of background work that must not run twice at once (polling one channel account,
// processing one stored webhook notification) while several replicas share the database.

/// Takes the lease `name` for `holder` until `until`, or renews it when `holder` has it already;
/// false while another holder's lease runs (`expires_at` after `now`). One statement, so two
/// processes asking at once cannot both win: the unique key makes the second one wait for the
/// first, then re-checks the condition against the row as the first left it.
pub async fn take_lease(c: &mut Conn, name: &str, holder: &str, now: Millis, until: Millis) -> Result<bool> {
    let r = sqlx::query(
        "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $4) ON CONFLICT (name) DO UPDATE \
         SET holder = excluded.holder, expires_at = excluded.expires_at \
         WHERE leases.holder = excluded.holder OR leases.expires_at <= $3",
    )
    .bind(name)
    .bind(holder)
    .bind(now)
    .bind(until)
    .execute(&mut *c)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// Gives the lease back, if `holder` still has it.
pub async fn release_lease(c: &mut Conn, name: &str, holder: &str) -> Result<()> {
    sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2").bind(name).bind(holder).execute(&mut *c).await?;
    Ok(())
}

/// Forgets leases that ran out before `before` (their holders died or moved on).
pub async fn prune_leases(c: &mut Conn, before: Millis) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM leases WHERE expires_at < $1").bind(before).execute(&mut *c).await?.rows_affected())
}
