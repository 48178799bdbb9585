//! Issue "security, round two", item 3: every way a JWT is refused (RFC 8725, RFC 9068,
//! RFC 7515), one row each — 401 `unauthenticated`, `WWW-Authenticate` with `invalid_token` and
//! which check failed, exactly one `auth.failed` event, and the token nowhere in the answer or
//! the event.

use ring::signature::Ed25519KeyPair;
use serde_json::{json, Map, Value};

use sig_register::clock::Clock;

use crate::audit::events;
use crate::on_both_backends;
use crate::support::tokens::{self, b64};
use crate::support::{Backend, TestApp};

const AREAS: &str = "/api/v1/areas";
const AGENCY: &str = "polisen-orebro";

/// Signs exactly these header and payload bytes with the development key.
fn signed_raw(app: &TestApp, header: &str, payload: &str) -> String {
    let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&app.state().keys.jwt_dev.pkcs8)
        .expect("the development key");
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let signature = pair.sign(input.as_bytes());
    format!("{input}.{}", b64(signature.as_ref()))
}

fn with_header(app: &TestApp, extra: Value, claims: &Map<String, Value>) -> String {
    let mut header = tokens::dev_header(app);
    for (name, value) in extra.as_object().expect("object") {
        header[name] = value.clone();
    }
    tokens::sign_ed25519(
        &app.state().keys.jwt_dev.pkcs8,
        &header,
        &Value::Object(claims.clone()),
    )
}

fn with_claim(app: &TestApp, name: &str, value: Option<Value>) -> String {
    let mut claims = tokens::claims(app, AGENCY, &["police_officer"]);
    match value {
        Some(value) => claims.insert(name.into(), value),
        None => claims.remove(name),
    };
    tokens::dev_signed(app, &claims)
}

/// Every row: what is tried, the token, and the `error_description` the 401 must carry.
fn table(app: &TestApp) -> Vec<(&'static str, String, &'static str)> {
    let claims = tokens::claims(app, AGENCY, &["police_officer"]);
    let claims_value = Value::Object(claims.clone());
    let now = app.clock.now().timestamp();
    let kid = app.state().keys.jwt_dev.key_id.clone();
    let public = app.state().keys.jwt_dev.public_key().to_vec();
    let good = tokens::dev_signed(app, &claims);
    let parts: Vec<&str> = good.split('.').collect();
    let header_text = serde_json::to_string(&tokens::dev_header(app)).expect("json");
    let payload_text = serde_json::to_string(&claims_value).expect("json");
    let hmac = |alg: &str| {
        let algorithm = match alg {
            "HS256" => ring::hmac::HMAC_SHA256,
            "HS384" => ring::hmac::HMAC_SHA384,
            _ => ring::hmac::HMAC_SHA512,
        };
        let header = json!({"alg": alg, "typ": "JWT", "kid": kid});
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(payload_text.as_bytes())
        );
        let tag = ring::hmac::sign(&ring::hmac::Key::new(algorithm, &public), input.as_bytes());
        format!("{input}.{}", b64(tag.as_ref()))
    };
    let (rsa, _) = tokens::new_rsa();
    let mut big = claims.clone();
    big.insert("padding".into(), json!("x".repeat(9000)));
    vec![
        (
            "alg none",
            tokens::unsigned(&json!({"alg": "none", "typ": "JWT"}), &claims_value),
            "algorithm",
        ),
        (
            "alg None",
            tokens::unsigned(&json!({"alg": "None", "typ": "JWT"}), &claims_value),
            "algorithm",
        ),
        (
            "alg NONE",
            tokens::unsigned(&json!({"alg": "NONE", "typ": "JWT"}), &claims_value),
            "algorithm",
        ),
        (
            "HS256 keyed with the public key",
            hmac("HS256"),
            "algorithm",
        ),
        (
            "HS384 keyed with the public key",
            hmac("HS384"),
            "algorithm",
        ),
        (
            "HS512 keyed with the public key",
            hmac("HS512"),
            "algorithm",
        ),
        (
            "RS256 under the EdDSA key's kid",
            tokens::sign_rs256(
                &rsa,
                &json!({"alg": "RS256", "typ": "JWT", "kid": kid}),
                &claims_value,
            ),
            "algorithm",
        ),
        (
            "an unknown kid",
            with_header(app, json!({"kid": "no-such-key"}), &claims),
            "unknown key",
        ),
        (
            "a kid that is a path",
            with_header(app, json!({"kid": "../../../../dev/null"}), &claims),
            "unknown key",
        ),
        (
            "a kid with SQL",
            with_header(app, json!({"kid": "x' OR '1'='1"}), &claims),
            "unknown key",
        ),
        (
            "jku in the header",
            with_header(app, json!({"jku": "https://evil.example/jwks"}), &claims),
            "header names a key source",
        ),
        (
            "x5u in the header",
            with_header(app, json!({"x5u": "https://evil.example/cert"}), &claims),
            "header names a key source",
        ),
        (
            "jwk in the header",
            with_header(
                app,
                json!({"jwk": {"kty": "OKP", "crv": "Ed25519", "x": b64(&public)}}),
                &claims,
            ),
            "header names a key source",
        ),
        (
            "x5c in the header",
            with_header(app, json!({"x5c": ["MIIB"]}), &claims),
            "header names a key source",
        ),
        (
            "crit naming exp",
            with_header(app, json!({"crit": ["exp"]}), &claims),
            "critical header parameter",
        ),
        (
            "typ of another kind of JWT",
            with_header(app, json!({"typ": "dpop+jwt"}), &claims),
            "token type",
        ),
        (
            "a nested JWT",
            with_header(app, json!({"cty": "JWT"}), &claims),
            "nested tokens are not accepted",
        ),
        (
            "a JWE",
            format!(
                "{}.{}.{}.{}.{}",
                b64(br#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#),
                b64(b"key"),
                b64(b"iv"),
                b64(b"ct"),
                b64(b"tag")
            ),
            "encrypted tokens are not accepted",
        ),
        (
            "expired",
            with_claim(app, "exp", Some(json!(now - 3600))),
            "expired",
        ),
        (
            "nbf in the future",
            with_claim(app, "nbf", Some(json!(now + 3600))),
            "not yet valid",
        ),
        (
            "iat in the future",
            with_claim(app, "iat", Some(json!(now + 3600))),
            "issued in the future",
        ),
        (
            "another issuer",
            with_claim(app, "iss", Some(json!("https://evil.example"))),
            "issuer",
        ),
        (
            "another audience",
            with_claim(app, "aud", Some(json!("another-service"))),
            "audience",
        ),
        (
            "an aud array without ours",
            with_claim(app, "aud", Some(json!(["a", "b"]))),
            "audience",
        ),
        (
            "no exp",
            with_claim(app, "exp", None),
            "claims missing or of the wrong type",
        ),
        (
            "exp as a string",
            with_claim(app, "exp", Some(json!((now + 3600).to_string()))),
            "claims missing or of the wrong type",
        ),
        (
            "a claim named twice",
            signed_raw(
                app,
                &header_text,
                &format!(
                    "{},\"roles\":[\"admin\"]}}",
                    payload_text.trim_end_matches('}')
                ),
            ),
            "duplicate names",
        ),
        (
            "a header parameter named twice",
            signed_raw(
                app,
                &format!("{},\"alg\":\"none\"}}", header_text.trim_end_matches('}')),
                &payload_text,
            ),
            "duplicate names",
        ),
        (
            "the signature over a re-encoded header",
            format!(
                "{}.{}.{}",
                b64(serde_json::to_string_pretty(&tokens::dev_header(app))
                    .expect("json")
                    .as_bytes()),
                parts[1],
                parts[2]
            ),
            "signature",
        ),
        (
            "data after the signature",
            format!("{good}.e30"),
            "malformed",
        ),
        (
            "text after the signature",
            format!("{good} trailing"),
            "malformed",
        ),
        ("over 8 KiB", tokens::dev_signed(app, &big), "too long"),
    ]
}

async fn every_refusal_is_one_audited_401_saying_why(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let good = tokens::dev_signed(&app, &tokens::claims(&app, AGENCY, &["police_officer"]));
    assert_eq!(app.get(AREAS, Some(&good)).await.status, 200);
    let rows = table(&app);
    assert!(rows.len() >= 24, "{} cases", rows.len());
    for (what, token, why) in rows {
        let before = events(&app).len();
        let response = app.get(AREAS, Some(&token)).await;
        assert_eq!(response.status, 401, "{what}: {}", response.text());
        response.assert_problem(401, "unauthenticated");
        assert_eq!(
            response.header("www-authenticate").as_deref(),
            Some(format!("Bearer error=\"invalid_token\", error_description=\"{why}\"").as_str()),
            "{what}"
        );
        let after = events(&app);
        assert_eq!(after.len(), before + 1, "{what}: exactly one event");
        let event = after.last().expect("the event");
        assert_eq!(event.event.action, "auth.failed", "{what}");
        let recorded = serde_json::to_string(event).expect("json");
        let signature = token.rsplit('.').next().unwrap_or_default();
        for shown in [response.text(), recorded] {
            assert!(
                signature.len() < 8 || !shown.contains(signature),
                "{what}: the token is echoed"
            );
            assert!(!shown.contains(&token[..token.len().min(40)]), "{what}");
        }
    }
    // No credentials at all: no error code (RFC 6750 §3.1).
    let response = app.get(AREAS, None).await;
    assert_eq!(
        response.header("www-authenticate").as_deref(),
        Some("Bearer")
    );
}

/// `SIG_JWT_TYP=at+jwt` (RFC 9068): a token typed `JWT` or untyped is refused, `at+jwt` and
/// `application/at+jwt` are accepted, and development tokens are minted with it.
async fn a_required_typ_is_enforced(backend: Backend) {
    let Some(app) = TestApp::with_config(backend, |config| {
        config.jwt_typ = Some("at+jwt".to_owned());
    }) else {
        return;
    };
    let claims = tokens::claims(&app, AGENCY, &["police_officer"]);
    let typed = |typ: Option<&str>| {
        let mut header = json!({"alg": "EdDSA", "kid": app.state().keys.jwt_dev.key_id});
        if let Some(typ) = typ {
            header["typ"] = json!(typ);
        }
        tokens::sign_ed25519(
            &app.state().keys.jwt_dev.pkcs8,
            &header,
            &Value::Object(claims.clone()),
        )
    };
    for typ in [Some("JWT"), None, Some("jwt")] {
        let response = app.get(AREAS, Some(&typed(typ))).await;
        assert_eq!(response.status, 401, "typ {typ:?}");
        assert!(response
            .header("www-authenticate")
            .is_some_and(|h| h.contains("token type")));
    }
    for typ in ["at+jwt", "application/at+jwt", "AT+JWT"] {
        assert_eq!(
            app.get(AREAS, Some(&typed(Some(typ)))).await.status,
            200,
            "{typ}"
        );
    }
    let minted = app.token("po-1", AGENCY, &[sig_register::auth::Role::PoliceOfficer]);
    assert_eq!(app.get(AREAS, Some(&minted)).await.status, 200);
}

on_both_backends!(
    every_refusal_is_one_audited_401_saying_why,
    a_required_typ_is_enforced,
);
