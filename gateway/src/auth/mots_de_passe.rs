//! Password hashing with argon2id at OWASP's parameters (m = 19 MiB, t = 2, p = 1), on a
//! bounded number of blocking threads: a burst of logins waits its turn instead of taking
//! every core from gameplay.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

/// How long a login may wait for a hashing slot before it is told the server is busy.
const ATTENTE_MAX: Duration = Duration::from_secs(5);

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
pub enum ErreurHachage {
    /// Every slot stayed busy for [`ATTENTE_MAX`].
    #[error("trop de connexions en cours, réessayez")]
    Sature,
    /// The stored hash is not a PHC string argon2 reads.
    #[error("empreinte de mot de passe illisible : {0}")]
    Empreinte(String),
}

/// The hasher: argon2id parameters and the slots.
#[derive(Debug, Clone)]
pub struct Hacheur {
    places: Arc<Semaphore>,
    /// A hash of nothing anyone knows, checked when the login does not exist so that an
    /// unknown login costs as long as a wrong password (no account enumeration by timing).
    leurre: Arc<str>,
}

fn argon2() -> Argon2<'static> {
    // OWASP Password Storage Cheat Sheet, argon2id: m=19456 KiB, t=2, p=1.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hacher_maintenant(mot_de_passe: &str) -> Result<String, ErreurHachage> {
    let sel = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(mot_de_passe.as_bytes(), &sel)
        .map(|h| h.to_string())
        .map_err(|e| ErreurHachage::Empreinte(e.to_string()))
}

impl Hacheur {
    /// A hasher running at most `simultanes` hashes at once.
    pub fn new(simultanes: usize) -> Result<Self, ErreurHachage> {
        Ok(Self {
            places: Arc::new(Semaphore::new(simultanes.max(1))),
            leurre: hacher_maintenant("leurre: aucun compte n'a ce mot de passe")?.into(),
        })
    }

    async fn en_tache<T: Send + 'static>(
        &self,
        travail: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ErreurHachage> {
        let place = tokio::time::timeout(ATTENTE_MAX, Arc::clone(&self.places).acquire_owned())
            .await
            .map_err(|_| ErreurHachage::Sature)?
            .map_err(|_| ErreurHachage::Sature)?;
        let resultat = tokio::task::spawn_blocking(move || {
            let r = travail();
            drop(place);
            r
        })
        .await
        .map_err(|_| ErreurHachage::Sature)?;
        Ok(resultat)
    }

    /// The PHC string of a new password.
    pub async fn hacher(&self, mot_de_passe: String) -> Result<String, ErreurHachage> {
        self.en_tache(move || hacher_maintenant(&mot_de_passe))
            .await?
    }

    /// Whether `mot_de_passe` matches `empreinte`; with no stored hash (unknown login), the
    /// decoy is checked and the answer is always no.
    pub async fn verifier(
        &self,
        mot_de_passe: String,
        empreinte: Option<String>,
    ) -> Result<bool, ErreurHachage> {
        let connu = empreinte.is_some();
        let empreinte = empreinte.unwrap_or_else(|| self.leurre.to_string());
        let correct = self
            .en_tache(move || {
                let analysee = PasswordHash::new(&empreinte)
                    .map_err(|e| ErreurHachage::Empreinte(e.to_string()))?;
                Ok::<_, ErreurHachage>(
                    argon2()
                        .verify_password(mot_de_passe.as_bytes(), &analysee)
                        .is_ok(),
                )
            })
            .await??;
        Ok(connu && correct)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn un_mot_de_passe_se_verifie_et_un_autre_non() {
        let h = Hacheur::new(1).expect("hacheur");
        let e = h
            .hacher("correct horse battery".into())
            .await
            .expect("hachage");
        assert!(e.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{e}");
        assert!(
            h.verifier("correct horse battery".into(), Some(e.clone()))
                .await
                .expect("ok")
        );
        assert!(!h.verifier("mauvais".into(), Some(e)).await.expect("ok"));
    }

    #[tokio::test]
    async fn un_identifiant_inconnu_n_est_jamais_accepte() {
        let h = Hacheur::new(1).expect("hacheur");
        let leurre = "leurre: aucun compte n'a ce mot de passe".to_owned();
        assert!(!h.verifier(leurre, None).await.expect("ok"));
    }
}
