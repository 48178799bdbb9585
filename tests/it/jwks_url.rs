//! Keys from the identity provider (`SIG_JWKS_URL`, or the `jwks_uri` of OpenID discovery):
//! fetched over HTTP from a real server on a loopback port, kept as its `Cache-Control` says,
//! fetched again at once — at most once a minute — for a token with an unknown `kid`, and kept
//! while the provider is down (readiness says so). Time moves by the service's clock.
//!
//! The keys never touch the database, so these run on SQLite only.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpResponse, HttpServer};
use chrono::Duration;
use serde_json::{json, Value};

use sig_register::clock::Clock;

use crate::support::tokens::{self, b64};
use crate::support::{Backend, Resp, TestApp};

const AGENCY: &str = "polisen-orebro";
const ISSUER: &str = "https://idp.example.test/sig";
const AUDIENCE: &str = "sig-register-prod";

/// What the stand-in provider serves at `/jwks`.
struct Served {
    status: u16,
    body: String,
    cache_control: Option<String>,
}

/// A provider's key endpoint (and discovery document) on a free loopback port, in a thread of
/// its own; counts the fetches of the key set.
struct KeyServer {
    base: String,
    served: Arc<Mutex<Served>>,
    fetches: Arc<AtomicUsize>,
    handle: actix_web::dev::ServerHandle,
}

impl KeyServer {
    fn start() -> Self {
        let served = Arc::new(Mutex::new(Served {
            status: 503,
            body: String::new(),
            cache_control: None,
        }));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (sender, receiver) = std::sync::mpsc::channel();
        let (shared, counter) = (served.clone(), fetches.clone());
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let base = Arc::new(Mutex::new(String::new()));
                let named = base.clone();
                let server = HttpServer::new(move || {
                    let (shared, counter, named) = (shared.clone(), counter.clone(), named.clone());
                    App::new()
                        .route(
                            "/jwks",
                            web::get().to(move || {
                                let (shared, counter) = (shared.clone(), counter.clone());
                                async move {
                                    counter.fetch_add(1, Ordering::SeqCst);
                                    let served = shared.lock().expect("served");
                                    let mut reply = HttpResponse::build(
                                        actix_web::http::StatusCode::from_u16(served.status)
                                            .expect("status"),
                                    );
                                    if let Some(value) = &served.cache_control {
                                        reply.insert_header(("Cache-Control", value.clone()));
                                    }
                                    reply
                                        .content_type("application/json")
                                        .body(served.body.clone())
                                }
                            }),
                        )
                        .route(
                            "/.well-known/openid-configuration",
                            web::get().to(move || {
                                let base = named.lock().expect("base").clone();
                                async move {
                                    HttpResponse::Ok().json(
                                        json!({"issuer": base, "jwks_uri": format!("{base}/jwks")}),
                                    )
                                }
                            }),
                        )
                })
                .workers(1)
                .bind(("127.0.0.1", 0))
                .expect("bind");
                let port = server.addrs()[0].port();
                *base.lock().expect("base") = format!("http://127.0.0.1:{port}");
                let running = server.run();
                sender
                    .send((format!("http://127.0.0.1:{port}"), running.handle()))
                    .expect("send");
                running.await.expect("the key server runs");
            });
        });
        let (base, handle) = receiver.recv().expect("the key server starts");
        Self {
            base,
            served,
            fetches,
            handle,
        }
    }

    fn url(&self) -> String {
        format!("{}/jwks", self.base)
    }

    fn publish(&self, keys: &[&Value], cache_control: Option<&str>) {
        let mut served = self.served.lock().expect("served");
        served.status = 200;
        served.body = json!({ "keys": keys }).to_string();
        served.cache_control = cache_control.map(str::to_owned);
    }

    fn answer(&self, status: u16) {
        self.served.lock().expect("served").status = status;
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    async fn stop(&self) {
        self.handle.stop(false).await;
    }
}

/// An Ed25519 signing key of the provider's, and its JWK.
struct Key {
    pkcs8: Vec<u8>,
    kid: String,
    jwk: Value,
}

fn key(kid: &str) -> Key {
    let pkcs8 = tokens::new_ed25519();
    let public = ring::signature::KeyPair::public_key(
        &ring::signature::Ed25519KeyPair::from_pkcs8(&pkcs8).expect("ed25519"),
    )
    .as_ref()
    .to_vec();
    Key {
        jwk: json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&public), "kid": kid, "use": "sig", "alg": "EdDSA"}),
        pkcs8,
        kid: kid.to_owned(),
    }
}

fn app_fetching_from(url: &str) -> TestApp {
    let url = url.to_owned();
    TestApp::with_config(Backend::Sqlite, |config| {
        config.jwks_url = Some(url);
        config.jwt_issuer = ISSUER.to_owned();
        config.jwt_audience = AUDIENCE.to_owned();
    })
    .expect("SQLite is always there")
}

fn token(app: &TestApp, key: &Key) -> String {
    let claims = Value::Object(tokens::claims(app, AGENCY, &["police_officer"]));
    tokens::sign_ed25519(
        &key.pkcs8,
        &json!({"alg": "EdDSA", "typ": "JWT", "kid": key.kid}),
        &claims,
    )
}

async fn areas(app: &TestApp, token: &str) -> Resp {
    app.get("/api/v1/areas", Some(token)).await
}

async fn assert_accepted(app: &TestApp, token: &str, what: &str) {
    let response = areas(app, token).await;
    assert_eq!(response.status, 200, "{what}: {}", response.text());
}

async fn assert_refused(app: &TestApp, token: &str, description: &str, what: &str) {
    let response = areas(app, token).await;
    response.assert_problem(401, "unauthenticated");
    let challenge = response.header("WWW-Authenticate").unwrap_or_default();
    assert!(
        challenge.contains(&format!("error_description=\"{description}\"")),
        "{what}: {challenge}"
    );
}

async fn keys_of(app: &TestApp) -> (u16, Value) {
    let response = app.get("/readyz", None).await;
    (response.status.as_u16(), response.json()["keys"].clone())
}

fn later(app: &TestApp, seconds: i64) {
    app.clock.set(app.clock.now() + Duration::seconds(seconds));
}

#[actix_web::test]
async fn keys_are_kept_as_cache_control_says_and_fetched_again_when_stale() {
    let provider = KeyServer::start();
    let a = key("key-a");
    provider.publish(&[&a.jwk], Some("public, max-age=300"));
    let app = app_fetching_from(&provider.url());
    assert!(!app.state().auth.development_issuer_active());

    // Nothing fetched yet: not ready, no token can verify.
    let (status, keys) = keys_of(&app).await;
    assert_eq!((status, keys["status"].as_str()), (503, Some("missing")));
    assert_eq!(provider.fetches(), 0);

    // The first token makes the set be fetched; the next ones use it.
    for _ in 0..3 {
        assert_accepted(&app, &token(&app, &a), "a token of the published key").await;
    }
    assert_eq!(provider.fetches(), 1, "one fetch for three tokens");
    let (status, keys) = keys_of(&app).await;
    assert_eq!(status, 200);
    assert_eq!(keys["source"], "provider");
    assert_eq!(keys["status"], "current");
    assert_eq!(keys["count"], 1);
    let fetched = chrono::DateTime::parse_from_rfc3339(keys["fetched_at"].as_str().unwrap_or(""))
        .expect("fetched_at");
    let until = chrono::DateTime::parse_from_rfc3339(keys["fresh_until"].as_str().unwrap_or(""))
        .expect("fresh_until");
    assert_eq!((until - fetched).num_seconds(), 300, "max-age=300 is kept");

    // Within the lifetime: no fetch. Past it: fetched again before the token is verified.
    later(&app, 299);
    assert_accepted(&app, &token(&app, &a), "within the lifetime").await;
    assert_eq!(provider.fetches(), 1);
    later(&app, 2);
    assert_eq!(keys_of(&app).await.1["status"], "stale");
    assert_accepted(&app, &token(&app, &a), "past the lifetime").await;
    assert_eq!(provider.fetches(), 2);
    assert_eq!(keys_of(&app).await.1["status"], "current");

    // `no-store` is kept for the shortest time, a minute.
    provider.publish(&[&a.jwk], Some("no-store"));
    later(&app, 301);
    assert_accepted(&app, &token(&app, &a), "after no-store").await;
    assert_eq!(provider.fetches(), 3);
    later(&app, 59);
    assert_accepted(&app, &token(&app, &a), "within the minute").await;
    assert_eq!(provider.fetches(), 3);
    later(&app, 1);
    assert_accepted(&app, &token(&app, &a), "after the minute").await;
    assert_eq!(provider.fetches(), 4);
    provider.stop().await;
}

#[actix_web::test]
async fn a_rotation_with_tokens_of_both_keys_in_flight() {
    let provider = KeyServer::start();
    let (a, b, stranger) = (key("key-a"), key("key-b"), key("key-c"));
    provider.publish(&[&a.jwk], Some("max-age=600"));
    let app = app_fetching_from(&provider.url());
    let old = token(&app, &a);
    assert_accepted(&app, &old, "the first key").await;
    assert_eq!(provider.fetches(), 1);

    // The provider publishes its next key beside the old one and signs with it. The first
    // token of the new key makes the set be fetched at once; tokens of both keys verify,
    // side by side.
    provider.publish(&[&b.jwk, &a.jwk], Some("max-age=600"));
    let new = token(&app, &b);
    let mut in_flight = Vec::new();
    for round in 0..6 {
        in_flight.push(if round % 2 == 0 {
            new.clone()
        } else {
            old.clone()
        });
    }
    let replies =
        futures_util::future::join_all(in_flight.iter().map(|token| areas(&app, token))).await;
    for reply in &replies {
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
    assert_eq!(provider.fetches(), 2, "one fetch for the new kid");
    assert_eq!(keys_of(&app).await.1["count"], 2);

    // A made-up kid within the minute: refused without asking the provider again.
    let made_up = token(&app, &stranger);
    for _ in 0..20 {
        assert_refused(
            &app,
            &made_up,
            "unknown key",
            "a kid the provider never had",
        )
        .await;
    }
    assert_eq!(
        provider.fetches(),
        2,
        "an unknown kid fetches at most once a minute"
    );
    later(&app, 61);
    assert_refused(&app, &token(&app, &stranger), "unknown key", "a minute on").await;
    assert_eq!(provider.fetches(), 3);

    // The old key is withdrawn; once the set is fetched again its tokens stop verifying,
    // even one accepted (and remembered) before.
    provider.publish(&[&b.jwk], Some("max-age=600"));
    later(&app, 600);
    assert_accepted(&app, &new, "the new key").await;
    assert_eq!(provider.fetches(), 4);
    assert_refused(&app, &old, "unknown key", "a token of the withdrawn key").await;
    assert_eq!(keys_of(&app).await.1["count"], 1);
    provider.stop().await;
}

#[actix_web::test]
async fn the_last_good_keys_stay_while_the_provider_is_down() {
    let provider = KeyServer::start();
    let a = key("key-a");
    provider.publish(&[&a.jwk], Some("max-age=60"));
    let app = app_fetching_from(&provider.url());
    assert_accepted(&app, &token(&app, &a), "while the provider is up").await;

    // The provider answers wrongly: the keys are kept, readiness says they are stale and why,
    // and the fetch is not tried again for 30 s.
    provider.answer(503);
    later(&app, 61);
    assert_accepted(&app, &token(&app, &a), "the provider answers 503").await;
    assert_eq!(provider.fetches(), 2);
    let (status, keys) = keys_of(&app).await;
    assert_eq!(
        status, 200,
        "stale keys still verify: the service stays ready"
    );
    assert_eq!(keys["status"], "stale");
    assert!(
        keys["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("HTTP 503")),
        "{keys}"
    );
    later(&app, 29);
    assert_accepted(&app, &token(&app, &a), "within the pause").await;
    assert_eq!(
        provider.fetches(),
        2,
        "no fetch within 30 s of a failed one"
    );
    later(&app, 1);
    assert_accepted(&app, &token(&app, &a), "after the pause").await;
    assert_eq!(provider.fetches(), 3);

    // A document that is not a key set does not replace the keys either.
    provider.publish(&[], Some("max-age=60"));
    later(&app, 30);
    assert_accepted(&app, &token(&app, &a), "an empty key set is refused").await;
    assert!(keys_of(&app).await.1["last_error"]
        .as_str()
        .is_some_and(|e| e.contains("no usable signing key")));

    // Unreachable: the same.
    provider.stop().await;
    later(&app, 30);
    assert_accepted(&app, &token(&app, &a), "the provider is unreachable").await;
    let (status, keys) = keys_of(&app).await;
    assert_eq!((status, keys["status"].as_str()), (200, Some("stale")));
    assert!(
        keys["last_error"]
            .as_str()
            .is_some_and(|e| e.contains(&provider.url())),
        "{keys}"
    );
    // A new kid cannot be learnt meanwhile.
    let b = key("key-b");
    assert_refused(
        &app,
        &token(&app, &b),
        "unknown key",
        "a new key while down",
    )
    .await;
}

#[actix_web::test]
async fn the_provider_down_at_start_means_not_ready_until_it_answers() {
    let provider = KeyServer::start();
    provider.answer(503);
    let app = app_fetching_from(&provider.url());
    let a = key("key-a");
    assert_refused(&app, &token(&app, &a), "unknown key", "no keys yet").await;
    let (status, keys) = keys_of(&app).await;
    assert_eq!((status, keys["status"].as_str()), (503, Some("missing")));
    assert!(keys["last_error"]
        .as_str()
        .is_some_and(|e| e.contains("HTTP 503")));
    provider.publish(&[&a.jwk], None);
    later(&app, 30);
    assert_accepted(&app, &token(&app, &a), "once the provider answers").await;
    let (status, keys) = keys_of(&app).await;
    assert_eq!((status, keys["status"].as_str()), (200, Some("current")));
    // Without Cache-Control: five minutes.
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(keys["fresh_until"].as_str().unwrap_or(""))
            .map(|t| t.timestamp() - app.clock.now().timestamp())
            .ok(),
        Some(300)
    );
    provider.stop().await;
}

#[actix_web::test]
async fn discovery_names_the_keys_of_the_openid_provider() {
    let provider = KeyServer::start();
    let a = key("key-a");
    provider.publish(&[&a.jwk], Some("max-age=600"));
    let issuer = provider.base.clone();
    let app = TestApp::with_config(Backend::Sqlite, |config| {
        config.oidc_issuer = Some(issuer);
        config.oidc_client_id = Some("sig-register".to_owned());
        config.public_url = Some("http://127.0.0.1:9".to_owned());
        config.jwt_issuer = ISSUER.to_owned();
        config.jwt_audience = AUDIENCE.to_owned();
    })
    .expect("SQLite is always there");
    assert_accepted(&app, &token(&app, &a), "a token of the provider's key").await;
    assert_eq!(provider.fetches(), 1);
    assert_eq!(keys_of(&app).await.1["source"], "provider");
    provider.stop().await;
}

#[test]
fn keys_come_over_https_and_from_one_place() {
    let start = |tweak: &dyn Fn(&mut sig_register::config::Config)| {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = sig_register::config::Config::defaults();
        config.database_url = format!("sqlite://{}", dir.path().join("db").display());
        config.data_dir = dir.path().join("data");
        config.policies_dir = crate::support::policies_dir();
        tweak(&mut config);
        let clock = Arc::new(sig_register::clock::FixedClock::new(
            sig_register::clock::SystemClock.now(),
        ));
        sig_register::state::AppState::build(config, clock)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    let plain = start(&|c| c.jwks_url = Some("http://idp.example.se/jwks".into()));
    assert!(
        plain.contains("SIG_JWKS_URL must be an https URL"),
        "{plain}"
    );
    let both = start(&|c| {
        c.jwks_url = Some("https://idp.example.se/jwks".into());
        c.jwks_file = Some("/etc/sig/jwks.json".into());
    });
    assert!(both.contains("both set"), "{both}");
    let fine = start(&|c| c.jwks_url = Some("https://idp.example.se/jwks".into()));
    assert_eq!(
        fine, "",
        "an https URL starts (the keys are fetched on first use)"
    );
}
