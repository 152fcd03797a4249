//! The engine's answers to the token expander ([`fittings::tokens::SecretSource`]): the plan's secrets
//! and key pairs from its store, `{{ https://... }}` answers fetched once with `cloud::http_get` and
//! kept in the store, `SHARED_SECRET` by `secrets::shared_secret`, the credentials from `cloud::Env`.

use fittings::tokens::SecretSource;
use secrets::SecretsError;

use crate::polish::prepare::PlanState;

impl SecretSource for PlanState {
    fn secret(&self, name: &str) -> Result<String, String> {
        self.store.get_or_generate(name).map_err(|e| e.to_string())
    }

    fn key_pair(&self, name: &str) -> Result<(String, String), String> {
        self.store.key_pair(name).map_err(|e| e.to_string())
    }

    fn url(&self, url: &str) -> Result<String, String> {
        self.store
            .get_or_insert_with(url, || {
                cloud::http_get(url, fittings::MAX_PLAN_BYTES)
                    .map(|body| body.trim().to_string())
                    .map_err(|reason| SecretsError::Producer {
                        name: url.to_string(),
                        reason,
                    })
            })
            .map_err(|e| e.to_string())
    }

    fn shared_secret(&self) -> Option<String> {
        secrets::shared_secret()
    }

    fn cloud_user(&self) -> Option<String> {
        cloud::Env::from_env().username
    }

    fn cloud_password(&self) -> Option<String> {
        cloud::Env::from_env().password
    }
}
