//! Production keys: the identity provider's JWKS, from a file (`SIG_JWKS_FILE`) or fetched
//! ([`super::provider_keys`]).
//!
//! Each signing key is bound to one algorithm from its type: OKP/Ed25519 → EdDSA,
//! EC/P-256 → ES256, RSA (2048 bits or more) → RS256. Symmetric keys are refused, keys meant
//! for encryption are skipped, and a key whose `alg` contradicts its type is refused.

use std::path::Path;

use base64::Engine as _;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, OctetKeyPairType, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey};

use super::{AuthSetupError, VerifierKey};

const MIN_RSA_BITS: usize = 2048;

pub(crate) fn load(path: &Path) -> Result<Vec<VerifierKey>, AuthSetupError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| AuthSetupError::JwksRead {
        path: shown.clone(),
        source,
    })?;
    let invalid = |reason: String| AuthSetupError::JwksInvalid {
        path: shown.clone(),
        reason,
    };
    let set = parse(&text).map_err(invalid)?;
    // A file is the operator's own: every key in it must be usable.
    if let Some(reason) = set.skipped.into_iter().next() {
        return Err(invalid(reason));
    }
    Ok(set.keys)
}

/// What a JWKS document gave.
pub(crate) struct KeySet {
    pub keys: Vec<VerifierKey>,
    /// The JSON of each usable key, to tell whether a fetched set changed.
    pub json: Vec<serde_json::Value>,
    /// Why each signing key that cannot be used was left out (`key 2: …`).
    pub skipped: Vec<String>,
}

/// The signing keys of a JWKS document; keys meant for encryption are passed over. A document
/// that is not a key set, or holds no usable signing key, is an error.
pub(crate) fn parse(text: &str) -> Result<KeySet, String> {
    let document: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let keys = document
        .get("keys")
        .and_then(|k| k.as_array())
        .ok_or_else(|| "no `keys` array".to_owned())?;
    let mut set = KeySet {
        keys: Vec::new(),
        json: Vec::new(),
        skipped: Vec::new(),
    };
    for (index, value) in keys.iter().enumerate() {
        let jwk: Jwk = match serde_json::from_value(value.clone()) {
            Ok(jwk) => jwk,
            Err(e) => {
                set.skipped.push(format!("key {index}: {e}"));
                continue;
            }
        };
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
            continue;
        }
        match verifier_for(&jwk) {
            Ok(verifier) => {
                set.keys.push(verifier);
                set.json.push(value.clone());
            }
            Err(reason) => set.skipped.push(format!("key {index}: {reason}")),
        }
    }
    if set.keys.is_empty() {
        return Err(match set.skipped.first() {
            Some(reason) => format!("no usable signing key ({reason})"),
            None => "no usable signing key".to_owned(),
        });
    }
    Ok(set)
}

fn verifier_for(jwk: &Jwk) -> Result<VerifierKey, String> {
    let alg = match &jwk.algorithm {
        AlgorithmParameters::OctetKeyPair(p) if p.key_type == OctetKeyPairType::OctetKeyPair => {
            if p.curve != EllipticCurve::Ed25519 {
                return Err("only the Ed25519 curve is accepted for OKP keys".to_owned());
            }
            Algorithm::EdDSA
        }
        AlgorithmParameters::EllipticCurve(p) => {
            if p.curve != EllipticCurve::P256 {
                return Err("only the P-256 curve is accepted for EC keys".to_owned());
            }
            Algorithm::ES256
        }
        AlgorithmParameters::RSA(p) => {
            let modulus = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p.n.trim_end_matches('='))
                .map_err(|_| "the RSA modulus is not base64url".to_owned())?;
            let bits = modulus.iter().skip_while(|b| **b == 0).count() * 8;
            if bits < MIN_RSA_BITS {
                return Err(format!("RSA keys need at least {MIN_RSA_BITS} bits"));
            }
            Algorithm::RS256
        }
        AlgorithmParameters::OctetKey(_) => {
            return Err("symmetric (oct) keys are never accepted".to_owned())
        }
        _ => return Err("unsupported key type".to_owned()),
    };
    if let Some(declared) = &jwk.common.key_algorithm {
        let matches = matches!(
            (declared, alg),
            (KeyAlgorithm::EdDSA, Algorithm::EdDSA)
                | (KeyAlgorithm::ES256, Algorithm::ES256)
                | (KeyAlgorithm::RS256, Algorithm::RS256)
        );
        if !matches {
            return Err(
                "its `alg` does not fit its key type (accepted: EdDSA, ES256, RS256)".to_owned(),
            );
        }
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("unusable key: {e}"))?;
    Ok(VerifierKey {
        kid: jwk.common.key_id.clone(),
        alg,
        key,
    })
}
