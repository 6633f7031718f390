//! Bans and kicks, on every gateway instance. Each instance holds the bans in force in memory
//! ([`Revocations`]), checked on every JSON-RPC call (HTTP and WebSocket) and at the WebSocket
//! upgrade: no round trip per call. The instance that handles `mj.bannir|retablir|expulser`
//! updates its own memory and sockets, then announces the change on the bus's plain subject
//! `moderation` ([`annoncer`]); every instance, the publisher included, applies it at once
//! ([`suivre`]): the account's sockets close (4403 banned, 4410 kicked) wherever they are.
//! NATS may lose a message on a disconnection: every [`RELECTURE`] each instance reads the
//! bans in force again from PostgreSQL, the truth (`revocations`), so a lost announcement
//! delays a ban by that much at worst. Login and refresh read PostgreSQL themselves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::Utc;
use commands::bus::Bus;
use commands::services::moderation::{Moderation, Revocation};
use domain::ids::CompteId;
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::sockets::{Motif, Sockets};

/// The subject of the announcements, under the bus's prefix.
pub const SUJET: &str = "moderation";

/// How often each instance reads the bans in force again.
pub const RELECTURE: Duration = Duration::from_secs(5);

/// What an instance is told.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Annonce {
    /// A ban: refuse the account's calls, close its sockets.
    Banni {
        /// The ban.
        revocation: Revocation,
    },
    /// The ban was lifted.
    Retabli {
        /// The account.
        compte_id: CompteId,
    },
    /// Close the account's sockets, nothing more.
    Expulse {
        /// The account.
        compte_id: CompteId,
    },
}

/// The bans in force this instance knows of.
#[derive(Debug, Default)]
pub struct Revocations {
    carte: Mutex<HashMap<CompteId, Revocation>>,
}

impl Revocations {
    fn carte(&self) -> std::sync::MutexGuard<'_, HashMap<CompteId, Revocation>> {
        self.carte.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The ban in force on this account, if any.
    pub fn en_vigueur(&self, compte: CompteId) -> Option<Revocation> {
        let carte = self.carte();
        carte
            .get(&compte)
            .filter(|r| r.en_vigueur(Utc::now()))
            .cloned()
    }

    /// Replaces everything with the bans PostgreSQL holds.
    pub fn remplacer(&self, revocations: Vec<Revocation>) {
        *self.carte() = revocations.into_iter().map(|r| (r.compte_id, r)).collect();
    }

    /// Applies an announcement here: the memory, then the sockets.
    pub fn appliquer(&self, annonce: &Annonce, sockets: &Sockets) {
        match annonce {
            Annonce::Banni { revocation } => {
                self.carte()
                    .insert(revocation.compte_id, revocation.clone());
                sockets.congedier(revocation.compte_id.uuid(), Motif::Banni);
            }
            Annonce::Retabli { compte_id } => {
                self.carte().remove(compte_id);
            }
            Annonce::Expulse { compte_id } => sockets.congedier(compte_id.uuid(), Motif::Expulse),
        }
    }
}

/// Tells every instance (this one included, through its subscription).
pub async fn annoncer(bus: &Bus, annonce: &Annonce) {
    let corps = match serde_json::to_vec(annonce) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(erreur = %e, "annonce de modération illisible");
            return;
        }
    };
    let publication = bus.client().publish(bus.sujet(SUJET), corps.into());
    match tokio::time::timeout(crate::diffusion::PUBLICATION_MAX, publication).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(erreur = %e, "annonce de modération non publiée"),
        Err(_) => tracing::warn!("annonce de modération abandonnée : NATS ne l'a pas prise"),
    }
}

/// Subscribes to the announcements (before the instance serves: none is missed after).
pub async fn abonner(bus: &Bus) -> anyhow::Result<async_nats::Subscriber> {
    let abonne = bus.client().subscribe(bus.sujet(SUJET)).await?;
    bus.client().flush().await?;
    Ok(abonne)
}

/// Applies every announcement, and reads the bans in force again every [`RELECTURE`], until
/// `arret`.
pub async fn suivre(
    bus: Bus,
    mut abonne: async_nats::Subscriber,
    service: Moderation,
    revocations: Arc<Revocations>,
    sockets: Arc<Sockets>,
    mut arret: watch::Receiver<bool>,
) {
    let mut relecture = tokio::time::interval(RELECTURE);
    relecture.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = arret.changed() => return,
            _ = relecture.tick() => match service.revocations().await {
                Ok(r) => revocations.remplacer(r),
                Err(e) => tracing::warn!(erreur = %e, "relecture des bannissements"),
            },
            message = abonne.next() => {
                if let Some(m) = message {
                    match serde_json::from_slice::<Annonce>(&m.payload) {
                        Ok(annonce) => revocations.appliquer(&annonce, &sockets),
                        Err(e) => tracing::warn!(erreur = %e, "annonce de modération illisible ignorée"),
                    }
                    continue;
                }
                tracing::warn!("abonnement aux annonces de modération perdu, reprise");
                tokio::time::sleep(Duration::from_millis(500)).await;
                match abonner(&bus).await {
                    Ok(a) => abonne = a,
                    Err(e) => tracing::warn!(erreur = %e, "réabonnement à la modération"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::sync::{Notify, mpsc};
    use uuid::Uuid;

    use super::*;

    #[tokio::test]
    async fn un_bannissement_ferme_les_sockets_du_compte_et_se_leve() {
        let sockets = Arc::new(Sockets::default());
        let revocations = Revocations::default();
        let compte = CompteId::from_uuid(Uuid::from_u64_pair(1, 1));
        let (tx, _rx) = mpsc::channel(4);
        let abonnement = sockets.abonner(compte.uuid(), tx, Arc::new(Notify::new()));
        let revocation = Revocation {
            compte_id: compte,
            jusqu_a: None,
            raison: "triche".into(),
        };
        revocations.appliquer(&Annonce::Banni { revocation }, &sockets);
        assert!(revocations.en_vigueur(compte).is_some());
        let motif = tokio::time::timeout(Duration::from_secs(1), abonnement.conge())
            .await
            .expect("la socket est congédiée");
        assert_eq!(motif, Motif::Banni);
        revocations.appliquer(&Annonce::Retabli { compte_id: compte }, &sockets);
        assert!(revocations.en_vigueur(compte).is_none());
        // A ban that has ended is no longer in force, whatever the memory holds.
        revocations.remplacer(vec![Revocation {
            compte_id: compte,
            jusqu_a: Some(Utc::now() - chrono::Duration::seconds(1)),
            raison: "fini".into(),
        }]);
        assert!(revocations.en_vigueur(compte).is_none());
    }
}
