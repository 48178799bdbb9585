//! Faults injected into a served binary: `kill -9` during writes, the database stopped during a
//! load, the audit store made unwritable, a revocation racing reads. Each runs against a real
//! process over real HTTP; `SIG_FAULT_ROUNDS` sets how often the repeated ones repeat (3 here,
//! 20 in `scripts/faults.sh`).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::Connection;
use serde_json::{json, Value};

use sig_register::clock::{Clock, SystemClock};

use crate::cli::{base_env, mint_as};
use crate::support::fixtures::{case_body_on, consent_body_on, OWNER_AGENCY, POLICE_AGENCY};
use crate::support::http::{cli, request, Reply, Server};
use crate::support::pg;

fn rounds() -> usize {
    std::env::var("SIG_FAULT_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

/// One served instance over its own data directory, restartable.
struct Subject {
    root: tempfile::TempDir,
    env: Vec<(&'static str, String)>,
    server: Option<Server>,
    port: u16,
    owner: String,
    police: String,
    auditor: String,
}

impl Subject {
    fn new(database_url: Option<String>) -> Self {
        let root = tempfile::tempdir().expect("tempdir");
        let url = database_url
            .unwrap_or_else(|| format!("sqlite://{}", root.path().join("faults.db").display()));
        let mut env = base_env(root.path(), url);
        // These tests are about faults, not about one user's pace.
        env.push(("SIG_RATE_LIMIT_PER_SECOND", "1000000".to_owned()));
        env.push(("SIG_RATE_LIMIT_BURST", "1000000".to_owned()));
        let owner = mint_as(
            root.path(),
            &env,
            "ss-fault",
            OWNER_AGENCY,
            "social_secretary",
        );
        let police = mint_as(
            root.path(),
            &env,
            "po-fault",
            POLICE_AGENCY,
            "police_officer",
        );
        let auditor = mint_as(root.path(), &env, "au-fault", OWNER_AGENCY, "auditor");
        let mut subject = Self {
            root,
            env,
            server: None,
            port: 0,
            owner,
            police,
            auditor,
        };
        subject.start();
        subject
    }

    fn start(&mut self) {
        let (mut server, port) = Server::spawn(self.root.path(), &self.env);
        assert!(server.wait_ready(Duration::from_secs(30)), "serve starts");
        self.server = Some(server);
        self.port = port;
    }

    /// SIGKILL: no shutdown, no final checkpoint, no flushing of anything.
    fn kill_9(&mut self) {
        if let Some(mut server) = self.server.take() {
            server.child.kill().expect("kill -9");
            server.child.wait().expect("reap");
        }
    }

    fn alive(&mut self) -> bool {
        self.server
            .as_mut()
            .is_some_and(|s| matches!(s.child.try_wait(), Ok(None)))
    }

    fn call(&self, method: &str, path: &str, token: &str, body: Option<&Value>) -> Option<Reply> {
        request(self.port, method, path, Some(token), &[], body)
    }

    /// A case of a 16-year-old with an active consent for the police to read its identity.
    fn consented_case(&self) -> (String, String) {
        let today = SystemClock.today();
        let created = self
            .call(
                "POST",
                "/api/v1/cases",
                &self.owner,
                Some(&case_body_on(today, 16)),
            )
            .expect("create");
        assert_eq!(created.status, 201, "{}", created.body);
        let view = created.json();
        let id = view["id"].as_str().expect("id").to_owned();
        let guardians: Vec<String> = view["guardians"]
            .as_array()
            .expect("guardians")
            .iter()
            .map(|g| g["id"].as_str().expect("id").to_owned())
            .collect();
        let body = consent_body_on(today, &guardians, &[POLICE_AGENCY], &["identity"], -1, 180);
        let consent = self
            .call(
                "POST",
                &format!("/api/v1/cases/{id}/consents"),
                &self.owner,
                Some(&body),
            )
            .expect("consent");
        assert_eq!(consent.status, 201, "{}", consent.body);
        let consent_id = consent.json()["id"].as_str().expect("id").to_owned();
        (id, consent_id)
    }

    /// `count` police officers' threads reading the case until `stop`.
    fn police_readers(
        &self,
        case_id: &str,
        count: usize,
        stop: &Arc<AtomicBool>,
    ) -> Vec<thread::JoinHandle<Vec<Read>>> {
        (0..count)
            .map(|_| {
                read_loop(
                    self.port,
                    self.police.clone(),
                    format!("/api/v1/cases/{case_id}"),
                    stop.clone(),
                )
            })
            .collect()
    }

    fn verify_over_http(&self) {
        let verified = self
            .call("GET", "/api/v1/audit/verify", &self.auditor, None)
            .expect("verify");
        assert_eq!(verified.status, 200, "{}", verified.body);
        assert_eq!(verified.json()["ok"], true, "{}", verified.body);
    }

    /// Stops the server and runs `sig-register audit verify` on the files it left.
    fn stop_and_verify_offline(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop();
        }
        let output = cli(self.root.path(), &self.env, &["audit", "verify"]);
        assert!(
            output.status.success(),
            "audit verify: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Events of `action` on `case_id` with `status`, from the full NDJSON export.
    fn events(&self, action: &str, case_id: &str, status: u16) -> usize {
        let export = self
            .call(
                "GET",
                &format!(
                    "/api/v1/audit/events/export?format=ndjson&action={action}&case_id={case_id}"
                ),
                &self.auditor,
                None,
            )
            .expect("export");
        assert_eq!(export.status, 200);
        export
            .body
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|event| event["status"] == u64::from(status))
            .count()
    }
}

fn acknowledged_writes_survive_kill_9(database_url: Option<String>) {
    let mut subject = Subject::new(database_url);
    let (case_id, _) = subject.consented_case();
    let notes_path = format!("/api/v1/cases/{case_id}/notes");
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut cut = 0usize;
    let rounds = rounds();
    for round in 0..rounds {
        if round > 0 {
            subject.start();
        }
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..4)
            .map(|writer| {
                let (port, token, path) = (subject.port, subject.owner.clone(), notes_path.clone());
                let (stop, acknowledged) = (stop.clone(), acknowledged.clone());
                thread::spawn(move || {
                    let mut cut = 0usize;
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let body =
                            json!({"text": format!("round {round} writer {writer} note {n}")});
                        match request(port, "POST", &path, Some(&token), &[], Some(&body)) {
                            Some(reply) if reply.status == 201 => acknowledged
                                .lock()
                                .expect("lock")
                                .push(reply.json()["id"].as_str().expect("id").to_owned()),
                            Some(reply) => assert!(
                                reply.status == 503,
                                "only 503 may fail a write: {} {}",
                                reply.status,
                                reply.body
                            ),
                            None => {
                                cut += 1;
                                // The server is gone; wait for the round to end.
                                thread::sleep(Duration::from_millis(20));
                            }
                        }
                    }
                    cut
                })
            })
            .collect();
        // A different moment in each round.
        thread::sleep(Duration::from_millis(150 + (round as u64 * 137) % 450));
        subject.kill_9();
        stop.store(true, Ordering::Relaxed);
        cut += writers
            .into_iter()
            .map(|w| w.join().expect("writer"))
            .sum::<usize>();
    }
    subject.start();
    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(
        acknowledged.len() >= rounds,
        "the writers got writes through ({} acknowledged)",
        acknowledged.len()
    );
    let listed = subject
        .call("GET", &notes_path, &subject.owner, None)
        .expect("notes");
    assert_eq!(listed.status, 200);
    let present: HashSet<String> = listed.json()["items"]
        .as_array()
        .expect("notes array")
        .iter()
        .map(|n| n["id"].as_str().expect("id").to_owned())
        .collect();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !present.contains(*id))
        .collect();
    assert!(lost.is_empty(), "acknowledged notes lost: {lost:?}");
    let audited = subject.events("note.create", &case_id, 201);
    assert!(
        audited >= acknowledged.len(),
        "{audited} note.create events for {} acknowledged notes",
        acknowledged.len()
    );
    assert_eq!(audited, present.len(), "one event per stored note");
    subject.verify_over_http();
    subject.stop_and_verify_offline();
    eprintln!(
        "kill -9: {rounds} rounds survived, {} writes acknowledged and present, {cut} requests unanswered (cut in flight or refused while down)",
        acknowledged.len()
    );
}

#[test]
fn sqlite_acknowledged_writes_survive_kill_9() {
    acknowledged_writes_survive_kill_9(None);
}

#[test]
fn postgres_acknowledged_writes_survive_kill_9() {
    let Some(url) = pg::fresh_database() else {
        return;
    };
    acknowledged_writes_survive_kill_9(Some(url));
}

/// One read: when it was sent and answered, its status (`None`: the connection was cut) and code.
struct Read {
    started: Instant,
    ended: Instant,
    status: Option<u16>,
    code: String,
}

/// Reads in a loop until `stop`.
fn read_loop(
    port: u16,
    token: String,
    path: String,
    stop: Arc<AtomicBool>,
) -> thread::JoinHandle<Vec<Read>> {
    thread::spawn(move || {
        let mut seen = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let started = Instant::now();
            let reply = request(port, "GET", &path, Some(&token), &[], None);
            let code = reply
                .as_ref()
                .map(|r| r.json()["code"].as_str().unwrap_or("").to_owned())
                .unwrap_or_default();
            seen.push(Read {
                started,
                ended: Instant::now(),
                status: reply.map(|r| r.status),
                code,
            });
        }
        seen
    })
}

fn a_revocation_holds_for_every_read_after_its_response(database_url: Option<String>) {
    let mut subject = Subject::new(database_url);
    let (mut before, mut after) = (0usize, 0usize);
    for _ in 0..rounds() {
        let (case_id, consent_id) = subject.consented_case();
        let stop = Arc::new(AtomicBool::new(false));
        let readers = subject.police_readers(&case_id, 4, &stop);
        thread::sleep(Duration::from_millis(250));
        let revoked = subject
            .call(
                "POST",
                &format!("/api/v1/cases/{case_id}/consents/{consent_id}/revoke"),
                &subject.owner,
                Some(&json!({"party": "youth", "reason": "vill inte längre"})),
            )
            .expect("revoke");
        let acknowledged = Instant::now();
        assert_eq!(revoked.status, 200, "{}", revoked.body);
        thread::sleep(Duration::from_millis(250));
        stop.store(true, Ordering::Relaxed);
        for reader in readers {
            for read in reader.join().expect("reader") {
                if read.started > acknowledged {
                    assert_eq!(
                        read.status,
                        Some(403),
                        "a read after the revocation was served"
                    );
                    assert_eq!(read.code, "consent_required");
                    after += 1;
                } else if read.status == Some(200) {
                    before += 1;
                }
            }
        }
    }
    assert!(before > 0, "reads before the revocation were served");
    assert!(after > 0, "reads after the revocation were tried");
    assert!(subject.alive());
    subject.verify_over_http();
    eprintln!("revocation race: {before} reads served before, {after} refused after");
}

#[test]
fn sqlite_a_revocation_holds_for_every_read_after_its_response() {
    a_revocation_holds_for_every_read_after_its_response(None);
}

#[test]
fn postgres_a_revocation_holds_for_every_read_after_its_response() {
    let Some(url) = pg::fresh_database() else {
        return;
    };
    a_revocation_holds_for_every_read_after_its_response(Some(url));
}

fn block_audit_writes(database_url: &str, block: bool) {
    let sql = match (database_url.starts_with("postgres"), block) {
        (false, true) => "CREATE TRIGGER fault_block_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit store unwritable'); END;",
        (false, false) => "DROP TRIGGER fault_block_audit;",
        (true, true) => "CREATE FUNCTION fault_block() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit store unwritable'; END $$; \
             CREATE TRIGGER fault_block_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION fault_block();",
        (true, false) => "DROP TRIGGER fault_block_audit ON audit_events;",
    };
    if let Some(path) = database_url.strip_prefix("sqlite://") {
        let mut conn = diesel::SqliteConnection::establish(path).expect("open the SQLite file");
        conn.batch_execute(&format!("PRAGMA busy_timeout = 10000; {sql}"))
            .expect("change the audit table");
    } else {
        let mut conn = diesel::PgConnection::establish(database_url).expect("connect");
        conn.batch_execute(sql).expect("change the audit table");
    }
}

fn an_unwritable_audit_store_discloses_nothing_under_load(database_url: Option<String>) {
    let mut subject = Subject::new(database_url);
    let url = subject
        .env
        .iter()
        .find(|(name, _)| *name == "SIG_DATABASE_URL")
        .map(|(_, v)| v.clone())
        .expect("url");
    let (case_id, _) = subject.consented_case();
    let note = subject
        .call(
            "POST",
            &format!("/api/v1/cases/{case_id}/notes"),
            &subject.owner,
            Some(&json!({"text": "före felet"})),
        )
        .expect("note");
    assert_eq!(note.status, 201);
    let reads: Vec<(String, String)> = [
        (subject.owner.clone(), format!("/api/v1/cases/{case_id}")),
        (subject.owner.clone(), "/api/v1/cases".to_owned()),
        (
            subject.owner.clone(),
            format!("/api/v1/cases/{case_id}/consents"),
        ),
        (
            subject.owner.clone(),
            format!("/api/v1/cases/{case_id}/notes"),
        ),
        (
            subject.owner.clone(),
            format!("/api/v1/cases/{case_id}/plan"),
        ),
        (
            subject.owner.clone(),
            format!("/api/v1/cases/{case_id}/access"),
        ),
        (
            subject.owner.clone(),
            format!("/api/v1/cases/{case_id}/access-log"),
        ),
        (subject.police.clone(), format!("/api/v1/cases/{case_id}")),
        (subject.police.clone(), "/api/v1/cases".to_owned()),
        (subject.auditor.clone(), "/api/v1/audit/events".to_owned()),
        (subject.auditor.clone(), "/api/v1/audit/verify".to_owned()),
        (
            subject.auditor.clone(),
            "/api/v1/audit/anomalies".to_owned(),
        ),
        (subject.owner.clone(), "/api/v1/stats".to_owned()),
    ]
    .into_iter()
    .collect();
    block_audit_writes(&url, true);
    let per_thread = 25;
    let workers: Vec<_> = (0..4)
        .map(|worker| {
            let reads = reads.clone();
            let port = subject.port;
            let case_id = case_id.clone();
            thread::spawn(move || {
                let (mut answered, mut disclosed) = (0usize, Vec::new());
                for n in 0..per_thread {
                    let (token, path) = &reads[(worker * per_thread + n) % reads.len()];
                    let reply =
                        request(port, "GET", path, Some(token), &[], None).expect("an answer");
                    answered += 1;
                    if reply.status != 503
                        || reply.json()["code"] != "unavailable"
                        || reply.body.contains(&case_id)
                    {
                        disclosed.push(format!("{path}: {} {}", reply.status, reply.body));
                    }
                }
                (answered, disclosed)
            })
        })
        .collect();
    let mut answered = 0;
    let mut disclosed = Vec::new();
    for worker in workers {
        let (a, d) = worker.join().expect("worker");
        answered += a;
        disclosed.extend(d);
    }
    let write = subject
        .call(
            "POST",
            &format!("/api/v1/cases/{case_id}/notes"),
            &subject.owner,
            Some(&json!({"text": "under felet"})),
        )
        .expect("write");
    assert_eq!(write.status, 503, "{}", write.body);
    block_audit_writes(&url, false);
    assert!(
        disclosed.is_empty(),
        "disclosed while unwritable: {disclosed:#?}"
    );
    let notes = subject
        .call(
            "GET",
            &format!("/api/v1/cases/{case_id}/notes"),
            &subject.owner,
            None,
        )
        .expect("notes");
    assert_eq!(notes.status, 200, "served again once the store is writable");
    assert_eq!(
        notes.json()["items"].as_array().map(Vec::len),
        Some(1),
        "the failed write left nothing"
    );
    subject.verify_over_http();
    assert!(subject.alive());
    eprintln!(
        "unwritable audit store: {answered} reads answered 503, {} disclosures",
        disclosed.len()
    );
}

#[test]
fn sqlite_an_unwritable_audit_store_discloses_nothing_under_load() {
    an_unwritable_audit_store_discloses_nothing_under_load(None);
}

#[test]
fn postgres_an_unwritable_audit_store_discloses_nothing_under_load() {
    let Some(url) = pg::fresh_database() else {
        return;
    };
    an_unwritable_audit_store_discloses_nothing_under_load(Some(url));
}

#[test]
fn postgres_stopped_mid_load_gives_503_and_recovers_without_a_restart() {
    let Some(cluster) = pg::OwnCluster::start() else {
        return;
    };
    let mut subject = Subject::new(Some(cluster.url()));
    let (case_id, _) = subject.consented_case();
    let stop = Arc::new(AtomicBool::new(false));
    let readers = subject.police_readers(&case_id, 3, &stop);
    thread::sleep(Duration::from_millis(300));
    cluster.stop();
    let down = Instant::now();
    thread::sleep(Duration::from_millis(500));
    let write = subject
        .call(
            "POST",
            &format!("/api/v1/cases/{case_id}/notes"),
            &subject.owner,
            Some(&json!({"text": "under avbrottet"})),
        )
        .expect("an answer while the database is down");
    assert_eq!(write.status, 503, "{}", write.body);
    thread::sleep(Duration::from_millis(1500));
    let resumed = Instant::now();
    cluster.resume();
    let up = Instant::now();
    // Reads go on until they are served again, for at most 30 s.
    let deadline = up + Duration::from_secs(30);
    let mut recovered = None;
    while Instant::now() < deadline {
        let reply = subject.call(
            "GET",
            &format!("/api/v1/cases/{case_id}"),
            &subject.police,
            None,
        );
        if reply.is_some_and(|r| r.status == 200) {
            recovered = Some(up.elapsed());
            break;
        }
        thread::sleep(Duration::from_millis(100));
    }
    thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for reader in readers {
        for read in reader.join().expect("reader") {
            let key = match read.status {
                Some(s) => s.to_string(),
                None => "cut".to_owned(),
            };
            *counts.entry(key).or_default() += 1;
            if read.started > down && read.ended < resumed {
                assert_eq!(read.status, Some(503), "while the database is down");
                assert_eq!(read.code, "unavailable");
            }
        }
    }
    assert!(
        counts.keys().all(|k| k == "200" || k == "503"),
        "only 200 and 503: {counts:?}"
    );
    assert!(
        counts.get("503").is_some_and(|n| *n > 0),
        "the outage was seen: {counts:?}"
    );
    let recovered = recovered.expect("reads are served again without a restart");
    assert!(subject.alive(), "the service kept running");
    let written = subject
        .call(
            "POST",
            &format!("/api/v1/cases/{case_id}/notes"),
            &subject.owner,
            Some(&json!({"text": "efter avbrottet"})),
        )
        .expect("write");
    assert_eq!(written.status, 201, "{}", written.body);
    subject.verify_over_http();
    eprintln!(
        "database outage: {counts:?}, served again {recovered:?} after the database returned"
    );
}
