//! Hand-made JWTs, for the attacks a library would refuse to produce (`alg: none`, HS256 with a
//! public key as the secret, wrong claim types, …). Signatures are real (ring).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Map, Value};

use sig_register::clock::Clock;

use super::TestApp;

pub fn b64(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

fn segments(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        b64(&serde_json::to_vec(header).expect("json")),
        b64(&serde_json::to_vec(claims).expect("json"))
    )
}

/// Valid claims for a user of `agency` with `roles`, at the app's clock.
pub fn claims(app: &TestApp, agency: &str, roles: &[&str]) -> Map<String, Value> {
    let now = app.clock.now().timestamp();
    let value = json!({
        "iss": app.config.jwt_issuer,
        "aud": app.config.jwt_audience,
        "sub": "crafted-user",
        "name": "Crafted User",
        "agency": agency,
        "roles": roles,
        "iat": now - 5,
        "nbf": now - 5,
        "exp": now + 3600,
    });
    match value {
        Value::Object(map) => map,
        _ => unreachable!(),
    }
}

pub fn dev_header(app: &TestApp) -> Value {
    json!({"alg": "EdDSA", "typ": "JWT", "kid": app.state().keys.jwt_dev.key_id})
}

pub fn sign_ed25519(pkcs8: &[u8], header: &Value, claims: &Value) -> String {
    let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8).expect("an Ed25519 key");
    let input = segments(header, claims);
    let signature = pair.sign(input.as_bytes());
    format!("{input}.{}", b64(signature.as_ref()))
}

pub fn sign_es256(pkcs8: &[u8], header: &Value, claims: &Value) -> String {
    let rng = ring::rand::SystemRandom::new();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
        .expect("a P-256 key");
    let input = segments(header, claims);
    let signature = pair.sign(&rng, input.as_bytes()).expect("sign");
    format!("{input}.{}", b64(signature.as_ref()))
}

pub fn sign_rs256(pkcs8: &[u8], header: &Value, claims: &Value) -> String {
    let pair = ring::rsa::KeyPair::from_pkcs8(pkcs8).expect("an RSA key");
    let input = segments(header, claims);
    let mut signature = vec![0u8; pair.public().modulus_len()];
    pair.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        input.as_bytes(),
        &mut signature,
    )
    .expect("sign");
    format!("{input}.{}", b64(&signature))
}

pub fn sign_hs256(secret: &[u8], header: &Value, claims: &Value) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let input = segments(header, claims);
    let tag = ring::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

pub fn unsigned(header: &Value, claims: &Value) -> String {
    format!("{}.", segments(header, claims))
}

/// A token signed with the service's development key, with `claims` as given.
pub fn dev_signed(app: &TestApp, claims: &Map<String, Value>) -> String {
    sign_ed25519(
        &app.state().keys.jwt_dev.pkcs8,
        &dev_header(app),
        &Value::Object(claims.clone()),
    )
}

pub fn new_ed25519() -> Vec<u8> {
    Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
        .expect("generate")
        .as_ref()
        .to_vec()
}

pub fn new_p256() -> Vec<u8> {
    EcdsaKeyPair::generate_pkcs8(
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        &ring::rand::SystemRandom::new(),
    )
    .expect("generate")
    .as_ref()
    .to_vec()
}

/// A 2048-bit RSA key as PKCS#8 DER with its modulus, made by the openssl command.
pub fn new_rsa() -> (Vec<u8>, Vec<u8>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let pem = dir.path().join("rsa.pem");
    let status = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&pem)
        .output()
        .expect("run openssl");
    assert!(
        status.status.success(),
        "openssl genpkey: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let der = std::process::Command::new("openssl")
        .args(["pkcs8", "-topk8", "-nocrypt", "-outform", "DER", "-in"])
        .arg(&pem)
        .output()
        .expect("run openssl");
    assert!(der.status.success());
    let pair = ring::rsa::KeyPair::from_pkcs8(&der.stdout).expect("ring reads the key");
    let components: ring::rsa::PublicKeyComponents<Vec<u8>> = pair.public().into();
    (der.stdout, components.n)
}
