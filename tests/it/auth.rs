//! API.md §2: which tokens are accepted, and a test for every way a token is refused.

use serde_json::{json, Value};

use sig_register::auth::Role;
use sig_register::clock::Clock;

use crate::on_both_backends;
use crate::support::tokens::{self, b64};
use crate::support::{Backend, Resp, TestApp};

const AREAS: &str = "/api/v1/areas";
const AGENCY: &str = "polisen-orebro";

async fn areas_with(app: &TestApp, token: &str) -> Resp {
    app.get(AREAS, Some(token)).await
}

async fn assert_refused(app: &TestApp, token: &str, what: &str) {
    let response = areas_with(app, token).await;
    assert_eq!(
        response.status,
        401,
        "{what} should be refused; got {}",
        response.text()
    );
    response.assert_problem(401, "unauthenticated");
    assert!(
        response
            .header("www-authenticate")
            .is_some_and(|h| h.starts_with("Bearer error=\"invalid_token\", error_description=\"")),
        "{what}"
    );
}

async fn valid_dev_token_is_accepted(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let token = app.token("po-1", AGENCY, &[Role::PoliceOfficer]);
    assert_eq!(areas_with(&app, &token).await.status, 200);
    // The hand-made path signs the same way.
    let crafted = tokens::dev_signed(&app, &tokens::claims(&app, AGENCY, &["police_officer"]));
    assert_eq!(areas_with(&app, &crafted).await.status, 200);
}

async fn missing_or_non_bearer_header_is_refused(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let response = app.get(AREAS, None).await;
    response.assert_problem(401, "unauthenticated");
    assert_eq!(
        response.header("www-authenticate").as_deref(),
        Some("Bearer")
    );
    let token = app.token("po-1", AGENCY, &[Role::PoliceOfficer]);
    let basic = app
        .call(
            actix_web::test::TestRequest::get()
                .uri(AREAS)
                .insert_header(("Authorization", format!("Basic {token}"))),
        )
        .await;
    basic.assert_problem(401, "unauthenticated");
}

async fn malformed_tokens_are_refused(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    for token in [
        "abc",
        "a.b.c",
        "a.b",
        "....",
        "eyJhbGciOiJFZERTQSJ9.e30.",
        &"x".repeat(5000),
    ] {
        assert_refused(&app, token, &format!("malformed token {:.20}", token)).await;
    }
}

async fn alg_none_is_refused(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let claims = Value::Object(tokens::claims(&app, AGENCY, &["police_officer"]));
    for alg in ["none", "None", "NONE"] {
        let token = tokens::unsigned(&json!({"alg": alg, "typ": "JWT"}), &claims);
        assert_refused(&app, &token, &format!("alg {alg}")).await;
    }
}

async fn hs256_with_the_public_key_as_secret_is_refused(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let claims = Value::Object(tokens::claims(&app, AGENCY, &["police_officer"]));
    let public = app.state().keys.jwt_dev.public_key().to_vec();
    let kid = app.state().keys.jwt_dev.key_id.clone();
    for secret in [public.clone(), b64(&public).into_bytes()] {
        for header in [
            json!({"alg": "HS256", "typ": "JWT", "kid": kid}),
            json!({"alg": "HS256", "typ": "JWT"}),
        ] {
            let token = tokens::sign_hs256(&secret, &header, &claims);
            assert_refused(&app, &token, "HS256 signed with the public key").await;
        }
    }
}

async fn expired_token_is_refused(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let now = app.clock.now().timestamp();
    let mut claims = tokens::claims(&app, AGENCY, &["police_officer"]);
    claims.insert("exp".into(), json!(now - 61));
    assert_refused(&app, &tokens::dev_signed(&app, &claims), "exp 61 s ago").await;
    claims.insert("exp".into(), json!(now - 3600));
    assert_refused(&app, &tokens::dev_signed(&app, &claims), "exp an hour ago").await;
    // Within the 60 s leeway the token still counts.
    claims.insert("exp".into(), json!(now - 30));
    assert_eq!(
        areas_with(&app, &tokens::dev_signed(&app, &claims))
            .await
            .status,
        200
    );
}

/// A token's verified signature is remembered; its time claims are not: the same token, accepted
/// a moment ago, is refused once it has expired, and one byte changed is verified afresh.
async fn a_remembered_token_still_expires(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let now = app.clock.now();
    let mut claims = tokens::claims(&app, AGENCY, &["police_officer"]);
    claims.insert("exp".into(), json!(now.timestamp() + 120));
    let token = tokens::dev_signed(&app, &claims);
    for _ in 0..2 {
        assert_eq!(areas_with(&app, &token).await.status, 200);
    }
    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ascii");
    assert_refused(
        &app,
        &tampered,
        "the remembered token with its signature changed",
    )
    .await;
    app.clock.set(now + chrono::Duration::seconds(120 + 61));
    assert_refused(&app, &token, "the remembered token after its exp").await;
    app.clock.set(now);
    assert_eq!(areas_with(&app, &token).await.status, 200);
}

async fn token_not_yet_valid_is_refused(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let now = app.clock.now().timestamp();
    let mut claims = tokens::claims(&app, AGENCY, &["police_officer"]);
    claims.insert("nbf".into(), json!(now + 120));
    assert_refused(
        &app,
        &tokens::dev_signed(&app, &claims),
        "nbf in two minutes",
    )
    .await;
    claims.insert("nbf".into(), json!(now - 5));
    claims.insert("iat".into(), json!(now + 120));
    assert_refused(
        &app,
        &tokens::dev_signed(&app, &claims),
        "iat in two minutes",
    )
    .await;
    claims.insert("iat".into(), json!(now + 30));
    claims.insert("nbf".into(), json!(now + 30));
    assert_eq!(
        areas_with(&app, &tokens::dev_signed(&app, &claims))
            .await
            .status,
        200,
        "30 s of skew is tolerated"
    );
}

async fn wrong_issuer_or_audience_is_refused(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    for (claim, value) in [
        ("iss", json!("someone-else")),
        ("aud", json!("another-service")),
        ("aud", json!(["another-service"])),
        ("iss", json!(["sig-register-dev"])),
    ] {
        let mut claims = tokens::claims(&app, AGENCY, &["police_officer"]);
        claims.insert(claim.into(), value.clone());
        assert_refused(
            &app,
            &tokens::dev_signed(&app, &claims),
            &format!("{claim} = {value}"),
        )
        .await;
    }
    let mut claims = tokens::claims(&app, AGENCY, &["police_officer"]);
    claims.insert(
        "aud".into(),
        json!(["another-service", app.config.jwt_audience]),
    );
    assert_eq!(
        areas_with(&app, &tokens::dev_signed(&app, &claims))
            .await
            .status,
        200,
        "an aud array naming us"
    );
}

async fn each_required_claim_missing_is_refused(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    for claim in ["sub", "name", "agency", "roles", "exp", "nbf", "iss", "aud"] {
        let mut claims = tokens::claims(&app, AGENCY, &["police_officer"]);
        claims.remove(claim);
        assert_refused(
            &app,
            &tokens::dev_signed(&app, &claims),
            &format!("without {claim}"),
        )
        .await;
    }
}

async fn claims_of_the_wrong_type_are_refused(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let now = app.clock.now().timestamp();
    for (claim, value) in [
        ("nbf", json!(format!("{}", now + 3600))),
        ("exp", json!(format!("{}", now + 3600))),
        ("exp", json!(null)),
        ("roles", json!("police_officer")),
        ("sub", json!(42)),
        ("agency", json!({"slug": AGENCY})),
        ("sub", json!("")),
    ] {
        let mut claims = tokens::claims(&app, AGENCY, &["police_officer"]);
        claims.insert(claim.into(), value.clone());
        assert_refused(
            &app,
            &tokens::dev_signed(&app, &claims),
            &format!("{claim} = {value}"),
        )
        .await;
    }
}

async fn unknown_or_empty_roles_are_refused(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    for roles in [
        vec!["superuser"],
        vec!["police_officer", "root"],
        vec![],
        vec!["Admin"],
    ] {
        let claims = tokens::claims(&app, AGENCY, &roles);
        assert_refused(
            &app,
            &tokens::dev_signed(&app, &claims),
            &format!("roles {roles:?}"),
        )
        .await;
    }
}

async fn right_kid_with_the_wrong_key_is_refused(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let claims = Value::Object(tokens::claims(&app, AGENCY, &["police_officer"]));
    let forged = tokens::sign_ed25519(&tokens::new_ed25519(), &tokens::dev_header(&app), &claims);
    assert_refused(&app, &forged, "the dev kid signed with another key").await;
    let no_kid = tokens::sign_ed25519(
        &tokens::new_ed25519(),
        &json!({"alg": "EdDSA", "typ": "JWT"}),
        &claims,
    );
    assert_refused(&app, &no_kid, "no kid, another key").await;
    // A valid signature with a tampered payload.
    let good = tokens::dev_signed(&app, &tokens::claims(&app, AGENCY, &["police_officer"]));
    let parts: Vec<&str> = good.split('.').collect();
    let mut elevated = tokens::claims(&app, AGENCY, &["admin"]);
    elevated.insert("sub".into(), json!("crafted-user"));
    let payload = b64(&serde_json::to_vec(&Value::Object(elevated)).expect("json"));
    assert_refused(
        &app,
        &format!("{}.{}.{}", parts[0], payload, parts[2]),
        "a swapped payload",
    )
    .await;
}

async fn unknown_kid_is_refused(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let claims = Value::Object(tokens::claims(&app, AGENCY, &["police_officer"]));
    let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": "no-such-key"});
    let token = tokens::sign_ed25519(&app.state().keys.jwt_dev.pkcs8, &header, &claims);
    assert_refused(&app, &token, "an unknown kid").await;
}

async fn unknown_agency_is_403(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let token = app.token("po-9", "polisen-atlantis", &[Role::PoliceOfficer]);
    app.get(AREAS, Some(&token))
        .await
        .assert_problem(403, "unknown_agency");
    app.get("/api/v1/agencies", Some(&token))
        .await
        .assert_problem(403, "unknown_agency");
}

/// An identity provider with one key of each accepted algorithm.
struct Idp {
    ed25519: Vec<u8>,
    p256: Vec<u8>,
    rsa: Vec<u8>,
}

fn jwks_app(backend: Backend) -> Option<(TestApp, Idp)> {
    let ed25519 = tokens::new_ed25519();
    let p256 = tokens::new_p256();
    let (rsa, modulus) = tokens::new_rsa();
    let ed_public = ring::signature::KeyPair::public_key(
        &ring::signature::Ed25519KeyPair::from_pkcs8(&ed25519).expect("ed25519"),
    )
    .as_ref()
    .to_vec();
    let rng = ring::rand::SystemRandom::new();
    let ec_public = ring::signature::KeyPair::public_key(
        &ring::signature::EcdsaKeyPair::from_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &p256,
            &rng,
        )
        .expect("p256"),
    )
    .as_ref()
    .to_vec();
    let jwks = json!({"keys": [
        {"kty": "OKP", "crv": "Ed25519", "x": b64(&ed_public), "kid": "idp-ed", "alg": "EdDSA", "use": "sig"},
        {"kty": "EC", "crv": "P-256", "x": b64(&ec_public[1..33]), "y": b64(&ec_public[33..65]), "kid": "idp-ec", "use": "sig"},
        {"kty": "RSA", "n": b64(&modulus), "e": "AQAB", "kid": "idp-rsa", "alg": "RS256"},
    ]});
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, jwks.to_string()).expect("write jwks");
    let app = TestApp::with_config(backend, |config| {
        config.jwks_file = Some(path.clone());
        config.jwt_issuer = "https://idp.example.test/sig".to_owned();
        config.jwt_audience = "sig-register-prod".to_owned();
    })?;
    // Keep the JWKS directory alive with the app's own.
    std::fs::copy(&path, app.dir.path().join("jwks.json")).expect("copy");
    Some((app, Idp { ed25519, p256, rsa }))
}

async fn jwks_keys_verify_eddsa_es256_and_rs256(backend: Backend) {
    let Some((app, idp)) = jwks_app(backend) else {
        return;
    };
    let claims = Value::Object(tokens::claims(&app, AGENCY, &["police_officer"]));
    let tokens = [
        tokens::sign_ed25519(
            &idp.ed25519,
            &json!({"alg": "EdDSA", "kid": "idp-ed"}),
            &claims,
        ),
        tokens::sign_es256(
            &idp.p256,
            &json!({"alg": "ES256", "kid": "idp-ec"}),
            &claims,
        ),
        tokens::sign_rs256(
            &idp.rsa,
            &json!({"alg": "RS256", "kid": "idp-rsa"}),
            &claims,
        ),
        tokens::sign_rs256(&idp.rsa, &json!({"alg": "RS256"}), &claims),
    ];
    for token in &tokens {
        let response = areas_with(&app, token).await;
        assert_eq!(response.status, 200, "{}", response.text());
    }
}

async fn jwks_mode_refuses_the_development_key_and_confused_algorithms(backend: Backend) {
    let Some((app, idp)) = jwks_app(backend) else {
        return;
    };
    assert!(!app.state().auth.development_issuer_active());
    assert!(app
        .state()
        .auth
        .mint_dev("x", "x", AGENCY, &[Role::Admin], app.clock.now(), 60)
        .is_err());
    let claims = Value::Object(tokens::claims(&app, AGENCY, &["police_officer"]));
    // The development key, under its own kid and under the IdP's.
    let dev = tokens::sign_ed25519(
        &app.state().keys.jwt_dev.pkcs8,
        &tokens::dev_header(&app),
        &claims,
    );
    assert_refused(&app, &dev, "the development key in JWKS mode").await;
    let dev_as_idp = tokens::sign_ed25519(
        &app.state().keys.jwt_dev.pkcs8,
        &json!({"alg": "EdDSA", "kid": "idp-ed"}),
        &claims,
    );
    assert_refused(&app, &dev_as_idp, "the development key under the IdP's kid").await;
    // An ES256 signature presented under the RSA key's kid, and RS256 under the EC kid.
    let confused = tokens::sign_es256(
        &idp.p256,
        &json!({"alg": "ES256", "kid": "idp-rsa"}),
        &claims,
    );
    assert_refused(&app, &confused, "ES256 under an RSA kid").await;
    let confused = tokens::sign_rs256(&idp.rsa, &json!({"alg": "RS256", "kid": "idp-ec"}), &claims);
    assert_refused(&app, &confused, "RS256 under an EC kid").await;
    // HS256 keyed with the IdP's public Ed25519 key.
    let public = ring::signature::KeyPair::public_key(
        &ring::signature::Ed25519KeyPair::from_pkcs8(&idp.ed25519).expect("ed25519"),
    )
    .as_ref()
    .to_vec();
    let hs = tokens::sign_hs256(&public, &json!({"alg": "HS256", "kid": "idp-ed"}), &claims);
    assert_refused(&app, &hs, "HS256 keyed with the IdP's public key").await;
}

on_both_backends!(
    valid_dev_token_is_accepted,
    missing_or_non_bearer_header_is_refused,
    malformed_tokens_are_refused,
    alg_none_is_refused,
    hs256_with_the_public_key_as_secret_is_refused,
    expired_token_is_refused,
    a_remembered_token_still_expires,
    token_not_yet_valid_is_refused,
    wrong_issuer_or_audience_is_refused,
    each_required_claim_missing_is_refused,
    claims_of_the_wrong_type_are_refused,
    unknown_or_empty_roles_are_refused,
    right_kid_with_the_wrong_key_is_refused,
    unknown_kid_is_refused,
    unknown_agency_is_403,
    jwks_keys_verify_eddsa_es256_and_rs256,
    jwks_mode_refuses_the_development_key_and_confused_algorithms,
);

#[test]
fn jwks_files_with_unusable_keys_are_refused_at_start() {
    let keys = sig_register::crypto::keys::KeyStore::load_or_create(
        &tempfile::tempdir().expect("tempdir").path().join("data"),
    )
    .expect("keys");
    let dir = tempfile::tempdir().expect("tempdir");
    for (what, jwks) in [
        (
            "a symmetric key",
            json!({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "s"}]}),
        ),
        (
            "a short RSA key",
            json!({"keys": [{"kty": "RSA", "n": b64(&[0xC5; 128]), "e": "AQAB"}]}),
        ),
        ("no keys", json!({"keys": []})),
        (
            "an alg that contradicts the key",
            json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": b64(&[7; 32]), "alg": "RS256"}]}),
        ),
        ("not a JWKS", json!({"hello": "world"})),
    ] {
        let path = dir.path().join("jwks.json");
        std::fs::write(&path, jwks.to_string()).expect("write");
        let result = sig_register::auth::Authenticator::new(
            &keys,
            sig_register::auth::KeyOrigin::File(&path),
            "iss",
            "aud",
        );
        assert!(result.is_err(), "{what} should be refused");
    }
}
