//! The `sig-register` command: serve, migrate, token.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, HttpServer};
use clap::{Args, Parser, Subcommand};

use sig_register::auth::{Authenticator, Role};
use sig_register::clock::{Clock, SystemClock};
use sig_register::config::Config;
use sig_register::crypto::keys::KeyStore;
use sig_register::state::AppState;
use sig_register::{build_app, db, telemetry};

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

fn serve(config: Config) -> anyhow::Result<()> {
    let bind = config.bind.clone();
    let pool_size = config.db_pool_size.max(1) as usize;
    let state = AppState::build(config, Arc::new(SystemClock))?;
    tracing::info!(
        database = %db::describe(&state.config.database()?),
        policies = state.policies.policy_count(),
        development_issuer = state.auth.development_issuer_active(),
        %bind,
        "sig-register ready"
    );
    let data = web::Data::new(state);
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || build_app(data.clone()))
            .worker_max_blocking_threads(pool_size)
            .client_request_timeout(Duration::from_secs(10))
            .keep_alive(Duration::from_secs(30))
            .shutdown_timeout(10)
            .bind(&bind)?
            .run()
            .await
    })?;
    tracing::info!("sig-register stopped");
    Ok(())
}
