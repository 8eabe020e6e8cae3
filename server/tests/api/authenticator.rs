//! What an administrator's devices do, written here from the standards rather than taken from
//! the server's crates: an authenticator app's codes (RFC 6238 over RFC 4226, SHA-1, 6
//! digits, 30 s) and a passkey (a WebAuthn authenticator with a P-256 key, "none"
//! attestation), so the tests check the server against the protocols, not against itself.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use p256::ecdsa::{signature::Signer, Signature, SigningKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The code an authenticator app shows at `unix_seconds` for a key as Tally shows it (base32,
/// in groups).
pub fn totp(key: &str, unix_seconds: i64) -> String {
    let secret = base32(key);
    let counter = (unix_seconds.max(0) as u64 / 30).to_be_bytes();
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&secret).expect("any key length");
    mac.update(&counter);
    let h = mac.finalize().into_bytes();
    let at = usize::from(h[19] & 0x0f);
    let bin = u32::from_be_bytes([h[at] & 0x7f, h[at + 1], h[at + 2], h[at + 3]]);
    format!("{:06}", bin % 1_000_000)
}

/// RFC 4648 base32, spaces and padding ignored.
fn base32(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let value = ALPHABET
            .iter()
            .position(|a| *a == c.to_ascii_uppercase())
            .unwrap_or_else(|| panic!("not base32: {text}"));
        bits = (bits << 5) | value as u64;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

#[test]
fn the_codes_are_rfc_6238s() {
    // Appendix B's SHA-1 secret is "12345678901234567890"; its vectors are 8 digits, whose
    // last 6 are the 6-digit code.
    let key = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    for (time, code) in [
        (59, "287082"),
        (1111111109, "081804"),
        (1234567890, "005924"),
    ] {
        assert_eq!(totp(key, time), code, "at {time}");
    }
}

/// A passkey on a software authenticator: one P-256 key, answering for `origin`.
pub struct SoftPasskey {
    key: SigningKey,
    credential_id: Vec<u8>,
    origin: String,
    counter: u32,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A CBOR byte string's head and bytes.
fn cbor_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut out = match bytes.len() {
        n if n < 24 => vec![0x40 | n as u8],
        n if n < 256 => vec![0x58, n as u8],
        n => vec![0x59, (n >> 8) as u8, n as u8],
    };
    out.extend_from_slice(bytes);
    out
}

/// A CBOR text string (short).
fn cbor_text(text: &str) -> Vec<u8> {
    let mut out = vec![0x60 | text.len() as u8];
    out.extend_from_slice(text.as_bytes());
    out
}

impl SoftPasskey {
    /// A new authenticator; `seed` makes its key (different seeds, different keys).
    pub fn new(origin: &str, seed: u8) -> Self {
        let key = SigningKey::from_slice(&[seed.max(1); 32]).expect("a valid P-256 scalar");
        Self {
            key,
            credential_id: Sha256::digest([b"credential".as_slice(), &[seed]].concat())[..16]
                .to_vec(),
            origin: origin.to_string(),
            counter: 0,
        }
    }

    fn rp_id_hash(options: &Value) -> Vec<u8> {
        let rp_id = options["rpId"]
            .as_str()
            .or_else(|| options["rp"]["id"].as_str())
            .expect("the relying party's id");
        Sha256::digest(rp_id.as_bytes()).to_vec()
    }

    fn client_data(&self, kind: &str, options: &Value) -> Vec<u8> {
        json!({
            "type": kind,
            "challenge": options["challenge"].as_str().expect("a challenge"),
            "origin": self.origin,
            "crossOrigin": false,
        })
        .to_string()
        .into_bytes()
    }

    /// The answer to `navigator.credentials.create` with the server's options (the
    /// `publicKey` member of what it sent).
    pub fn register(&mut self, options: &Value) -> Value {
        let options = &options["publicKey"];
        let point = self.key.verifying_key().to_sec1_point(false);
        let point = point.as_bytes();
        assert_eq!(point.len(), 65, "an uncompressed point");
        // The COSE key: {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}.
        let mut cose = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21];
        cose.extend(cbor_bytes(&point[1..33]));
        cose.push(0x22);
        cose.extend(cbor_bytes(&point[33..]));
        let mut auth_data = Self::rp_id_hash(options);
        auth_data.push(0x01 | 0x04 | 0x40); // user present, verified, credential data
        auth_data.extend(self.counter.to_be_bytes());
        auth_data.extend([0u8; 16]); // no AAGUID
        auth_data.extend((self.credential_id.len() as u16).to_be_bytes());
        auth_data.extend(&self.credential_id);
        auth_data.extend(cose);
        let mut attestation = vec![0xa3];
        attestation.extend(cbor_text("fmt"));
        attestation.extend(cbor_text("none"));
        attestation.extend(cbor_text("attStmt"));
        attestation.push(0xa0);
        attestation.extend(cbor_text("authData"));
        attestation.extend(cbor_bytes(&auth_data));
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "attestationObject": b64(&attestation),
                "clientDataJSON": b64(&self.client_data("webauthn.create", options)),
            },
            "extensions": {},
        })
    }

    /// The answer to `navigator.credentials.get` with the server's options.
    pub fn sign(&mut self, options: &Value) -> Value {
        let options = &options["publicKey"];
        self.counter += 1;
        let mut auth_data = Self::rp_id_hash(options);
        auth_data.push(0x01 | 0x04);
        auth_data.extend(self.counter.to_be_bytes());
        let client_data = self.client_data("webauthn.get", options);
        let signed = [auth_data.as_slice(), &Sha256::digest(&client_data)].concat();
        let signature: Signature = self.key.sign(&signed);
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&auth_data),
                "clientDataJSON": b64(&client_data),
                "signature": b64(signature.to_der().as_bytes()),
                "userHandle": null,
            },
            "extensions": {},
        })
    }
}
