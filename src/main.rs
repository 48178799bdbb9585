//! The `sig-register` command: serve, migrate, token, audit, retention.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, HttpServer};
use clap::{Args, Parser, Subcommand};

use sig_register::audit::export::Format;
use sig_register::audit::query::{self, Filter};
use sig_register::audit::{self, chain, witness};
use sig_register::auth::{Authenticator, Role};
use sig_register::clock::{Clock, SystemClock};
use sig_register::config::Config;
use sig_register::crypto::keys::KeyStore;
use sig_register::state::AppState;
use sig_register::{build_app, db, retention, telemetry};

/// Consent-gated case register for social intervention groups (SIG, the Örebro model).
#[derive(Debug, Parser)]
#[command(name = "sig-register", version, about)]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run pending migrations, load and validate policies/, serve HTTP.
    Serve,
    /// Run pending migrations and exit.
    Migrate,
    /// Print one signed development JWT (only while the development issuer is active).
    Token(TokenArgs),
    /// Verify or export the audit log, straight from the database.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Retention (gallring): erase the personal data of cases past their retention time.
    #[command(subcommand)]
    Retention(RetentionCommand),
}

#[derive(Debug, Subcommand)]
enum RetentionCommand {
    /// Erase every closed case whose retention time (SIG_RETENTION_YEARS after its last
    /// entry) has passed, or keep it for the research archive; one audit event per case.
    /// Cases on hold are listed and kept.
    Run {
        /// List what would be erased, archived or held, and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Verify the chain and the checkpoints: exit 0 when intact, 1 when tampered (naming the
    /// first bad sequence number and why), 2 when the log could not be read.
    Verify,
    /// Write audit events to stdout, oldest first.
    Export {
        /// Events at or after this RFC 3339 time.
        #[arg(long)]
        from: Option<String>,
        /// Events at or before this RFC 3339 time.
        #[arg(long)]
        to: Option<String>,
        /// `ndjson` or `csv`.
        #[arg(long, default_value = "ndjson")]
        format: String,
    },
}

#[derive(Debug, Args)]
struct TokenArgs {
    /// Stable user id (`sub`).
    #[arg(long)]
    sub: String,
    /// Display name (`name`).
    #[arg(long)]
    name: String,
    /// Agency slug (`agency`).
    #[arg(long)]
    agency: String,
    /// A role; repeat for several.
    #[arg(long = "role", value_enum, required = true)]
    roles: Vec<Role>,
    /// Lifetime in seconds (at most 7 days).
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(i64).range(1..=604_800))]
    ttl: i64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(&cli.config.log, cli.config.log_format);
    let result = match cli.command {
        Command::Serve => serve(cli.config),
        Command::Migrate => migrate(&cli.config),
        Command::Token(args) => token(&cli.config, &args),
        Command::Audit(AuditCommand::Verify) => return audit_verify(&cli.config),
        Command::Audit(AuditCommand::Export { from, to, format }) => {
            audit_export(&cli.config, from.as_deref(), to.as_deref(), &format)
        }
        Command::Retention(RetentionCommand::Run { dry_run }) => retention_run(cli.config, dry_run),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sig-register: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn migrate(config: &Config) -> anyhow::Result<()> {
    let url = config.database()?;
    let ran = db::migrate(&url)?;
    eprintln!(
        "{}: {ran} migration(s) applied, schema up to date",
        db::describe(&url)
    );
    Ok(())
}

fn token(config: &Config, args: &TokenArgs) -> anyhow::Result<()> {
    if config.jwks_file.is_some() {
        anyhow::bail!(
            "SIG_JWKS_FILE is set, so the development issuer is off: tokens come from the identity provider"
        );
    }
    let keys = KeyStore::load_or_create(&config.data_dir)?;
    let auth = Authenticator::new(&keys, None, &config.jwt_issuer, &config.jwt_audience)?;
    let jwt = auth.mint_dev(
        &args.sub,
        &args.name,
        &args.agency,
        &args.roles,
        SystemClock.now(),
        args.ttl,
    )?;
    println!("{jwt}");
    Ok(())
}

fn audit_verify(config: &Config) -> ExitCode {
    let report = (|| -> anyhow::Result<_> {
        let keys = KeyStore::load_or_create(&config.data_dir)?;
        let witness = chain::read_witness(&config.data_dir).map_err(anyhow::Error::msg)?;
        let database = config.database()?;
        let mut conn = database.connect()?;
        // The upper half of the log is verified on a second connection beside the first.
        let mut helper = database.connect()?;
        let report = diesel::Connection::transaction(&mut conn, |conn| {
            chain::verify_with(
                conn,
                Some(&mut helper),
                keys.audit.public_key(),
                witness.as_ref(),
            )
        })?;
        Ok(report)
    })();
    match report {
        Ok(report) => match &report.failure {
            None => {
                let head = report
                    .head
                    .as_ref()
                    .map(|(seq, hash)| format!("head seq {seq}, hash {}", chain::hash_hex(hash)))
                    .unwrap_or_else(|| "the log is empty".to_owned());
                println!(
                    "audit log intact: {} events and {} checkpoints verified; {head}",
                    report.events_verified, report.checkpoints_verified
                );
                ExitCode::SUCCESS
            }
            Some((seq, reason)) => {
                println!("audit log TAMPERED: first bad seq {seq}: {reason}");
                println!("({} events verified before it)", report.events_verified);
                ExitCode::from(1)
            }
        },
        Err(error) => {
            eprintln!("sig-register: the audit log could not be read: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn audit_export(
    config: &Config,
    from: Option<&str>,
    to: Option<&str>,
    format: &str,
) -> anyhow::Result<()> {
    use std::io::Write;
    let format = Format::parse(Some(format))
        .ok_or_else(|| anyhow::anyhow!("--format must be ndjson or csv"))?;
    let time = |text: Option<&str>| -> anyhow::Result<_> {
        text.map(|t| {
            chrono::DateTime::parse_from_rfc3339(t)
                .map(|at| at.with_timezone(&chrono::Utc).naive_utc())
                .map_err(|_| anyhow::anyhow!("{t} is not an RFC 3339 time"))
        })
        .transpose()
    };
    let filter = Filter {
        from: time(from)?,
        to: time(to)?,
        ..Filter::default()
    };
    let mut conn = config.database()?.connect()?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    out.write_all(&format.header())?;
    let mut after = 0;
    loop {
        let batch = query::search(&mut conn, &filter, after, 1000)?;
        let Some(last) = batch.last() else { break };
        after = last.seq;
        for event in &batch {
            out.write_all(&format.event(event))?;
        }
    }
    out.flush()?;
    Ok(())
}

fn retention_run(config: Config, dry_run: bool) -> anyhow::Result<()> {
    let state = AppState::build(config, Arc::new(SystemClock))?;
    let report = retention::run(&state, dry_run)?;
    println!(
        "retention: SIG_RETENTION_YEARS={}, today {} (Europe/Stockholm): {} closed case(s) past their retention time",
        report.retention_years,
        report.today.map(|d| d.to_string()).unwrap_or_default(),
        report.items.len()
    );
    for item in &report.items {
        println!(
            "{:<8} {}  {:<14} last entry {}  kept until {}",
            item.disposition.as_str(),
            item.case_id,
            item.area,
            item.last_entry_on,
            item.retained_until
        );
    }
    if dry_run {
        println!("dry run: nothing was changed");
        return Ok(());
    }
    println!(
        "erased {}, archived {}, on hold {}, left for the next run {}",
        report.erased, report.archived, report.held, report.skipped
    );
    // Sign the new events now rather than leave them to the next serve checkpoint.
    if report.erased + report.archived > 0 {
        if let Some(checkpoint) = witness::checkpoint_now(&state)? {
            println!("audit checkpoint signed at seq {}", checkpoint.seq);
        }
    }
    Ok(())
}

fn serve(config: Config) -> anyhow::Result<()> {
    let bind = config.bind.clone();
    // Units of work run on the workers' blocking threads, each holding a connection: as many
    // threads in all as the pool has connections, so none waits for a connection while
    // another thread of the same worker runs. Beyond that, more threads than cores only add
    // scheduling delay to the slowest requests (measured: README, Performance).
    let workers = sig_register::config::cores();
    let blocking_per_worker = (config.db_pool_size.max(1) as usize).div_ceil(workers);
    let request_timeout = Duration::from_secs(config.request_timeout_secs);
    let keep_alive = Duration::from_secs(config.keep_alive_secs);
    let state = AppState::build(config, Arc::new(SystemClock))?;
    tracing::info!(
        database = %db::describe(&state.config.database()?),
        policies = state.policies.policy_count(),
        development_issuer = state.auth.development_issuer_active(),
        %bind,
        "sig-register ready"
    );
    let data = web::Data::new(state);
    let background = data.clone();
    let at_shutdown = data.clone();
    actix_web::rt::System::new().block_on(async move {
        actix_web::rt::spawn(keep_audit_witnessed(background.clone()));
        actix_web::rt::spawn(run_retention_daily(background.clone()));
        actix_web::rt::spawn(housekeeping(background));
        HttpServer::new(move || build_app(data.clone()))
            .workers(workers)
            .worker_max_blocking_threads(blocking_per_worker)
            .client_request_timeout(request_timeout)
            .client_disconnect_timeout(Duration::from_secs(1))
            .keep_alive(keep_alive)
            .shutdown_timeout(10)
            .bind(&bind)?
            .run()
            .await
    })?;
    // The last checkpoint covers every event this instance wrote.
    match witness::checkpoint_now(&at_shutdown) {
        Ok(Some(checkpoint)) => {
            tracing::info!(seq = checkpoint.seq, "audit checkpoint signed at shutdown")
        }
        Ok(None) => {}
        Err(error) => tracing::error!(%error, "no audit checkpoint at shutdown"),
    }
    tracing::info!("sig-register stopped");
    Ok(())
}

/// Once the workers are up, and then every minute: drops the rate buckets of users who have
/// been quiet long enough for them to be full again, and hands freed heap back to the system.
async fn housekeeping(state: web::Data<AppState>) {
    let start = actix_web::rt::time::Instant::now() + Duration::from_secs(2);
    let mut tick = actix_web::rt::time::interval_at(start, Duration::from_secs(60));
    loop {
        tick.tick().await;
        state.rate_limits.forget_idle();
        return_free_memory();
    }
}

/// glibc keeps freed memory in its per-thread arenas; building the app on each worker (the
/// route and OpenAPI tables) leaves several megabytes there that a quiet server never reuses.
#[cfg(target_env = "gnu")]
fn return_free_memory() {
    // SAFETY: malloc_trim only releases free pages of the allocator's own arenas.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(target_env = "gnu"))]
fn return_free_memory() {}

/// Retention once a minute after start, then every 24 hours. Several instances may run it at
/// once: each case is erased in one transaction that checks it is still unchanged.
async fn run_retention_daily(state: web::Data<AppState>) {
    const FIRST_RUN: Duration = Duration::from_secs(60);
    const EVERY: Duration = Duration::from_secs(24 * 60 * 60);
    let mut tick =
        actix_web::rt::time::interval_at(actix_web::rt::time::Instant::now() + FIRST_RUN, EVERY);
    loop {
        tick.tick().await;
        let state = state.clone();
        match web::block(move || retention::run(&state, false)).await {
            Ok(Ok(report)) => tracing::info!(
                due = report.items.len(),
                erased = report.erased,
                archived = report.archived,
                on_hold = report.held,
                left_for_next_run = report.skipped,
                "retention run"
            ),
            Ok(Err(error)) => tracing::error!(%error, "retention run failed; next run in 24 h"),
            Err(error) => tracing::error!(%error, "retention run did not start"),
        }
    }
}

/// Every 250 ms: refresh the audit witness; every 60 s: sign a checkpoint.
async fn keep_audit_witnessed(state: web::Data<AppState>) {
    const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(60);
    let mut tick = actix_web::rt::time::interval(Duration::from_millis(250));
    let mut last_checkpoint = std::time::Instant::now();
    loop {
        tick.tick().await;
        let checkpoint_due = last_checkpoint.elapsed() >= CHECKPOINT_INTERVAL;
        if checkpoint_due {
            last_checkpoint = std::time::Instant::now();
        }
        let state = state.clone();
        let result = web::block(move || {
            if checkpoint_due {
                witness::checkpoint_now(&state).map(|_| ())
            } else {
                state
                    .witness
                    .flush(&state.keys.audit, audit::to_micros(state.clock.now()))
                    .map_err(|e| sig_register::error::ApiError::Internal(e.to_string()))
            }
        })
        .await;
        if let Ok(Err(error)) = result {
            tracing::warn!(%error, "audit witness or checkpoint not written");
        }
    }
}
