//! What the token tests give the expander in place of the engine: the plan's real secret store
//! (`secrets::Store`, a dev-dependency only) behind [`fittings::tokens::SecretSource`], no network,
//! no environment.

use fittings::tokens::SecretSource;
use secrets::{SecretsError, Store};

/// A secret store answering the token expander; URLs are only answered when already stored.
pub struct StoreSource(pub Store);

impl SecretSource for StoreSource {
    fn secret(&self, name: &str) -> Result<String, String> {
        self.0.get_or_generate(name).map_err(|e| e.to_string())
    }

    fn key_pair(&self, name: &str) -> Result<(String, String), String> {
        self.0.key_pair(name).map_err(|e| e.to_string())
    }

    fn url(&self, url: &str) -> Result<String, String> {
        self.0
            .get_or_insert_with(url, || {
                Err(SecretsError::Producer {
                    name: url.to_string(),
                    reason: "no network in tests".into(),
                })
            })
            .map_err(|e| e.to_string())
    }

    fn shared_secret(&self) -> Option<String> {
        None
    }

    fn cloud_user(&self) -> Option<String> {
        None
    }

    fn cloud_password(&self) -> Option<String> {
        None
    }
}
