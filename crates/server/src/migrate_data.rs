//! `switchboard migrate-data`: moves an installation from SQLite to PostgreSQL (the copy itself
//! is `switchboard_store::migrate_data`), with a progress bar on a terminal and a summary.

use std::path::PathBuf;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use switchboard_desk::BlobStore;
use switchboard_desk::store::Store;
use switchboard_desk::store::migrate_data::{MigrationReport, Progress, TableOutcome, migrate_data};

/// What the command was asked to do.
#[derive(Debug)]
pub struct MigrateDataArgs {
    pub from: String,
    pub to: String,
    /// Where the installation's attachment files are.
    pub attachments_from: PathBuf,
    /// Where to copy them; `None` leaves them where they are.
    pub copy_attachments_to: Option<PathBuf>,
}

/// Runs the copy and prints its summary.
pub async fn run(args: MigrateDataArgs) -> anyhow::Result<()> {
    if !args.from.starts_with("sqlite:") {
        anyhow::bail!("--from must be a SQLite database URL (sqlite://PATH), got {:?}", scheme(&args.from));
    }
    if !(args.to.starts_with("postgres:") || args.to.starts_with("postgresql:")) {
        anyhow::bail!("--to must be a PostgreSQL database URL (postgres://USER@HOST/DB), got {:?}", scheme(&args.to));
    }
    let path = args.from.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = path.split('?').next().unwrap_or_default();
    if !std::path::Path::new(path).is_file() {
        anyhow::bail!("--from: no SQLite database at {path}");
    }
    if let Some(dest) = &args.copy_attachments_to
        && dest == &args.attachments_from
    {
        anyhow::bail!("--copy-attachments-to is the directory the attachments already are in");
    }
    let from = Store::connect(&args.from).await.context("opening the source (--from)")?;
    let to = Store::connect(&args.to).await.context("connecting to the target (--to)")?;

    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} rows  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut on_progress = |p: Progress<'_>| match p {
        Progress::Planned { tables, rows } => {
            bar.set_length(rows);
            bar.println(format!("copying {rows} rows in {tables} tables into one transaction"));
        }
        Progress::Table { table, .. } => bar.set_message(table.to_string()),
        Progress::Rows(n) => bar.inc(n),
        Progress::Verifying => bar.set_message("comparing row counts, committing"),
    };
    let result = migrate_data(&from, &to, &mut on_progress).await;
    bar.finish_and_clear();
    from.close().await;
    to.close().await;
    let report = result.context("migrate-data stopped; no rows were written to the target")?;
    print_summary(&report);

    let source = BlobStore::new(&args.attachments_from);
    match &args.copy_attachments_to {
        None => println!(
            "attachments: left in {} (point the new server's SWITCHBOARD_ATTACHMENTS_DIR there, or copy them)",
            args.attachments_from.display()
        ),
        Some(dest) => {
            let copied = copy_blobs(&source, &BlobStore::new(dest)).await?;
            println!("attachments: {copied} files copied to {} (each checked against its SHA-256)", dest.display());
        }
    }
    Ok(())
}

fn scheme(url: &str) -> &str {
    url.split(':').next().unwrap_or_default()
}

fn print_summary(report: &MigrationReport) {
    println!("{:<32} {:>10}  what", "table", "rows");
    for t in &report.tables {
        let (rows, what) = match &t.outcome {
            TableOutcome::Copied { rows } => (*rows, "copied, count verified".to_string()),
            TableOutcome::FilledByTarget { source_rows, target_rows } => {
                (*target_rows, format!("kept by the target's triggers ({source_rows} rows in the source)"))
            }
            TableOutcome::NotCopied { rows, reason } => (*rows, format!("not copied: {reason}")),
            TableOutcome::TargetOnly { rows } => (*rows, "only in the target schema".to_string()),
        };
        println!("{:<32} {:>10}  {what}", t.table, rows);
    }
    let copied = report.tables.iter().filter(|t| matches!(t.outcome, TableOutcome::Copied { .. })).count();
    println!(
        "migrate-data: {} rows in {copied} tables copied and verified; {} id sequences moved past the copied ids",
        report.rows_copied(),
        report.sequences_reset
    );
}

/// Copies every blob of `from` into `to`; `put` hashes the bytes again, so a file whose content
/// no longer matches its name (a damaged disk) is reported rather than copied under that name.
async fn copy_blobs(from: &BlobStore, to: &BlobStore) -> anyhow::Result<usize> {
    let shas = from.list().await.context("listing the attachments (--attachments-from)")?;
    let bar = ProgressBar::with_draw_target(Some(shas.len() as u64), ProgressDrawTarget::stderr());
    let mut damaged = Vec::new();
    for sha in &shas {
        let bytes = from.get(sha).await.with_context(|| format!("reading attachment {sha}"))?;
        let stored = to.put(&bytes).await.with_context(|| format!("writing attachment {sha}"))?;
        if &stored != sha {
            damaged.push(sha.clone());
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if !damaged.is_empty() {
        anyhow::bail!(
            "{} attachment files do not match their SHA-256 (damaged on disk): {}",
            damaged.len(),
            damaged.join(", ")
        );
    }
    Ok(shas.len())
}
