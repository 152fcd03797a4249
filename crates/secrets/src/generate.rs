//! Producing secret values: random passwords and SSH key pairs (Ed25519, or RSA 2048 where a plan
//! asks for it) in OpenSSH format.

use rand::RngExt;
use ssh_key::private::{Ed25519Keypair, KeypairData, RsaKeypair};
use ssh_key::rand_core::OsRng;
use ssh_key::{LineEnding, PrivateKey};

use super::error::SecretsError;

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A random secret of `len` characters from `[A-Za-z0-9-_]` (safe in shell, YAML and URLs).
pub fn random_secret(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Whether the pair `name` is RSA: only when its name asks for it (`rsa`, `key_rsa`, `deploy-rsa`...,
/// i.e. ending in `rsa`, any case). Every other new pair is Ed25519: generated in microseconds where
/// RSA 2048 takes about half a second, and read by every OpenSSH since 6.5. The token family keeps its
/// original name (`rsa_public.X`): it names "the plan's key pair X", whatever its type.
pub fn wants_rsa(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with("rsa")
}

/// A new key pair for `name`: RSA 2048 when [`wants_rsa`], Ed25519 otherwise (see [`rsa_key_pair`]
/// and [`ed25519_key_pair`]).
pub fn key_pair(name: &str) -> Result<(String, String), SecretsError> {
    if wants_rsa(name) {
        rsa_key_pair(name)
    } else {
        ed25519_key_pair(name)
    }
}

/// A new Ed25519 key pair as (OpenSSH public key `ssh-ed25519 ... plumbery-<name>`, OpenSSH private
/// key).
pub fn ed25519_key_pair(name: &str) -> Result<(String, String), SecretsError> {
    let pair = Ed25519Keypair::random(&mut OsRng);
    openssh_pair(name, KeypairData::Ed25519(pair))
}

fn openssh_pair(name: &str, data: KeypairData) -> Result<(String, String), SecretsError> {
    let err = |reason: String| SecretsError::KeyGeneration {
        name: name.to_string(),
        reason,
    };
    let private =
        PrivateKey::new(data, format!("plumbery-{name}")).map_err(|e| err(e.to_string()))?;
    let public = private
        .public_key()
        .to_openssh()
        .map_err(|e| err(e.to_string()))?;
    let pem = private
        .to_openssh(LineEnding::LF)
        .map_err(|e| err(e.to_string()))?;
    Ok((public, pem.to_string()))
}

/// A new RSA 2048 key pair as (OpenSSH public key `ssh-rsa ... plumbery-<name>`, OpenSSH private key).
///
/// The original produced the same kind of pair (RSA 2048); its private key was PKCS#1 PEM, ours is the
/// OpenSSH format, which `ssh`, `sshd` and cloud-init all read.
pub fn rsa_key_pair(name: &str) -> Result<(String, String), SecretsError> {
    let err = |reason: String| SecretsError::KeyGeneration {
        name: name.to_string(),
        reason,
    };
    let pair = RsaKeypair::random(&mut OsRng, 2048).map_err(|e| err(e.to_string()))?;
    openssh_pair(name, KeypairData::Rsa(pair))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_use_the_alphabet() {
        let s = random_secret(64);
        assert_eq!(s.len(), 64);
        assert!(s.bytes().all(|b| ALPHABET.contains(&b)));
        assert_ne!(random_secret(16), random_secret(16));
    }
}
