//! `sig-register witness serve`: an outside witness of one or more audit logs, for another
//! party to run (the municipality's archive, a neighbouring municipality). It answers the C2SP
//! `tlog-witness` protocol's `POST /add-checkpoint` ([`crate::audit::cosign`]): it keeps, per log,
//! the last checkpoint it cosigned in `DIR/witness-state.json` (written before it answers), and
//! appends every validly signed checkpoint it refuses as a rollback, fork or rewrite to
//! `DIR/evidence.ndjson` — the proof that the log misbehaved.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use actix_web::{web, App, HttpResponse, HttpServer};

use crate::audit::cosign::{self, Answer, LogKey, WitnessState};
use crate::audit::note;
use crate::clock::{Clock as _, SystemClock};
use crate::crypto::keys::{self, Ed25519Key};

const KEY_FILE: &str = "witness-ed25519.pk8";
const STATE_FILE: &str = "witness-state.json";
const EVIDENCE_FILE: &str = "evidence.ndjson";
/// A request body larger than this is refused (a checkpoint and 63 proof lines are ~4 KB).
const BODY_LIMIT: usize = 64 * 1024;

/// What `witness serve` is given.
#[derive(Clone, Debug)]
pub struct WitnessSettings {
    pub listen: String,
    pub dir: PathBuf,
    /// The witness's name in its cosignatures (a schema-less URL, e.g.
    /// `arkiv.orebro.se/sig-witness`).
    pub name: String,
    /// The verifier keys of the logs it follows (`origin+hash+base64`, as `sig-register audit
    /// public-key` prints them).
    pub logs: Vec<String>,
}

struct Witness {
    name: String,
    key: Ed25519Key,
    logs: Vec<LogKey>,
    dir: PathBuf,
    state: Mutex<WitnessState>,
}

/// The witness's key, created on first use (0600).
pub fn key(dir: &Path) -> anyhow::Result<Ed25519Key> {
    Ok(keys::load_or_create_ed25519(&dir.join(KEY_FILE))?)
}

/// The verifier key of the witness in `dir` named `name`, for the service's
/// `SIG_AUDIT_WITNESSES`.
pub fn verifier_key(dir: &Path, name: &str) -> anyhow::Result<String> {
    Ok(cosign::verifier_key(name, key(dir)?.public_key()))
}

fn read_state(dir: &Path) -> anyhow::Result<WitnessState> {
    match std::fs::read(dir.join(STATE_FILE)) {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes)
            .map_err(|e| anyhow::anyhow!("{STATE_FILE} is not readable: {e}"))?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(WitnessState::default()),
        Err(e) => Err(e.into()),
    }
}

fn write_state(dir: &Path, state: &WitnessState) -> std::io::Result<()> {
    let tmp = dir.join(format!("{STATE_FILE}.tmp"));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(&serde_json::to_vec_pretty(state).map_err(std::io::Error::other)?)?;
    file.sync_all()?;
    std::fs::rename(&tmp, dir.join(STATE_FILE))?;
    std::fs::File::open(dir)?.sync_all()
}

fn record_evidence(dir: &Path, answer: &Answer, body: &str) {
    let line = serde_json::json!({
        "at": crate::clock::rfc3339(&SystemClock.now()),
        "status": answer.status(),
        "refused": format!("{answer:?}"),
        "request": body,
    });
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(EVIDENCE_FILE))
        .and_then(|mut file| writeln!(file, "{line}").and_then(|()| file.sync_all()));
    if let Err(error) = written {
        tracing::error!(%error, "the witness could not record the refused checkpoint");
    }
}

async fn add_checkpoint(witness: web::Data<Witness>, body: String) -> HttpResponse {
    let witness = witness.into_inner();
    let answer = web::block(move || {
        let now = u64::try_from(SystemClock.now().timestamp()).unwrap_or(0);
        let mut state = witness
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut next = state.clone();
        let answer = cosign::add_checkpoint(
            &mut next,
            &witness.logs,
            &witness.name,
            &witness.key.pair,
            &body,
            now,
        );
        if let Answer::Cosigned(_) = answer {
            // Persisted before the answer, under the same lock as the check.
            if let Err(error) = write_state(&witness.dir, &next) {
                tracing::error!(%error, "the witness could not record its state; not cosigning");
                return None;
            }
            *state = next;
        } else if answer.is_evidence() {
            tracing::warn!(
                status = answer.status(),
                "refused a validly signed checkpoint: rollback, fork or rewrite"
            );
            record_evidence(&witness.dir, &answer, &body);
        }
        Some(answer)
    })
    .await;
    match answer {
        Ok(Some(Answer::Cosigned(lines))) => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(lines),
        Ok(Some(Answer::Conflict { size, .. })) => HttpResponse::Conflict()
            .content_type("text/x.tlog.size")
            .body(format!("{size}\n")),
        Ok(Some(answer)) => {
            let status = actix_web::http::StatusCode::from_u16(answer.status())
                .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
            let text = match answer {
                Answer::BadRequest(reason) => reason.to_owned(),
                Answer::Forbidden => "no signature by a key this witness trusts".to_owned(),
                Answer::UnknownLog => "this witness does not follow that log".to_owned(),
                _ => "the consistency proof does not verify".to_owned(),
            };
            HttpResponse::build(status)
                .content_type("text/plain; charset=utf-8")
                .body(format!("{text}\n"))
        }
        Ok(None) | Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

/// Runs the witness until SIGTERM or Ctrl-C.
pub fn serve(settings: WitnessSettings) -> anyhow::Result<()> {
    std::fs::create_dir_all(&settings.dir)?;
    let key = key(&settings.dir)?;
    let mut logs = Vec::new();
    for text in &settings.logs {
        let (origin, key) = note::parse_verifier_key(text)
            .ok_or_else(|| anyhow::anyhow!("--log-key {text:?} is not a log's verifier key"))?;
        logs.push(LogKey { origin, key });
    }
    if logs.is_empty() {
        anyhow::bail!("give the verifier key of at least one log to follow (--log-key)");
    }
    let state = read_state(&settings.dir)?;
    tracing::info!(
        name = %settings.name,
        key = %cosign::verifier_key(&settings.name, key.public_key()),
        logs = logs.len(),
        listen = %settings.listen,
        "witness started"
    );
    let witness = web::Data::new(Witness {
        name: settings.name,
        key,
        logs,
        dir: settings.dir,
        state: Mutex::new(state),
    });
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            App::new()
                .app_data(witness.clone())
                .app_data(web::PayloadConfig::new(BODY_LIMIT))
                .route("/add-checkpoint", web::post().to(add_checkpoint))
                .route("/healthz", web::get().to(HttpResponse::Ok))
        })
        .workers(1)
        .bind(&settings.listen)?
        .run()
        .await
    })?;
    Ok(())
}
