//! Producing secret values: random passwords and RSA key pairs in OpenSSH format.

use rand::RngExt;
use ssh_key::private::{KeypairData, RsaKeypair};
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
    let private = PrivateKey::new(KeypairData::Rsa(pair), format!("plumbery-{name}"))
        .map_err(|e| err(e.to_string()))?;
    let public = private
        .public_key()
        .to_openssh()
        .map_err(|e| err(e.to_string()))?;
    let pem = private
        .to_openssh(LineEnding::LF)
        .map_err(|e| err(e.to_string()))?;
    Ok((public, pem.to_string()))
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
