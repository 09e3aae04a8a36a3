//! `switchboard`: the one binary. Serves the helpdesk, runs migrations, loads demo data,
//! and manages workspaces, staff and API tokens from the command line.

mod app;
mod client_addr;
mod config;
#[cfg(test)]
mod deploy_check;
mod graphql_edge;
mod graphql_ws;
mod migrate_data;
mod search;
mod seed;
mod transport;
mod web;

use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;
use switchboard_desk::domain::{Actor, Role};
use switchboard_desk::egress::OutboundGuard;
use switchboard_desk::store::Store;
use switchboard_desk::{AuthConfig, Desk, DeskError, KnowledgeFetchSettings, SystemClock};

#[derive(Parser)]
#[command(name = "switchboard", version, about = "A self-hosted, multi-channel helpdesk")]
struct Cli {
    #[command(flatten)]
    global: config::GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serves the GraphQL API, the web UI and the job runner until interrupted.
    Serve {
        /// Address and port to listen on [default: 127.0.0.1:8080].
        #[arg(long, env = "SWITCHBOARD_LISTEN")]
        listen: Option<String>,
        /// Loads the demo workspace into an empty database, turns on GraphiQL, prints the logins.
        #[arg(long)]
        demo: bool,
        /// Serves GraphiQL at GET /graphql.
        #[arg(long, env = "SWITCHBOARD_GRAPHIQL")]
        graphiql: bool,
        /// Stops when standard input closes, so a supervising process (a test harness) that
        /// dies never leaves a server behind.
        #[arg(long, hide = true)]
        stop_on_stdin_eof: bool,
    },
    /// Applies pending database migrations and exits.
    Migrate,
    /// Copies a whole installation from SQLite into an empty PostgreSQL database (migrated
    /// first), in one transaction, verifying every table's row count.
    MigrateData {
        /// The SQLite database to copy, e.g. sqlite://./data/switchboard.db.
        #[arg(long)]
        from: String,
        /// The empty PostgreSQL database to copy into, e.g. postgres://switchboard@db/switchboard.
        #[arg(long)]
        to: String,
        /// Where the installation's attachment files are [default: SWITCHBOARD_ATTACHMENTS_DIR,
        /// else <data dir>/attachments].
        #[arg(long)]
        attachments_from: Option<std::path::PathBuf>,
        /// Also copies the attachment files into this directory (e.g. the shared one the new
        /// servers use); without it they stay where they are.
        #[arg(long)]
        copy_attachments_to: Option<std::path::PathBuf>,
    },
    /// Loads a seed file (the built-in demo workspace by default) into the database.
    Seed {
        /// A seed file in the format of seed/demo.json.
        #[arg(long)]
        file: Option<std::path::PathBuf>,
    },
    /// Manages workspaces.
    #[command(subcommand)]
    Workspace(WorkspaceCommand),
    /// Manages staff accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manages integrator API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Rebuilds the search index from the database (the embedded index: with the server
    /// stopped).
    Reindex,
    /// Manages the insights rollups.
    #[command(subcommand)]
    Insights(InsightsCommand),
    /// Prints the GraphQL schema (SDL).
    Schema,
}

#[derive(Subcommand)]
enum WorkspaceCommand {
    /// Creates a workspace with a default queue.
    Create {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "SD")]
        ticket_prefix: String,
        #[arg(long, default_value = "UTC")]
        time_zone: String,
    },
}

#[derive(Subcommand)]
enum InsightsCommand {
    /// Recomputes a workspace's daily rollups from its tickets (after a time zone change, or to
    /// check them); servers may keep running meanwhile.
    Rebuild {
        #[arg(long)]
        workspace: String,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Creates a staff account. The password comes from SWITCHBOARD_PASSWORD (not the command
    /// line, where other users could read it from the process list).
    Create {
        #[arg(long)]
        workspace: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        #[arg(long, env = "SWITCHBOARD_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Creates an API token and prints it once.
    Create {
        #[arg(long)]
        workspace: String,
        #[arg(long)]
        name: String,
        /// Comma-separated permission keys, e.g. service-desk.view,service-desk.manage.
        #[arg(long, value_delimiter = ',', default_value = "service-desk.view,service-desk.manage")]
        scopes: Vec<String>,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s, "role").map_err(|e| e.message)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SWITCHBOARD_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Command::Schema = cli.command {
        print!("{}", sdl());
        return Ok(());
    }
    let file = config::file_values(&cli.global)?;
    // Names its two databases itself: no DATABASE_URL is opened (or created) for it.
    if let Command::MigrateData { from, to, attachments_from, copy_attachments_to } = cli.command {
        let data_dir = cli
            .global
            .data_dir
            .clone()
            .or_else(|| file.get("SWITCHBOARD_DATA_DIR").map(std::path::PathBuf::from))
            .unwrap_or_else(|| "data".into());
        let attachments_from = attachments_from
            .or_else(|| std::env::var_os("SWITCHBOARD_ATTACHMENTS_DIR").filter(|v| !v.is_empty()).map(Into::into))
            .or_else(|| file.get("SWITCHBOARD_ATTACHMENTS_DIR").map(Into::into))
            .unwrap_or_else(|| data_dir.join("attachments"));
        return migrate_data::run(migrate_data::MigrateDataArgs { from, to, attachments_from, copy_attachments_to })
            .await;
    }
    let settings = config::resolve(&cli.global, &file)?;
    config::create_private_database(&settings.database_url);
    let store = Store::connect(&settings.database_url).await.context("connecting to the database")?;
    store.migrate().await.context("applying migrations")?;
    config::protect_database_files(&settings.database_url);
    let desk = Desk::new(
        store.clone(),
        Arc::new(SystemClock),
        settings.attachments.clone(),
        AuthConfig {
            jwt_secret: settings.jwt_secret.expose_secret().as_bytes().to_vec(),
            token_ttl_secs: settings.token_ttl_secs,
        },
    )
    .with_outbound(OutboundGuard::with_policy(settings.outbound_allow.clone()))
    .with_knowledge_fetch(KnowledgeFetchSettings { timeout: settings.knowledge_fetch_timeout });
    let result = run(cli.command, desk, &settings, &file).await;
    store.close().await;
    result
}

async fn system_of(desk: &Desk, slug: &str) -> anyhow::Result<Actor> {
    let ws = desk.workspace_by_slug(slug).await.with_context(|| format!("no workspace {slug:?}"))?;
    Ok(Actor::system(ws.id))
}

fn print_seeded(s: &seed::Seeded, url: Option<&str>) {
    println!("Demo workspace {:?}: {} tickets", s.workspace, s.tickets);
    for u in &s.users {
        println!("  {:<10} {} / {}", u.role.as_str(), u.email, u.password);
    }
    for (email, password) in &s.customers {
        println!("  {:<10} {} / {}  (customer portal)", "customer", email, password);
    }
    if let Some(url) = url {
        println!("GraphQL: {url}/graphql");
    }
}

async fn run(
    command: Command,
    desk: Desk,
    settings: &config::Settings,
    file: &std::collections::HashMap<String, String>,
) -> anyhow::Result<()> {
    match command {
        Command::Migrate => {
            println!("migrations applied");
        }
        Command::Reindex => search::reindex(&desk, settings).await?,
        Command::Insights(InsightsCommand::Rebuild { workspace }) => {
            let ws = desk.workspace_by_slug(&workspace).await.with_context(|| format!("no workspace {workspace:?}"))?;
            let bar = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} tickets  {per_sec}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let started = std::time::Instant::now();
            let summary = desk
                .rebuild_insights(ws.id, &|done, total| {
                    bar.set_length(total);
                    bar.set_position(done);
                })
                .await
                .context("rebuilding the insights rollups")?;
            bar.finish_and_clear();
            println!(
                "insights rebuilt for {}: {} tickets, {} rollup rows, in {:.1} s",
                ws.slug,
                summary.tickets,
                summary.rollup_rows,
                started.elapsed().as_secs_f64()
            );
        }
        // Handled in main, before any database connection.
        Command::Schema | Command::MigrateData { .. } => {}
        Command::Seed { file: path } => {
            let json = match path {
                Some(p) => std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?,
                None => seed::DEMO.to_string(),
            };
            let s = seed::load(&desk, &json).await?;
            print_seeded(&s, None);
        }
        Command::Workspace(WorkspaceCommand::Create { slug, name, ticket_prefix, time_zone }) => {
            let ws = desk.create_workspace(&slug, &name, &ticket_prefix, &time_zone, "General").await?;
            println!("workspace {} created (id {})", ws.slug, ws.id);
        }
        Command::User(UserCommand::Create { workspace, email, name, role, password }) => {
            let system = system_of(&desk, &workspace).await?;
            let u = desk.create_user(&system, &email, &name, role, password.as_deref()).await?;
            println!("user {} created (id {}, role {})", u.email, u.id, u.role);
        }
        Command::Token(TokenCommand::Create { workspace, name, scopes }) => {
            let system = system_of(&desk, &workspace).await?;
            let (token, rec) = desk.create_api_token(&system, &name, &scopes).await?;
            eprintln!(
                "API token {:?} (id {}) with scopes {}; it is shown only this once:",
                rec.name, rec.id, rec.scopes
            );
            println!("{token}");
        }
        Command::Serve { listen, demo, graphiql, stop_on_stdin_eof } => {
            let serve = config::resolve_serve(listen, graphiql || demo, file)?;
            if !serve.web_dir_explicit {
                web::build_if_stale(&serve.web_dir);
            }
            search::attach_engine(&desk, settings).await?;
            let listener = tokio::net::TcpListener::bind(serve.listen)
                .await
                .with_context(|| format!("binding {}", serve.listen))?;
            let addr = listener.local_addr()?;
            let url = format!("http://{addr}");
            if demo {
                match desk.workspace_by_slug("demo").await {
                    Ok(_) => println!("Demo workspace already loaded; logins are in the README."),
                    Err(DeskError::NotFound(_)) => print_seeded(&seed::load(&desk, seed::DEMO).await?, Some(&url)),
                    Err(e) => return Err(e).context("looking for the demo workspace"),
                }
            }
            let public_url = match &serve.public_url {
                Some(u) => u.clone(),
                None => {
                    if addr.ip().is_unspecified() {
                        tracing::warn!(
                            "SWITCHBOARD_PUBLIC_URL is not set: links in emails point at {url}, which customers cannot open"
                        );
                    }
                    url.clone()
                }
            };
            let channel_list = channel_modules(&desk, &serve, &public_url);
            let channels =
                switchboard_channel::Registry::new(channel_list.modules).context("registering the channel modules")?;
            desk.register_reply_channels(channels.reply_channels());
            match desk.fail_replies_without_sender().await.context("failing replies no channel sends")? {
                0 => {}
                n => tracing::warn!(replies = n, "failed replies waiting on channels no module sends"),
            }
            // Live updates reach subscribers on every replica sharing a PostgreSQL database.
            let live_fan_out = desk.fan_out_live().await.context("listening for other replicas' live updates")?;
            let background = serve.jobs.is_some();
            let jobs = match serve.jobs {
                Some(cfg) => Some(
                    switchboard_jobs::start(
                        desk.clone(),
                        &settings.database_url,
                        cfg,
                        switchboard_jobs::Senders::new(channels.clone()),
                    )
                    .await
                    .context("starting the job runner")?,
                ),
                None => None,
            };
            // The answer engine: extractive, or with the operator's chat model (SWITCHBOARD_LLM_URL).
            let llm = match switchboard_answer::LlmConfig::from_env() {
                Some(c) => Some(switchboard_answer::LlmClient::new(c).context("configuring the chat model")?),
                None => None,
            };
            let answers = switchboard_answer::AnswerEngine::new(desk.clone(), llm);
            let schema = switchboard_graphql::build_schema_with(
                Query(
                    Default::default(),
                    channel_list.query,
                    Default::default(),
                    switchboard_graphql::AnswerQuery(Some(answers.clone())),
                    Default::default(),
                ),
                Mutation(
                    Default::default(),
                    channel_list.mutation,
                    Default::default(),
                    switchboard_graphql::AnswerMutation(Some(answers.clone())),
                ),
                desk.clone(),
                serve.graphql_limits,
            );
            let state = app::AppState {
                desk: desk.clone(),
                schema,
                graphiql: serve.graphiql,
                web_dir: serve.web_dir.clone(),
                trusted_proxies: serve.trusted_proxies.clone(),
                allowed_origins: graphql_edge::AllowedOrigins::new(serve.public_url.as_deref(), &serve.allowed_origins),
                request_caps: serve.request_caps,
            };
            // The raw-MIME endpoint carries its own body limit (the email size limit).
            let router = app::router(state, serve.max_body_bytes).merge(channels.routes());
            let router = app::with_security_headers(
                router,
                app::HeaderPolicy {
                    public_https: public_url.starts_with("https://"),
                    trusted_proxies: serve.trusted_proxies.clone(),
                },
            );
            // Channel workers (mailbox polls, the WhatsApp inbox sweep) are background work: a
            // serve-only replica (SWITCHBOARD_JOBS=false) leaves them to the others.
            let workers = background.then(|| channels.start_workers());
            // The answer bot takes its turns on customer messages on background replicas too;
            // a turn is recorded once per message, so two replicas never both answer one.
            let bot = background.then(|| {
                let bot = switchboard_answer::Bot::new(answers);
                tokio::spawn(bot.run(std::time::Duration::from_millis(500)))
            });
            let indexer = search::spawn_indexer(desk.clone());
            // Tests and scripts read this line to find the port when listening on port 0.
            println!("Switchboard listening on {url}");
            transport::serve(listener, router, serve.connections.clone(), shutdown_signal(stop_on_stdin_eof)).await?;
            if let Some(workers) = workers {
                workers.shutdown().await;
            }
            indexer.abort();
            if let Some(bot) = bot {
                bot.abort();
            }
            drop(live_fan_out);
            if let Some(jobs) = jobs {
                jobs.shutdown().await;
            }
            // stderr: whoever read the start-up line on stdout may be gone by now.
            tracing::info!("Switchboard stopped");
        }
    }
    Ok(())
}

switchboard_channel::channel_modules! {
    /// The channel modules this server runs: the one list a new channel is added to. Their
    /// GraphQL objects come from the same list (`ChannelQuery`, `ChannelMutation`).
    fn channel_modules(desk: &Desk, serve: &config::ServeSettings, public_url: &str) -> ChannelQuery, ChannelMutation {
        email: switchboard_email::EmailModule =
            switchboard_email::EmailModule::new(desk.clone(), serve.email.clone(), public_url, serve.email_poller),
        whatsapp: switchboard_whatsapp::WhatsappModule = switchboard_whatsapp::WhatsappModule(
            switchboard_whatsapp::WhatsappChannel::new(desk.clone(), serve.whatsapp.clone()),
        ),
        discord: switchboard_discord::DiscordModule = switchboard_discord::DiscordModule(
            switchboard_discord::DiscordChannel::new(desk.clone(), serve.discord.clone()),
        ),
    }
}

// The API's reads: the core's, then every channel's (from `channel_modules`), then the knowledge
// base's (plain comments: a doc comment would become the type's description in the schema).
#[derive(async_graphql::MergedObject, Default)]
#[graphql(name = "Query")]
struct Query(
    switchboard_graphql::CoreQuery,
    ChannelQuery,
    switchboard_graphql::KnowledgeQuery,
    switchboard_graphql::AnswerQuery,
    switchboard_graphql::HelpCenterQuery,
);

// The API's changes, composed as `Query`.
#[derive(async_graphql::MergedObject, Default)]
#[graphql(name = "Mutation")]
struct Mutation(
    switchboard_graphql::CoreMutation,
    ChannelMutation,
    switchboard_graphql::KnowledgeMutation,
    switchboard_graphql::AnswerMutation,
);

/// The schema the server serves: the core's objects merged with every channel's.
type Schema = switchboard_graphql::SwitchboardSchema<Query, Mutation>;

/// The served schema's SDL, as checked in at `graphql/schema.graphql`.
fn sdl() -> String {
    switchboard_graphql::schema_builder(Query::default(), Mutation::default()).finish().sdl()
}

async fn shutdown_signal(stop_on_stdin_eof: bool) {
    let stdin_closed = async {
        if stop_on_stdin_eof {
            let mut sink = tokio::io::sink();
            let _ = tokio::io::copy(&mut tokio::io::stdin(), &mut sink).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {}, _ = stdin_closed => {} }
}

#[cfg(test)]
mod tests {
    /// The composed schema (core and channels) is the one checked in for clients and the web's
    /// generated types.
    #[test]
    fn checked_in_schema_matches_the_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../graphql/schema.graphql");
        let sdl = super::sdl();
        if std::env::var_os("UPDATE_SCHEMA").is_some() {
            std::fs::write(path, &sdl).expect("write schema.graphql");
        }
        let checked_in = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            checked_in == sdl,
            "graphql/schema.graphql is out of date; run `UPDATE_SCHEMA=1 cargo test -p switchboard-server --bin switchboard checked_in_schema` and commit it"
        );
    }

    /// Every document the web UI sends (`gql` templates under web/src) is valid against the
    /// composed schema (so a channel's page is checked with the channel's fields) and fits the
    /// signed-in budget, and every mutation the anonymous one, so the limits never break a
    /// screen or a sign-in.
    #[tokio::test]
    async fn the_web_uis_documents_fit_the_signed_in_budget() {
        use std::sync::Arc;

        use async_graphql::Request;
        use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute};
        use switchboard_desk::domain::{ActorKind, UserId, WorkspaceId};

        /// Stops every request after validation: the limits are measured, no resolver runs.
        struct ValidateOnly;
        impl ExtensionFactory for ValidateOnly {
            fn create(&self) -> Arc<dyn Extension> {
                Arc::new(ValidateOnly)
            }
        }
        #[async_trait::async_trait]
        impl Extension for ValidateOnly {
            async fn execute(
                &self,
                _: &ExtensionContext<'_>,
                _: Option<&str>,
                _: NextExecute<'_>,
            ) -> async_graphql::Response {
                async_graphql::Response::new(async_graphql::Value::Null)
            }
        }
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).expect("read web/src").flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "ts" || x == "tsx") {
                    out.push(p);
                }
            }
        }
        let schema = switchboard_graphql::schema_builder(super::Query::default(), super::Mutation::default())
            .extension(switchboard_graphql::RequestLimits::default())
            .extension(ValidateOnly)
            .finish();
        // No resolver runs, so the caller need not exist: its presence is what signs the request in.
        let admin = super::Actor {
            workspace_id: WorkspaceId(1),
            kind: ActorKind::User { id: UserId(1), role: super::Role::Admin },
            label: "Ada".into(),
        };
        let mut files = Vec::new();
        walk(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/src"), &mut files);
        let mut documents = 0;
        for file in files {
            let text = std::fs::read_to_string(&file).expect("read a web source file");
            for part in text.split("gql`").skip(1) {
                let doc = part.split('`').next().unwrap_or_default();
                documents += 1;
                let resp = schema.execute(Request::new(doc).data(admin.clone())).await;
                let body = serde_json::to_value(resp).expect("response as JSON");
                assert!(body.get("errors").is_none(), "{}: {doc}\n{body}", file.display());
                // Signing in, links and password resets are mutations sent without a token.
                if doc.trim_start().starts_with("mutation") {
                    let anonymous = serde_json::to_value(schema.execute(Request::new(doc)).await).expect("JSON");
                    assert!(anonymous.get("errors").is_none(), "{}: {doc}\n{anonymous}", file.display());
                }
            }
        }
        assert!(documents > 20, "found only {documents} documents in web/src");
    }
}
