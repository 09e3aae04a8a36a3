//! Settings: command-line flags, then environment variables, then an optional config file of
//! `KEY=VALUE` lines (the same names as the environment), then the embedded defaults.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use secrecy::SecretString;

/// Options shared by every subcommand; each also reads the environment variable it names.
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// A file of KEY=VALUE lines with any of the settings below.
    #[arg(long, env = "SWITCHBOARD_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Where the SQLite file, attachments and keys live [default: ./data].
    #[arg(long, env = "SWITCHBOARD_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// `sqlite://PATH` or `postgres://USER@HOST/DB`; overrides the data dir's SQLite file.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// HMAC key for access tokens [default: generated once and kept in the data dir].
    #[arg(long, env = "SWITCHBOARD_JWT_SECRET", global = true, hide_env_values = true)]
    pub jwt_secret: Option<String>,
}

/// Fully resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub jwt_secret: SecretString,
    /// Access tokens live this long, in seconds.
    pub token_ttl_secs: i64,
    /// Hosts and networks that tenants' webhooks and mail servers may reach although they are
    /// not public (`SWITCHBOARD_OUTBOUND_ALLOW`); empty: public addresses only.
    pub outbound_allow: switchboard_desk::domain::OutboundPolicy,
    /// Where attachment files live: `SWITCHBOARD_ATTACHMENTS_DIR` (shared between replicas over a
    /// network file system, or `<data dir>/attachments`), or an S3-compatible bucket.
    pub attachments: switchboard_desk::BlobStore,
    /// The embedded search index (`SWITCHBOARD_SEARCH_DIR`, else `<data dir>/search`).
    pub search_dir: PathBuf,
    /// The Meilisearch server to search with instead (`SWITCHBOARD_MEILISEARCH_URL`).
    pub meilisearch: Option<MeilisearchSettings>,
    /// Time limit of one knowledge URL source fetch, redirects included
    /// (`SWITCHBOARD_KNOWLEDGE_FETCH_TIMEOUT_SECS`, 20 unless set).
    pub knowledge_fetch_timeout: std::time::Duration,
}

/// Where the shared search index lives when it is Meilisearch's.
#[derive(Debug, Clone)]
pub struct MeilisearchSettings {
    pub url: String,
    /// `SWITCHBOARD_MEILISEARCH_API_KEY`: the master key or a key allowed the index.
    pub api_key: Option<SecretString>,
    /// `SWITCHBOARD_MEILISEARCH_INDEX`, `switchboard` unless set (several installations can
    /// share one server).
    pub index: String,
}

/// Server-only settings.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    pub listen: SocketAddr,
    /// Serves GraphiQL at GET /graphql.
    pub graphiql: bool,
    /// Largest request body, in bytes (uploads included).
    pub max_body_bytes: usize,
    /// Runs the job runner in this process; `None` leaves jobs to another process.
    pub jobs: Option<switchboard_jobs::JobsConfig>,
    /// The built web bundle served at `/` and `/portal`.
    pub web_dir: PathBuf,
    /// The web dir came from `SWITCHBOARD_WEB_DIR`, so it is served as is and never rebuilt.
    pub web_dir_explicit: bool,
    /// The email channel's limits and intervals.
    pub email: switchboard_email::EmailSettings,
    /// Runs the IMAP poller in this process.
    pub email_poller: bool,
    /// The WhatsApp channel's app secret, verify token and Graph API base.
    pub whatsapp: switchboard_whatsapp::WhatsappConfig,
    /// The Discord bot's token, application id and API URL (`SWITCHBOARD_DISCORD_*`).
    pub discord: switchboard_discord::DiscordConfig,
    /// Where customers reach this server (`SWITCHBOARD_PUBLIC_URL`), for links in emails;
    /// `None`: the address it listens on.
    pub public_url: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` names the caller (`SWITCHBOARD_TRUSTED_PROXIES`).
    pub trusted_proxies: crate::client_addr::TrustedProxies,
    /// GraphQL's per-request time limit and introspection policy (`SWITCHBOARD_GRAPHQL_*`).
    pub graphql_limits: switchboard_graphql::RequestLimits,
    /// Pages besides the server's own that may open the GraphQL WebSocket
    /// (`SWITCHBOARD_ALLOWED_ORIGINS`, comma-separated `scheme://host[:port]`).
    pub allowed_origins: Vec<String>,
    /// Timeouts and the cap on concurrent connections.
    pub connections: crate::transport::ConnectionLimits,
    /// How large a GraphQL request may be, with and without a sign-in
    /// (`SWITCHBOARD_GRAPHQL_MAX_BODY_BYTES`, `SWITCHBOARD_GRAPHQL_ANONYMOUS_MAX_BODY_BYTES`).
    pub request_caps: crate::graphql_edge::RequestCaps,
}

/// Reads a KEY=VALUE file; blank lines and `#` comments are skipped, values may be quoted.
pub fn read_config_file(path: &Path) -> anyhow::Result<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading config file {}", path.display()))?;
    let mut out = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            bail!("{}:{}: expected KEY=VALUE", path.display(), n + 1);
        };
        let v = v.trim();
        let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v);
        out.insert(k.trim().to_string(), v.to_string());
    }
    Ok(out)
}

/// The config file's values (empty without one).
pub fn file_values(args: &GlobalArgs) -> anyhow::Result<HashMap<String, String>> {
    match &args.config {
        Some(p) => read_config_file(p),
        None => Ok(HashMap::new()),
    }
}

/// A setting without a flag: the environment first, then the file.
fn env_or_file(key: &str, file: &HashMap<String, String>) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty()).or_else(|| file.get(key).cloned())
}

fn random_secret() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// Resolves the shared settings, creating the data dir (and the JWT secret) when needed.
pub fn resolve(args: &GlobalArgs, file: &HashMap<String, String>) -> anyhow::Result<Settings> {
    let data_dir = args
        .data_dir
        .clone()
        .or_else(|| file.get("SWITCHBOARD_DATA_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("data"));
    // The data dir holds the database, attachments and the token key: the server's user only.
    private_dir(&data_dir).with_context(|| format!("creating data dir {}", data_dir.display()))?;
    let attachments = attachments(&data_dir, file)?;
    let database_url = args
        .database_url
        .clone()
        .or_else(|| file.get("DATABASE_URL").cloned())
        .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("switchboard.db").display()));
    let jwt_secret = match args.jwt_secret.clone().or_else(|| file.get("SWITCHBOARD_JWT_SECRET").cloned()) {
        Some(s) if s.len() >= 32 => s,
        Some(_) => bail!("SWITCHBOARD_JWT_SECRET must be at least 32 characters"),
        None => {
            let path = data_dir.join("jwt-secret");
            tighten(&path);
            match std::fs::read_to_string(&path) {
                Ok(s) if s.trim().len() >= 32 => s.trim().to_string(),
                _ => {
                    let s = random_secret();
                    write_private(&path, &s)?;
                    s
                }
            }
        }
    };
    let token_ttl_secs = match env_or_file("SWITCHBOARD_TOKEN_TTL_SECS", file) {
        Some(v) => v.parse().context("SWITCHBOARD_TOKEN_TTL_SECS must be a number of seconds")?,
        None => 12 * 3600,
    };
    if flag("SWITCHBOARD_ALLOW_PRIVATE_WEBHOOKS", file)? == Some(true) {
        // One policy now covers webhooks and mail servers alike; a silent fallback would open
        // either more or less than the operator meant.
        bail!(
            "SWITCHBOARD_ALLOW_PRIVATE_WEBHOOKS was replaced by SWITCHBOARD_OUTBOUND_ALLOW, a list of the hosts and \
             networks tenants' webhooks and mail servers may reach (e.g. 127.0.0.1,10.20.0.0/16,mail.internal)"
        );
    }
    let outbound_allow = switchboard_desk::domain::OutboundPolicy::parse(
        &env_or_file("SWITCHBOARD_OUTBOUND_ALLOW", file).unwrap_or_default(),
    )
    .map_err(|e| anyhow::anyhow!("SWITCHBOARD_OUTBOUND_ALLOW: {e}"))?;
    let search_dir = env_or_file("SWITCHBOARD_SEARCH_DIR", file).map_or_else(|| data_dir.join("search"), PathBuf::from);
    let meilisearch = match env_or_file("SWITCHBOARD_MEILISEARCH_URL", file).filter(|u| !u.trim().is_empty()) {
        Some(url) => {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                bail!("SWITCHBOARD_MEILISEARCH_URL must be an http(s) URL, got {url:?}");
            }
            Some(MeilisearchSettings {
                url,
                api_key: env_or_file("SWITCHBOARD_MEILISEARCH_API_KEY", file)
                    .filter(|k| !k.is_empty())
                    .map(SecretString::from),
                index: env_or_file("SWITCHBOARD_MEILISEARCH_INDEX", file).unwrap_or_else(|| "switchboard".into()),
            })
        }
        None => {
            if env_or_file("SWITCHBOARD_MEILISEARCH_API_KEY", file).is_some() {
                bail!("SWITCHBOARD_MEILISEARCH_API_KEY is set without SWITCHBOARD_MEILISEARCH_URL");
            }
            None
        }
    };
    let knowledge_fetch_timeout = match env_or_file("SWITCHBOARD_KNOWLEDGE_FETCH_TIMEOUT_SECS", file) {
        Some(v) => match v.trim().parse::<u64>() {
            Ok(secs) if (1..=300).contains(&secs) => std::time::Duration::from_secs(secs),
            _ => bail!("SWITCHBOARD_KNOWLEDGE_FETCH_TIMEOUT_SECS must be a number of seconds from 1 to 300, got {v:?}"),
        },
        None => switchboard_desk::DEFAULT_FETCH_TIMEOUT,
    };
    Ok(Settings {
        database_url,
        jwt_secret: SecretString::from(jwt_secret),
        token_ttl_secs,
        outbound_allow,
        attachments,
        search_dir,
        meilisearch,
        knowledge_fetch_timeout,
    })
}

/// The attachment store: an S3-compatible bucket when `SWITCHBOARD_ATTACHMENTS_S3_BUCKET` is set,
/// else a directory (created private when missing).
fn attachments(data_dir: &Path, file: &HashMap<String, String>) -> anyhow::Result<switchboard_desk::BlobStore> {
    // Whole names, not built from a prefix: each setting can be found by its name.
    let s3 = |name: &str| env_or_file(name, file);
    if let Some(bucket) = s3("SWITCHBOARD_ATTACHMENTS_S3_BUCKET") {
        if env_or_file("SWITCHBOARD_ATTACHMENTS_DIR", file).is_some() {
            bail!("set SWITCHBOARD_ATTACHMENTS_DIR or SWITCHBOARD_ATTACHMENTS_S3_BUCKET, not both");
        }
        let endpoint = s3("SWITCHBOARD_ATTACHMENTS_S3_ENDPOINT");
        if let Some(e) = &endpoint
            && !(e.starts_with("http://") || e.starts_with("https://"))
        {
            bail!("SWITCHBOARD_ATTACHMENTS_S3_ENDPOINT must be an http(s) URL, got {e:?}");
        }
        let settings = switchboard_desk::S3Settings {
            bucket,
            endpoint,
            region: s3("SWITCHBOARD_ATTACHMENTS_S3_REGION").unwrap_or_else(|| "us-east-1".into()),
            prefix: s3("SWITCHBOARD_ATTACHMENTS_S3_PREFIX").unwrap_or_default(),
            access_key_id: s3("SWITCHBOARD_ATTACHMENTS_S3_ACCESS_KEY_ID"),
            secret_access_key: s3("SWITCHBOARD_ATTACHMENTS_S3_SECRET_ACCESS_KEY"),
        };
        return switchboard_desk::BlobStore::s3(&settings)
            .map_err(|e| anyhow::anyhow!("SWITCHBOARD_ATTACHMENTS_S3_*: {e}"));
    }
    let dir = env_or_file("SWITCHBOARD_ATTACHMENTS_DIR", file)
        .map(PathBuf::from)
        .unwrap_or_else(|| data_dir.join("attachments"));
    private_dir(&dir).with_context(|| format!("creating the attachments dir {}", dir.display()))?;
    Ok(switchboard_desk::BlobStore::new(dir))
}

/// The standard proxy settings, upper case first; reqwest used to read them itself, now they are
/// passed on explicitly so the webhook client knows which host is the operator's proxy.
fn webhook_proxy(file: &HashMap<String, String>) -> switchboard_jobs::WebhookProxy {
    let either = |key: &str| env_or_file(key, file).or_else(|| env_or_file(&key.to_ascii_lowercase(), file));
    let all = either("ALL_PROXY");
    switchboard_jobs::WebhookProxy {
        http: either("HTTP_PROXY").or_else(|| all.clone()),
        https: either("HTTPS_PROXY").or(all),
        no_proxy: either("NO_PROXY"),
    }
}

fn flag(key: &str, file: &HashMap<String, String>) -> anyhow::Result<Option<bool>> {
    match env_or_file(key, file).as_deref() {
        None => Ok(None),
        Some("1" | "true" | "yes" | "on") => Ok(Some(true)),
        Some("0" | "false" | "no" | "off") => Ok(Some(false)),
        Some(v) => bail!("{key} must be true or false, not {v:?}"),
    }
}

fn number<T: std::str::FromStr>(key: &str, file: &HashMap<String, String>, default: T) -> anyhow::Result<T> {
    match env_or_file(key, file) {
        Some(v) => v.parse().map_err(|_| anyhow::anyhow!("{key} must be a number, not {v:?}")),
        None => Ok(default),
    }
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts.open(path).with_context(|| format!("writing {}", path.display()))?;
    f.write_all(contents.as_bytes())?;
    Ok(())
}

/// Creates `dir` (and its missing parents) readable by the server's user only, whatever the
/// umask, and takes group and other access away from an existing one.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    tighten(dir);
    Ok(())
}

/// Takes group and other access away from `path`, if it exists and has any. Tightened rather
/// than only warned about: the server runs as the owner, so nothing it needs is lost, and a
/// warning in a log nobody reads would leave password hashes and mail readable to every local
/// user. What changed is logged, for an operator whose backup user relied on group access.
pub fn tighten(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let Ok(meta) = std::fs::metadata(path) else { return };
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 == 0 {
            return;
        }
        let private = mode & 0o700;
        match std::fs::set_permissions(path, std::fs::Permissions::from_mode(private)) {
            Ok(()) => tracing::warn!(
                path = %path.display(),
                "other users could read this (mode {mode:o}); it is now readable by the server's user only ({private:o})"
            ),
            Err(e) => tracing::warn!(
                path = %path.display(),
                error = %e,
                "other users can read this (mode {mode:o}) and it could not be changed; make it {private:o}"
            ),
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// The file a `sqlite:` database URL names; `None` for PostgreSQL and in-memory databases.
fn sqlite_file(database_url: &str) -> Option<PathBuf> {
    let rest = database_url.strip_prefix("sqlite://").or_else(|| database_url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory = path.is_empty() || path.starts_with(":memory:") || query.split('&').any(|p| p == "mode=memory");
    (!in_memory).then(|| PathBuf::from(path))
}

/// The SQLite database file and the journal files SQLite keeps beside it.
fn sqlite_files(db: &Path) -> Vec<PathBuf> {
    let mut files = vec![db.to_path_buf()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        files.push(PathBuf::from(name));
    }
    files
}

/// Before connecting: creates a missing SQLite database file readable by the server's user
/// only, since SQLite gives its `-wal` and `-shm` files the database file's mode; an empty file
/// is a new database to SQLite. PostgreSQL keeps its own files.
pub fn create_private_database(database_url: &str) {
    let Some(db) = sqlite_file(database_url) else { return };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    // Exists already, or its folder is missing: connecting reports the latter clearly.
    let _ = opts.open(&db);
}

/// After connecting: tightens the SQLite database and its journal files, which an older
/// version (or SQLite itself, under a loose umask) may have left readable by other users.
pub fn protect_database_files(database_url: &str) {
    if let Some(db) = sqlite_file(database_url) {
        for file in sqlite_files(&db) {
            tighten(&file);
        }
    }
}

/// Resolves the server's own settings.
pub fn resolve_serve(
    listen: Option<String>,
    graphiql: bool,
    file: &HashMap<String, String>,
) -> anyhow::Result<ServeSettings> {
    let listen = listen.or_else(|| file.get("SWITCHBOARD_LISTEN").cloned()).unwrap_or_else(|| "127.0.0.1:8080".into());
    let listen = listen.parse().with_context(|| format!("SWITCHBOARD_LISTEN {listen:?} is not an address:port"))?;
    let graphiql = graphiql || file.get("SWITCHBOARD_GRAPHIQL").is_some_and(|v| v == "true" || v == "1");
    let max_body_bytes = match env_or_file("SWITCHBOARD_MAX_BODY_BYTES", file) {
        Some(v) => v.parse().context("SWITCHBOARD_MAX_BODY_BYTES must be a number of bytes")?,
        None => 30 * 1024 * 1024,
    };
    let jobs = if flag("SWITCHBOARD_JOBS", file)?.unwrap_or(true) {
        let d = switchboard_jobs::JobsConfig::default();
        Some(switchboard_jobs::JobsConfig {
            tick_secs: number("SWITCHBOARD_JOB_TICK_SECS", file, d.tick_secs)?,
            sla_every: number("SWITCHBOARD_SLA_CHECK_EVERY_TICKS", file, d.sla_every)?,
            retry_base_ms: number("SWITCHBOARD_WEBHOOK_RETRY_BASE_MS", file, d.retry_base_ms)?,
            request_timeout: std::time::Duration::from_secs(number(
                "SWITCHBOARD_WEBHOOK_TIMEOUT_SECS",
                file,
                d.request_timeout.as_secs(),
            )?),
            poll_interval: d.poll_interval,
            proxy: webhook_proxy(file),
        })
    } else {
        None
    };
    let (web_dir, web_dir_explicit) = crate::web::resolve_dir(env_or_file("SWITCHBOARD_WEB_DIR", file));
    let e = switchboard_email::EmailSettings::default();
    let email = switchboard_email::EmailSettings {
        max_message_bytes: number("SWITCHBOARD_EMAIL_MAX_MESSAGE_BYTES", file, e.max_message_bytes)?,
        poll_interval: std::time::Duration::from_secs(number(
            "SWITCHBOARD_EMAIL_POLL_SECS",
            file,
            e.poll_interval.as_secs(),
        )?),
        network_timeout: std::time::Duration::from_secs(number(
            "SWITCHBOARD_EMAIL_TIMEOUT_SECS",
            file,
            e.network_timeout.as_secs(),
        )?),
        ack_max_per_sender: number("SWITCHBOARD_EMAIL_ACK_MAX_PER_HOUR", file, e.ack_max_per_sender)?,
        ack_window_ms: e.ack_window_ms,
        parse_budget: std::time::Duration::from_secs(
            number("SWITCHBOARD_EMAIL_PARSE_BUDGET_SECS", file, e.parse_budget.as_secs())?
                // Zero would quarantine every message.
                .max(1),
        ),
    };
    // Polling mailboxes is background work: a serve-only replica (SWITCHBOARD_JOBS=false) leaves
    // it to the replicas that run jobs.
    let email_poller = flag("SWITCHBOARD_EMAIL_POLLER", file)?.unwrap_or(true) && jobs.is_some();
    let d = switchboard_whatsapp::WhatsappConfig::default();
    let whatsapp = switchboard_whatsapp::WhatsappConfig {
        app_secret: env_or_file("SWITCHBOARD_WHATSAPP_APP_SECRET", file),
        verify_token: env_or_file("SWITCHBOARD_WHATSAPP_VERIFY_TOKEN", file),
        graph_url: env_or_file("SWITCHBOARD_WHATSAPP_GRAPH_URL", file).unwrap_or(d.graph_url),
        sweep_interval: std::time::Duration::from_secs(number(
            "SWITCHBOARD_WHATSAPP_SWEEP_SECS",
            file,
            d.sweep_interval.as_secs(),
        )?),
    };
    if !whatsapp.graph_url.starts_with("https://") && !whatsapp.graph_url.starts_with("http://") {
        bail!(
            "SWITCHBOARD_WHATSAPP_GRAPH_URL must be an http(s) URL such as {}",
            switchboard_whatsapp::DEFAULT_GRAPH_URL
        );
    }
    let discord = switchboard_discord::DiscordConfig {
        token: env_or_file("SWITCHBOARD_DISCORD_TOKEN", file).filter(|t| !t.trim().is_empty()),
        application_id: match env_or_file("SWITCHBOARD_DISCORD_APPLICATION_ID", file) {
            None => None,
            Some(v) => Some(v.trim().parse::<u64>().ok().filter(|id| *id > 0).with_context(|| {
                format!("SWITCHBOARD_DISCORD_APPLICATION_ID must be the application's numeric id, not {v:?}")
            })?),
        },
        api_url: env_or_file("SWITCHBOARD_DISCORD_API_URL", file)
            .map(|u| u.trim_end_matches('/').to_string())
            .unwrap_or_else(|| switchboard_discord::DEFAULT_API_URL.into()),
        web_url: env_or_file("SWITCHBOARD_PUBLIC_URL", file).map(|u| u.trim_end_matches('/').to_string()),
    };
    if !discord.api_url.starts_with("https://") && !discord.api_url.starts_with("http://") {
        bail!("SWITCHBOARD_DISCORD_API_URL must be an http(s) URL such as {}", switchboard_discord::DEFAULT_API_URL);
    }
    let public_url = env_or_file("SWITCHBOARD_PUBLIC_URL", file).map(|u| u.trim_end_matches('/').to_string());
    if let Some(u) = &public_url
        && !(u.starts_with("https://") || u.starts_with("http://"))
    {
        bail!("SWITCHBOARD_PUBLIC_URL must be an http(s) URL such as https://help.example.com, not {u:?}");
    }
    let trusted_proxies = crate::client_addr::TrustedProxies::parse(
        &env_or_file("SWITCHBOARD_TRUSTED_PROXIES", file).unwrap_or_default(),
    )
    .context("SWITCHBOARD_TRUSTED_PROXIES")?;
    let (graphql_limits, allowed_origins) = graphql_settings(graphiql, file)?;
    let connections = connection_limits(file)?;
    let request_caps = request_caps(file, max_body_bytes)?;
    Ok(ServeSettings {
        listen,
        graphiql,
        max_body_bytes,
        jobs,
        web_dir,
        web_dir_explicit,
        email,
        email_poller,
        whatsapp,
        discord,
        public_url,
        trusted_proxies,
        graphql_limits,
        allowed_origins,
        connections,
        request_caps,
    })
}

/// The GraphQL request budgets: the signed-in one must fit in the body limit, and the
/// anonymous one in the signed-in one.
fn request_caps(
    file: &HashMap<String, String>,
    max_body_bytes: usize,
) -> anyhow::Result<crate::graphql_edge::RequestCaps> {
    let d = crate::graphql_edge::RequestCaps::default();
    let signed_in = number("SWITCHBOARD_GRAPHQL_MAX_BODY_BYTES", file, d.signed_in.max_bytes)?;
    let anonymous = number("SWITCHBOARD_GRAPHQL_ANONYMOUS_MAX_BODY_BYTES", file, d.anonymous.max_bytes)?;
    // Below 1 KiB not even a sign-in fits.
    if !(1024..=max_body_bytes).contains(&signed_in) {
        bail!("SWITCHBOARD_GRAPHQL_MAX_BODY_BYTES must be from 1024 to SWITCHBOARD_MAX_BODY_BYTES ({max_body_bytes})");
    }
    if !(1024..=signed_in).contains(&anonymous) {
        bail!(
            "SWITCHBOARD_GRAPHQL_ANONYMOUS_MAX_BODY_BYTES must be from 1024 to SWITCHBOARD_GRAPHQL_MAX_BODY_BYTES ({signed_in})"
        );
    }
    Ok(crate::graphql_edge::RequestCaps {
        anonymous: crate::graphql_edge::JsonBudget { max_bytes: anonymous, ..d.anonymous },
        signed_in: crate::graphql_edge::JsonBudget { max_bytes: signed_in, ..d.signed_in },
    })
}

fn connection_limits(file: &HashMap<String, String>) -> anyhow::Result<crate::transport::ConnectionLimits> {
    let d = crate::transport::ConnectionLimits::default();
    // Zero would close every connection at once (or, for the cap, never accept one).
    let secs = |key: &str, default: std::time::Duration| -> anyhow::Result<std::time::Duration> {
        // Past a day is no timeout anyone means, and "now + timeout" must not overflow.
        match number(key, file, default.as_secs())? {
            n @ 1..=86_400 => Ok(std::time::Duration::from_secs(n)),
            _ => bail!("{key} must be from 1 to 86400 seconds"),
        }
    };
    let max_connections = number("SWITCHBOARD_MAX_CONNECTIONS", file, d.max_connections)?;
    if !(1..=crate::transport::MAX_CONNECTIONS_CAP).contains(&max_connections) {
        bail!("SWITCHBOARD_MAX_CONNECTIONS must be from 1 to {}", crate::transport::MAX_CONNECTIONS_CAP);
    }
    Ok(crate::transport::ConnectionLimits {
        header_timeout: secs("SWITCHBOARD_HEADER_TIMEOUT_SECS", d.header_timeout)?,
        body_stall_timeout: secs("SWITCHBOARD_BODY_STALL_TIMEOUT_SECS", d.body_stall_timeout)?,
        body_timeout: secs("SWITCHBOARD_BODY_TIMEOUT_SECS", d.body_timeout)?,
        max_connections,
        ws_init_timeout: secs("SWITCHBOARD_WS_INIT_TIMEOUT_SECS", d.ws_init_timeout)?,
        ws_ping_interval: secs("SWITCHBOARD_WS_PING_SECS", d.ws_ping_interval)?,
    })
}

/// The GraphQL edge's settings. Introspection defaults to signed-in callers only (anonymous
/// callers need none: the schema is checked in), or to everyone when GraphiQL is on, since its
/// page introspects without a token.
fn graphql_settings(
    graphiql: bool,
    file: &HashMap<String, String>,
) -> anyhow::Result<(switchboard_graphql::RequestLimits, Vec<String>)> {
    use switchboard_graphql::{Introspection, RequestLimits};
    let d = RequestLimits::default();
    let timeout_secs: u64 = number("SWITCHBOARD_GRAPHQL_TIMEOUT_SECS", file, d.timeout.as_secs())?;
    if timeout_secs == 0 {
        bail!("SWITCHBOARD_GRAPHQL_TIMEOUT_SECS must be at least 1");
    }
    let introspection = match env_or_file("SWITCHBOARD_GRAPHQL_INTROSPECTION", file).as_deref() {
        None if graphiql => Introspection::On,
        None => d.introspection,
        Some("on") => Introspection::On,
        Some("signed-in") => Introspection::SignedIn,
        Some("off") => Introspection::Off,
        Some(v) => bail!("SWITCHBOARD_GRAPHQL_INTROSPECTION must be on, signed-in or off, not {v:?}"),
    };
    let mut allowed_origins = Vec::new();
    for o in env_or_file("SWITCHBOARD_ALLOWED_ORIGINS", file).unwrap_or_default().split(',').map(str::trim) {
        if o.is_empty() {
            continue;
        }
        if crate::graphql_edge::origin_of(o).is_none() {
            bail!("SWITCHBOARD_ALLOWED_ORIGINS: {o:?} is not an origin such as https://help.example.com");
        }
        allowed_origins.push(o.to_string());
    }
    let limits = RequestLimits { timeout: std::time::Duration::from_secs(timeout_secs), introspection, ..d };
    Ok((limits, allowed_origins))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_file_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("switchboard.env");
        std::fs::write(&p, "# comment\n\nSWITCHBOARD_LISTEN = \"0.0.0.0:9000\"\nDATABASE_URL=postgres://x@y/z\n")
            .unwrap();
        let m = read_config_file(&p).unwrap();
        assert_eq!(m["SWITCHBOARD_LISTEN"], "0.0.0.0:9000");
        assert_eq!(m["DATABASE_URL"], "postgres://x@y/z");
        std::fs::write(&p, "nonsense\n").unwrap();
        assert!(read_config_file(&p).unwrap_err().to_string().contains(":1: expected KEY=VALUE"));
    }

    #[test]
    fn graphql_settings_are_checked() {
        use switchboard_graphql::Introspection;
        let file = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let (limits, origins) = graphql_settings(false, &HashMap::new()).unwrap();
        assert_eq!((limits.introspection, limits.timeout.as_secs(), origins.len()), (Introspection::SignedIn, 30, 0));
        assert_eq!(graphql_settings(true, &HashMap::new()).unwrap().0.introspection, Introspection::On);
        let off = file(&[("SWITCHBOARD_GRAPHQL_INTROSPECTION", "off"), ("SWITCHBOARD_GRAPHQL_TIMEOUT_SECS", "5")]);
        let (limits, _) = graphql_settings(true, &off).unwrap();
        assert_eq!((limits.introspection, limits.timeout.as_secs()), (Introspection::Off, 5));
        for (key, value) in [
            ("SWITCHBOARD_GRAPHQL_INTROSPECTION", "maybe"),
            ("SWITCHBOARD_GRAPHQL_TIMEOUT_SECS", "0"),
            ("SWITCHBOARD_ALLOWED_ORIGINS", "https://ok.example, intranet"),
        ] {
            let e = graphql_settings(false, &file(&[(key, value)])).unwrap_err().to_string();
            assert!(e.contains(key), "{e}");
        }
        let (_, origins) = graphql_settings(
            false,
            &file(&[("SWITCHBOARD_ALLOWED_ORIGINS", "https://a.example, http://b.example:8080")]),
        )
        .unwrap();
        assert_eq!(origins, ["https://a.example", "http://b.example:8080"]);
    }

    #[test]
    fn the_sqlite_file_is_found_in_its_url() {
        assert_eq!(sqlite_file("sqlite://data/switchboard.db"), Some(PathBuf::from("data/switchboard.db")));
        assert_eq!(sqlite_file("sqlite:///var/lib/sb.db?mode=rwc"), Some(PathBuf::from("/var/lib/sb.db")));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("sqlite://x.db?mode=memory"), None);
        assert_eq!(sqlite_file("postgres://u@h/db"), None);
        let wal = sqlite_files(Path::new("/d/s.db"));
        assert!(wal.contains(&PathBuf::from("/d/s.db-wal")) && wal.contains(&PathBuf::from("/d/s.db-shm")));
    }

    #[test]
    fn connection_limits_are_read_and_checked() {
        let file = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let limits = connection_limits(&file(&[
            ("SWITCHBOARD_HEADER_TIMEOUT_SECS", "5"),
            ("SWITCHBOARD_MAX_CONNECTIONS", "64"),
        ]))
        .unwrap();
        assert_eq!(limits.header_timeout, std::time::Duration::from_secs(5));
        assert_eq!(limits.max_connections, 64);
        assert_eq!(limits.body_timeout, crate::transport::ConnectionLimits::default().body_timeout);
        for (key, value) in [
            ("SWITCHBOARD_MAX_CONNECTIONS", "0"),
            ("SWITCHBOARD_BODY_STALL_TIMEOUT_SECS", "0"),
            ("SWITCHBOARD_BODY_TIMEOUT_SECS", "18446744073709551615"),
            ("SWITCHBOARD_HEADER_TIMEOUT_SECS", "soon"),
            ("SWITCHBOARD_WS_INIT_TIMEOUT_SECS", "0"),
            ("SWITCHBOARD_WS_PING_SECS", "never"),
        ] {
            let err = connection_limits(&file(&[(key, value)])).unwrap_err().to_string();
            assert!(err.contains(key), "{key}={value}: {err}");
        }
        let ws =
            connection_limits(&file(&[("SWITCHBOARD_WS_INIT_TIMEOUT_SECS", "3"), ("SWITCHBOARD_WS_PING_SECS", "20")]))
                .unwrap();
        assert_eq!((ws.ws_init_timeout.as_secs(), ws.ws_ping_interval.as_secs()), (3, 20));
    }

    #[test]
    fn request_caps_are_read_and_checked() {
        let file = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let d = request_caps(&HashMap::new(), 30 << 20).unwrap();
        assert_eq!((d.anonymous.max_bytes, d.signed_in.max_bytes), (32 << 10, 1 << 20));
        let set = request_caps(
            &file(&[
                ("SWITCHBOARD_GRAPHQL_MAX_BODY_BYTES", "2000000"),
                ("SWITCHBOARD_GRAPHQL_ANONYMOUS_MAX_BODY_BYTES", "4096"),
            ]),
            30 << 20,
        )
        .unwrap();
        assert_eq!((set.anonymous.max_bytes, set.signed_in.max_bytes), (4096, 2_000_000));
        for (pairs, key) in [
            (vec![("SWITCHBOARD_GRAPHQL_MAX_BODY_BYTES", "40000000")], "SWITCHBOARD_GRAPHQL_MAX_BODY_BYTES"),
            (vec![("SWITCHBOARD_GRAPHQL_MAX_BODY_BYTES", "100")], "SWITCHBOARD_GRAPHQL_MAX_BODY_BYTES"),
            (
                vec![("SWITCHBOARD_GRAPHQL_ANONYMOUS_MAX_BODY_BYTES", "2000000")],
                "SWITCHBOARD_GRAPHQL_ANONYMOUS_MAX_BODY_BYTES",
            ),
        ] {
            let e = request_caps(&file(&pairs), 30 << 20).unwrap_err().to_string();
            assert!(e.starts_with(key), "{e}");
        }
    }

    #[test]
    fn defaults_need_no_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let args =
            GlobalArgs { config: None, data_dir: Some(dir.path().join("d")), database_url: None, jwt_secret: None };
        let s = resolve(&args, &HashMap::new()).unwrap();
        assert!(s.database_url.starts_with("sqlite://") && s.database_url.ends_with("switchboard.db"));
        // The generated secret is kept, so tokens survive a restart.
        let again = resolve(&args, &HashMap::new()).unwrap();
        use secrecy::ExposeSecret;
        assert_eq!(s.jwt_secret.expose_secret(), again.jwt_secret.expose_secret());
        let serve = resolve_serve(None, false, &HashMap::new()).unwrap();
        assert_eq!(serve.listen.to_string(), "127.0.0.1:8080");
    }

    #[test]
    fn a_serve_only_replica_runs_no_background_work() {
        let file = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let all = resolve_serve(None, false, &HashMap::new()).unwrap();
        assert!(all.jobs.is_some() && all.email_poller, "jobs and the mail poller run by default");
        let serve_only = resolve_serve(None, false, &file(&[("SWITCHBOARD_JOBS", "false")])).unwrap();
        assert!(serve_only.jobs.is_none() && !serve_only.email_poller, "SWITCHBOARD_JOBS=false: neither runs");
        let e = resolve_serve(None, false, &file(&[("SWITCHBOARD_JOBS", "sometimes")])).err().unwrap().to_string();
        assert!(e.contains("SWITCHBOARD_JOBS"), "{e}");
    }

    #[test]
    fn the_outbound_allow_list_is_read_and_the_old_switch_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let args =
            GlobalArgs { config: None, data_dir: Some(dir.path().join("d")), database_url: None, jwt_secret: None };
        assert!(resolve(&args, &HashMap::new()).unwrap().outbound_allow.is_empty(), "public addresses only");
        let file = |k: &str, v: &str| HashMap::from([(k.to_string(), v.to_string())]);
        let s = resolve(&args, &file("SWITCHBOARD_OUTBOUND_ALLOW", "mail.internal, 10.20.0.0/16")).unwrap();
        assert!(s.outbound_allow.allows_address("10.20.1.2".parse().unwrap()));
        assert!(!s.outbound_allow.allows_address("10.21.1.2".parse().unwrap()));
        let e = resolve(&args, &file("SWITCHBOARD_OUTBOUND_ALLOW", "10.0.0.0/40")).unwrap_err().to_string();
        assert!(e.starts_with("SWITCHBOARD_OUTBOUND_ALLOW:"), "{e}");
        let e = resolve(&args, &file("SWITCHBOARD_ALLOW_PRIVATE_WEBHOOKS", "true")).unwrap_err().to_string();
        assert!(e.contains("replaced by SWITCHBOARD_OUTBOUND_ALLOW"), "{e}");
        // Asking for nothing more than the defaults is harmless.
        assert!(resolve(&args, &file("SWITCHBOARD_ALLOW_PRIVATE_WEBHOOKS", "false")).is_ok());
        let proxy = webhook_proxy(&file("https_proxy", "http://proxy.internal:3128"));
        assert_eq!(proxy.https.as_deref(), Some("http://proxy.internal:3128"));
        assert_eq!(proxy.http, None);
    }
}
