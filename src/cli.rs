//! The one-shot commands of the `sig-register` binary (everything but `serve`): each takes the
//! parsed configuration and prints what it did.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;

use crate::audit::chain;
use crate::audit::export::Format;
use crate::audit::query::{self, Filter};
use crate::auth::{Authenticator, KeyOrigin, Role};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::crypto::keys::KeyStore;
use crate::db;
use crate::jobs;
use crate::state::AppState;

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Stable user id (`sub`).
    #[arg(long)]
    pub sub: String,
    /// Display name (`name`).
    #[arg(long)]
    pub name: String,
    /// Agency slug (`agency`).
    #[arg(long)]
    pub agency: String,
    /// A role; repeat for several.
    #[arg(long = "role", value_enum, required = true)]
    pub roles: Vec<Role>,
    /// Lifetime in seconds (at most 7 days).
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(i64).range(1..=604_800))]
    pub ttl: i64,
}

pub fn migrate(config: &Config) -> anyhow::Result<()> {
    let url = config.database()?;
    let ran = db::migrate(&url)?;
    eprintln!(
        "{}: {ran} migration(s) applied, schema up to date",
        db::describe(&url)
    );
    Ok(())
}

pub fn token(config: &Config, args: &TokenArgs) -> anyhow::Result<()> {
    for (set, name) in [
        (config.jwks_file.is_some(), "SIG_JWKS_FILE"),
        (
            config.jwks_url.as_deref().is_some_and(|u| !u.is_empty()),
            "SIG_JWKS_URL",
        ),
    ] {
        if set {
            anyhow::bail!(
                "{name} is set, so the development issuer is off: tokens come from the identity provider"
            );
        }
    }
    if config.oidc_issuer.as_deref().is_some_and(|i| !i.is_empty()) {
        anyhow::bail!(
            "SIG_OIDC_ISSUER is set, so the development issuer is off: users sign in at the OpenID Provider"
        );
    }
    let fresh = !config
        .data_dir
        .join(crate::crypto::keys::JWT_DEV_KEY_FILE)
        .exists();
    let keys = KeyStore::load_or_create(&config.data_dir)?;
    if fresh {
        // Most likely run from another folder than the server: its token would be refused.
        eprintln!(
            "sig-register: note: made a new development key in {} (SIG_DATA_DIR); only a server \
             using that same data folder accepts this token",
            config.data_dir.display()
        );
    }
    let auth = Authenticator::new(
        &keys,
        KeyOrigin::Development,
        &config.jwt_issuer,
        &config.jwt_audience,
    )?
    .with_required_type(config.jwt_typ.as_deref());
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

pub fn audit_verify(config: &Config, incremental: bool) -> ExitCode {
    let report = (|| -> anyhow::Result<_> {
        let keys = KeyStore::load_or_create(&config.data_dir)?;
        let witness = chain::read_witness(&config.data_dir).map_err(anyhow::Error::msg)?;
        let database = config.database()?;
        let mut conn = database.connect()?;
        // The upper half of the log is verified on a second connection beside the first.
        let mut helper = database.connect()?;
        let report = diesel::Connection::transaction(&mut conn, |conn| {
            if incremental {
                crate::audit::verify::verify_incremental(conn, &keys.audit, witness.as_ref())
            } else {
                crate::audit::verify::verify_with(
                    conn,
                    Some(&mut helper),
                    &keys.audit,
                    witness.as_ref(),
                )
            }
        })?;
        let witnesses = crate::audit::cosign::parse_targets(&config.audit_witnesses)
            .map_err(|e| anyhow::anyhow!("SIG_AUDIT_WITNESSES: {e}"))?;
        let cosigned = if witnesses.is_empty() {
            None
        } else {
            Some(crate::audit::cosign::report(&mut conn, &witnesses)?)
        };
        let mut report = report;
        if let Some((size, witness)) = cosigned.as_ref().and_then(|c| c.invalid.clone()) {
            report.failure.get_or_insert((
                size,
                format!("the cosignature by {witness} of the tree head at {size} does not verify"),
            ));
        }
        if let Some(uncosigned) = cosigned.map(|c| c.uncosigned).filter(|u| !u.is_empty()) {
            let newest: Vec<String> = uncosigned
                .iter()
                .rev()
                .take(5)
                .map(i64::to_string)
                .collect();
            println!(
                "{} signed tree heads have no witness cosignature (newest: {})",
                uncosigned.len(),
                newest.join(", ")
            );
        }
        // Intact: recorded (signed) for the next incremental verification.
        let at = crate::audit::to_micros(crate::clock::SystemClock.now());
        crate::db::write_tx(&mut conn, |c| {
            crate::audit::verify::record(c, &keys.audit, &report, at)
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
                let since = report
                    .since
                    .map(|m| format!(" since the verification of the first {m} events"))
                    .unwrap_or_default();
                println!(
                    "audit log intact: {} events and {} checkpoints verified{since}; {head}",
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

/// `audit public-key`: the verifier key of the log's checkpoints.
pub fn audit_public_key(config: &Config) -> anyhow::Result<()> {
    let keys = KeyStore::load_or_create(&config.data_dir)?;
    println!(
        "{}",
        crate::audit::note::verifier_key(&config.audit_origin, keys.audit.public_key())
    );
    Ok(())
}

/// A public key as `--public-key` takes it: `(name, key)`, the name only from a verifier key.
fn read_public_key(text: &str) -> Option<(Option<String>, Vec<u8>)> {
    use base64::Engine as _;
    let text = text.trim();
    if let Some((name, key)) = crate::audit::note::parse_verifier_key(text) {
        return Some((Some(name), key));
    }
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
        base64::engine::general_purpose::STANDARD_NO_PAD,
        base64::engine::general_purpose::URL_SAFE,
    ];
    crate::crypto::keys::unhex(text)
        .into_iter()
        .chain(engines.iter().filter_map(|e| e.decode(text).ok()))
        .find(|key| key.len() == 32)
        .map(|key| (None, key))
}

/// `audit verify-extract FILE --public-key KEY`: 0 verified, 1 refused, 2 unreadable.
pub fn audit_verify_extract(file: &std::path::Path, public_key: &str) -> ExitCode {
    let key = read_public_key(public_key).or_else(|| {
        std::fs::read_to_string(public_key)
            .ok()
            .and_then(|text| read_public_key(&text))
    });
    let Some((name, key)) = key else {
        eprintln!("sig-register: --public-key is neither a verifier key, a 32-byte Ed25519 key in base64 or hex, nor a file holding one");
        return ExitCode::from(2);
    };
    let text = match std::fs::read(file) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("sig-register: {}: {error}", file.display());
            return ExitCode::from(2);
        }
    };
    match crate::audit::extract::verify(&text, name.as_deref(), &key) {
        Ok(verified) => {
            println!(
                "extract VERIFIED: {} events of case {} are in the log {} (signed tree of {} events)",
                verified.events.len(),
                verified.case_id,
                verified.origin,
                verified.tree_size
            );
            for e in &verified.events {
                println!(
                    "  {:>8}  {}  {:<28} {:<20} {:<24} {}",
                    e.seq, e.at, e.agency, e.roles, e.action, e.outcome
                );
            }
            ExitCode::SUCCESS
        }
        Err(reason) => {
            println!("extract REFUSED: {reason}");
            ExitCode::from(1)
        }
    }
}

pub fn audit_export(
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

pub fn retention_run(config: Config, dry_run: bool) -> anyhow::Result<()> {
    let state = AppState::build(config, Arc::new(SystemClock))?;
    let report = jobs::retention::run(&state, dry_run)?;
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
        if let Some(checkpoint) = jobs::checkpoints::sign_now(&state)? {
            println!("audit checkpoint signed at seq {}", checkpoint.seq);
        }
    }
    Ok(())
}

/// The keys `keys rotate` replaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RotatedKey {
    /// The field-encryption key (AES-256-GCM of names, personal numbers, note texts …).
    Field,
    /// The blind-index key of personal-number search: every case is indexed again with the
    /// new key (stop every instance first).
    BlindIndex,
    /// The audit log's signing key: the old key hands the log over to the new one at its head
    /// (stop every instance first).
    Audit,
}

pub fn keys_rotate(config: &Config, key: RotatedKey) -> anyhow::Result<()> {
    match key {
        RotatedKey::Field => {
            let label = SystemClock.now().format("%Y-%m-%dT%H%M%SZ").to_string();
            let kept = crate::crypto::keys::rotate_field_key(&config.data_dir, &label)?;
            println!(
                "field key rotated in {}: the old key is kept as {} (values sealed with it keep \
                 opening; keep it while such rows exist). Restart each instance: until then it \
                 seals with the old key, which stays readable.",
                config.data_dir.display(),
                kept.display()
            );
        }
        RotatedKey::Audit => {
            let (seq, verifier_key) = jobs::keys::rotate_audit_key(config)?;
            println!(
                "audit key rotated in {}: the old key signed the handover at seq {seq} ({}); \
                 heads after it are signed by the new key. Give the witnesses and whoever checks \
                 extracts the new verifier key:\n{verifier_key}",
                config.data_dir.display(),
                crate::crypto::keys::AUDIT_HANDOVERS_FILE
            );
        }
        RotatedKey::BlindIndex => {
            let indexed = jobs::keys::rotate_blind_index(config)?;
            println!(
                "blind-index key rotated in {}: {indexed} case(s) indexed again with the new key; \
                 the audit tree's leaf key is kept in {}. Start the instances again.",
                config.data_dir.display(),
                crate::crypto::keys::AUDIT_LEAF_KEY_FILE
            );
        }
    }
    Ok(())
}

pub fn backup(config: &Config, to: &std::path::Path) -> anyhow::Result<()> {
    let done = jobs::backup::backup(config, to, SystemClock.now())?;
    for entry in &done.manifest.files {
        println!("{:<44} {:>8} bytes", entry.name, entry.bytes);
    }
    if let Some(database) = &done.manifest.database {
        let seq = done
            .manifest
            .audit_seq
            .map_or_else(|| "none".to_owned(), |s| s.to_string());
        println!(
            "{:<44} {:>8} bytes  (a consistent copy; audit events up to seq {seq})",
            database.name, database.bytes
        );
    }
    if let Some(command) = &done.postgres_command {
        println!(
            "The database is PostgreSQL's to back up. Run (the password from PGPASSWORD or \
             ~/.pgpass), and keep the dump with this folder:\n    {command}"
        );
    }
    println!(
        "backup written to {} — keep it apart from the server and as safe as the keys in it",
        to.display()
    );
    Ok(())
}

pub fn restore(config: &Config, from: &std::path::Path) -> anyhow::Result<()> {
    let restored = jobs::backup::restore(config, from)?;
    println!(
        "restored {} files of the backup of {} into {}",
        restored.manifest.files.len(),
        restored.manifest.created_at,
        config.data_dir.display()
    );
    if let Some(path) = &restored.database {
        println!("restored the database to {}", path.display());
    }
    if let Some(command) = &restored.postgres_command {
        println!("Restore the database into an empty PostgreSQL database first:\n    {command}");
    }
    println!("next: sig-register audit verify, then sig-register serve");
    Ok(())
}

pub fn demo(config: Config) -> anyhow::Result<()> {
    if config.jwks_file.is_some()
        || config.jwks_url.as_deref().is_some_and(|u| !u.is_empty())
        || config.oidc_issuer.as_deref().is_some_and(|i| !i.is_empty())
    {
        anyhow::bail!(
            "the demo runs in development mode only: SIG_JWKS_FILE, SIG_JWKS_URL or SIG_OIDC_ISSUER is set"
        );
    }
    let now = SystemClock.now();
    let clock = Arc::new(crate::clock::FixedClock::new(now));
    let state = AppState::build(config, clock.clone())?;
    let report = actix_web::rt::System::new()
        .block_on(async { jobs::demo::fill(&state, &clock, now).await })?;
    if report.existing > 0 {
        println!(
            "the register already holds {} demo case(s); nothing added",
            report.existing
        );
        return Ok(());
    }
    clock.set(SystemClock.now());
    let signed = jobs::checkpoints::sign_now(&state)?;
    println!(
        "demo: {} fictitious case(s) in the five areas, with consents in every state, plans, \
         notes and three weeks of audit events{}",
        report.cases,
        signed.map_or(String::new(), |c| format!(
            " (checkpoint signed at seq {})",
            c.seq
        ))
    );
    println!("start the service (sig-register serve), open http://127.0.0.1:8080/ and log in");
    println!(
        "in development mode as user id demo-anna, agency Socialtjänsten Örebro kommun, role \
         Socialsekreterare (or demo-per at the police)"
    );
    Ok(())
}
