//! `serve`: the HTTP server and its background tasks (the audit witness and checkpoints,
//! daily retention, housekeeping).

use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, HttpServer};

use crate::clock::SystemClock;
use crate::config::Config;
use crate::jobs;
use crate::state::AppState;
use crate::{build_app, db};

/// Runs pending migrations, loads the policies and serves HTTP until stopped.
pub fn serve(config: Config) -> anyhow::Result<()> {
    let bind = config.bind.clone();
    // Units of work run on the workers' blocking threads, each holding a connection: as many
    // threads in all as the pool has connections, so none waits for a connection while
    // another thread of the same worker runs. Beyond that, more threads than cores only add
    // scheduling delay to the slowest requests (measured: docs/performance.md).
    let workers = crate::config::cores();
    let blocking_per_worker = (config.db_pool_size.max(1) as usize).div_ceil(workers);
    let request_timeout = Duration::from_secs(config.request_timeout_secs);
    let keep_alive = Duration::from_secs(config.keep_alive_secs);
    let state = AppState::build(config, Arc::new(SystemClock))?;
    let database = db::describe(&state.config.database()?);
    let data = web::Data::new(state);
    let background = data.clone();
    let at_shutdown = data.clone();
    actix_web::rt::System::new().block_on(async move {
        let app = data.clone();
        let server = HttpServer::new(move || build_app(app.clone()))
            .workers(workers)
            .worker_max_blocking_threads(blocking_per_worker)
            .client_request_timeout(request_timeout)
            .client_disconnect_timeout(Duration::from_secs(1))
            .keep_alive(keep_alive)
            .shutdown_timeout(10)
            .bind(&bind)
            .map_err(|error| anyhow::anyhow!("cannot listen on {bind} (SIG_BIND): {error}"))?;
        // Ready: the database answered (migrations ran), the policies loaded, the port is bound.
        tracing::info!(
            %database,
            policies = data.policies.policy_count(),
            development_issuer = data.auth.development_issuer_active(),
            %bind,
            "sig-register ready"
        );
        actix_web::rt::spawn(keep_audit_witnessed(background.clone()));
        actix_web::rt::spawn(run_retention_daily(background.clone()));
        actix_web::rt::spawn(share_rate_limits(background.clone()));
        if background.auth.fetches_keys() {
            actix_web::rt::spawn(keep_provider_keys(background.clone()));
        }
        actix_web::rt::spawn(housekeeping(background));
        server.run().await?;
        Ok::<_, anyhow::Error>(())
    })?;
    // Throttled requests still being counted get their event, before the last checkpoint.
    jobs::throttle::flush(&at_shutdown, true);
    // The last checkpoint covers every event this instance wrote.
    match jobs::checkpoints::sign_now(&at_shutdown) {
        Ok(Some(checkpoint)) => {
            tracing::info!(seq = checkpoint.seq, "audit checkpoint signed at shutdown")
        }
        Ok(None) => {}
        Err(error) => tracing::error!(%error, "no audit checkpoint at shutdown"),
    }
    jobs::cosign::submit_all(&at_shutdown);
    tracing::info!("sig-register stopped");
    Ok(())
}

/// Once the workers are up, and then every minute: writes the `auth.throttled` events of the
/// minutes that have run, drops the rate buckets of users and addresses quiet long enough for
/// them to be full again, and hands freed heap back to the system.
async fn housekeeping(state: web::Data<AppState>) {
    let start = actix_web::rt::time::Instant::now() + Duration::from_secs(2);
    let mut tick = actix_web::rt::time::interval_at(start, Duration::from_secs(60));
    loop {
        tick.tick().await;
        let counts = state.clone();
        if let Err(error) = web::block(move || jobs::throttle::flush(&counts, false)).await {
            tracing::error!(%error, "the auth.throttled events were not written");
        }
        state.rate_limits.forget_idle();
        state.auth_failures.forget_idle();
        return_free_memory();
    }
}

/// Every 5 s: counts the instances serving on this database and shares the per-user rate
/// limit among them ([`jobs::instances`]).
async fn share_rate_limits(state: web::Data<AppState>) {
    let presence = Arc::new(std::sync::Mutex::new(jobs::instances::Presence::default()));
    let mut tick = actix_web::rt::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        let (state, presence) = (state.clone(), presence.clone());
        let counted = web::block(move || {
            let mut presence = presence.lock().unwrap_or_else(|e| e.into_inner());
            presence.tick(&state)
        })
        .await;
        match counted {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                tracing::warn!(%error, "the instances on the database were not counted")
            }
            Err(error) => tracing::warn!(%error, "the instance count did not run"),
        }
    }
}

/// At start, and then every 10 s: fetches the identity provider's keys when they are missing
/// or past their lifetime, so requests seldom wait for a fetch and readiness reflects the
/// provider ([`crate::auth::provider_keys`]).
async fn keep_provider_keys(state: web::Data<AppState>) {
    let mut tick = actix_web::rt::time::interval(Duration::from_secs(10));
    loop {
        tick.tick().await;
        let now = state.clock.now();
        if !state.auth.keys_due(now) {
            continue;
        }
        let fetching = state.clone();
        let trigger = crate::auth::Trigger::Due;
        if let Err(error) = web::block(move || fetching.auth.refresh_keys(now, trigger)).await {
            tracing::warn!(%error, "the identity provider's keys were not fetched");
        }
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
        match web::block(move || jobs::retention::run(&state, false)).await {
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
                let signed = jobs::checkpoints::sign_now(&state).map(|_| ());
                jobs::cosign::submit_all(&state);
                signed
            } else {
                jobs::checkpoints::refresh_witness(&state).map_err(|e| {
                    jobs::checkpoints::Error::Checkpoint(
                        crate::audit::log::CheckpointError::Witness(e),
                    )
                })
            }
        })
        .await;
        if let Ok(Err(error)) = result {
            tracing::warn!(%error, "audit witness or checkpoint not written");
        }
    }
}
