//! The diffusion: moves and chat messages fanned out to every gateway instance over NATS
//! (doc/monde_chat.md). The instance that handles a move or a message publishes it once on a
//! plain NATS subject of the bus (`diffusion.monde.<zone>`, `diffusion.chat.<canal>`), with
//! who should receive it; every instance, the publisher included, subscribes and pushes it to
//! its own [`Sockets`].
//!
//! "The players in a zone" is answered by each instance for its own sockets: [`Presences`]
//! indexes the characters whose players hold a socket here, by zone, as they look at, move
//! in or change zone through this instance; a character leaves the index on a zone change or
//! when its player's last socket here closes.
//!
//! Moves are batched per tick ([`TICK_DEPLACEMENTS`]): an instance notes each move in its
//! [`Deplacements`] (the latest position of a character wins) and, once per tick, publishes
//! one `monde.deplacements` per zone with every character that moved there. A socket thus
//! gets at most one move message per zone per tick, whatever the number of players moving:
//! pushing each move to every socket of its zone made the fan-out grow as the square of the
//! players in a zone, and closed the slowest sockets from ~1,000 moves/s on 300 players
//! (doc/performance.md).
//!
//! NATS gives at-most-once delivery on plain subjects: a push lost to a disconnection is not
//! replayed. The history (`chat.historique`) and the zone view (`monde.zone`) are how a client
//! catches up.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use commands::bus::Bus;
use commands::services::chat::Destinataires;
use domain::ids::{CompteId, JoueurId};
use domain::valeurs::CodeZone;
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::watch;
use uuid::Uuid;

use crate::protocole::notification;
use crate::sockets::Sockets;

/// The subjects every instance listens to, under the bus's prefix.
pub const SUJETS: &str = "diffusion.>";

/// What travels on the bus: a notification and who receives it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Diffusion {
    /// Who receives it.
    pub destinataires: Destinataires,
    /// The notification's method (`monde.deplacements`, `chat.message`).
    pub methode: String,
    /// Its params.
    pub params: Value,
}

/// This instance's index of the characters present in each zone, for the players who hold a
/// socket here.
#[derive(Debug, Default)]
pub struct Presences {
    par_joueur: Mutex<HashMap<JoueurId, (CodeZone, CompteId)>>,
}

impl Presences {
    fn carte(&self) -> std::sync::MutexGuard<'_, HashMap<JoueurId, (CodeZone, CompteId)>> {
        self.par_joueur
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The character is in `zone` (leaving any other).
    pub fn entrer(&self, joueur_id: JoueurId, zone: CodeZone, compte: CompteId) {
        self.carte().insert(joueur_id, (zone, compte));
    }

    /// The accounts with a character in `zone`.
    pub fn comptes_dans(&self, zone: &CodeZone) -> HashSet<Uuid> {
        self.carte()
            .values()
            .filter(|(z, _)| z == zone)
            .map(|(_, c)| c.uuid())
            .collect()
    }

    /// The account's characters indexed here.
    pub fn joueurs_du_compte(&self, compte: CompteId) -> Vec<JoueurId> {
        self.carte()
            .iter()
            .filter(|(_, (_, c))| *c == compte)
            .map(|(j, _)| *j)
            .collect()
    }

    /// Forgets the account's characters (its last socket here closed); which they were.
    pub fn retirer_compte(&self, compte: CompteId) -> Vec<JoueurId> {
        let mut carte = self.carte();
        let partis: Vec<JoueurId> = carte
            .iter()
            .filter(|(_, (_, c))| *c == compte)
            .map(|(j, _)| *j)
            .collect();
        for j in &partis {
            carte.remove(j);
        }
        partis
    }
}

/// How often the moves of a zone are published, batched: 10 per second, as many MMO servers
/// tick. A move reaches the other players at most this much later.
pub const TICK_DEPLACEMENTS: Duration = Duration::from_millis(100);

/// The moves this instance handled since the last tick: for each zone to notify, the latest
/// `monde.deplacements` entry of each character that moved.
#[derive(Debug, Default)]
pub struct Deplacements {
    par_zone: Mutex<HashMap<CodeZone, HashMap<JoueurId, Value>>>,
}

impl Deplacements {
    /// Notes that the players of `zone` should see `joueur_id` as `entree` (where it stands
    /// now), replacing an older entry of the same tick.
    pub fn noter(&self, zone: &CodeZone, joueur_id: JoueurId, entree: Value) {
        self.par_zone
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(zone.clone())
            .or_default()
            .insert(joueur_id, entree);
    }

    /// Takes the moves noted so far.
    fn vider(&self) -> HashMap<CodeZone, HashMap<JoueurId, Value>> {
        std::mem::take(
            &mut *self
                .par_zone
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Every [`TICK_DEPLACEMENTS`], publishes one `monde.deplacements` per zone with the moves
    /// noted since the last tick, until `arret`.
    pub async fn publier_periodiquement(
        self: Arc<Self>,
        bus: Bus,
        mut arret: watch::Receiver<bool>,
    ) {
        let mut tick = tokio::time::interval(TICK_DEPLACEMENTS);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = arret.changed() => return,
            }
            for (zone, entrees) in self.vider() {
                let diffusion = Diffusion {
                    destinataires: Destinataires::Zone { zone: zone.clone() },
                    methode: "monde.deplacements".into(),
                    params: serde_json::json!({
                        "zone": zone,
                        "deplacements": entrees.into_values().collect::<Vec<_>>(),
                    }),
                };
                publier(
                    &bus,
                    &format!("diffusion.monde.{}", zone.as_str()),
                    &diffusion,
                )
                .await;
            }
        }
    }
}

/// How long a publish may wait on NATS before the push is dropped.
pub const PUBLICATION_MAX: Duration = Duration::from_secs(1);

/// Pushes dropped because NATS refused them or did not take them in time.
pub static DIFFUSIONS_PERDUES: AtomicU64 = AtomicU64::new(0);

/// Publishes a notification for every instance to push. A failure is logged and counted
/// ([`DIFFUSIONS_PERDUES`]): a push is best effort, the command it reports has succeeded, and
/// a NATS outage must not hold its answer, hence the [`PUBLICATION_MAX`] bound.
pub async fn publier(bus: &Bus, sujet: &str, diffusion: &Diffusion) {
    let corps = match serde_json::to_vec(diffusion) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(erreur = %e, "diffusion illisible");
            return;
        }
    };
    let publication = bus.client().publish(bus.sujet(sujet), corps.into());
    match tokio::time::timeout(PUBLICATION_MAX, publication).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            DIFFUSIONS_PERDUES.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(erreur = %e, sujet, "diffusion non publiée");
        }
        Err(_) => {
            DIFFUSIONS_PERDUES.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                sujet,
                "diffusion abandonnée : NATS ne l'a pas prise à temps"
            );
        }
    }
}

/// Subscribes to the fan-out subjects, and waits until NATS has the subscription: pushes
/// published once this returns reach this instance.
pub async fn abonner(bus: &Bus) -> anyhow::Result<async_nats::Subscriber> {
    let abonne = bus.client().subscribe(bus.sujet(SUJETS)).await?;
    bus.client().flush().await?;
    Ok(abonne)
}

/// Pushes every fanned-out notification to this instance's sockets, until `arret`. If the
/// subscription ends (NATS lost for good), subscribes again.
pub async fn suivre(
    bus: Bus,
    mut abonne: async_nats::Subscriber,
    sockets: Arc<Sockets>,
    presences: Arc<Presences>,
    mut arret: watch::Receiver<bool>,
) {
    loop {
        let message = tokio::select! {
            m = abonne.next() => m,
            _ = arret.changed() => return,
        };
        if let Some(m) = message {
            pousser(&m.payload, &sockets, &presences);
            continue;
        }
        tracing::warn!("abonnement aux diffusions perdu, reprise");
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = arret.changed() => return,
        }
        match abonner(&bus).await {
            Ok(a) => abonne = a,
            Err(e) => tracing::warn!(erreur = %e, "réabonnement aux diffusions"),
        }
    }
}

fn pousser(corps: &[u8], sockets: &Sockets, presences: &Presences) {
    let diffusion: Diffusion = match serde_json::from_slice(corps) {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(erreur = %e, "diffusion illisible ignorée");
            return;
        }
    };
    let message: Arc<str> = notification(&diffusion.methode, diffusion.params)
        .to_string()
        .into();
    match diffusion.destinataires {
        Destinataires::Tous => sockets.pousser_a_tous(&message),
        Destinataires::Zone { zone } => {
            sockets.pousser(&presences.comptes_dans(&zone), &message);
        }
        Destinataires::Comptes { comptes } => {
            let comptes = comptes.iter().map(|c| c.uuid()).collect();
            sockets.pousser(&comptes, &message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn un_tick_garde_la_derniere_position_de_chaque_personnage_par_zone() {
        let d = Deplacements::default();
        let (plaine, foret) = (
            CodeZone::parse("plaine_verte").expect("zone"),
            CodeZone::parse("foret_sombre").expect("zone"),
        );
        let (alice, bruno) = (
            JoueurId::from_uuid(Uuid::from_u64_pair(2, 1)),
            JoueurId::from_uuid(Uuid::from_u64_pair(2, 2)),
        );
        d.noter(&plaine, alice, serde_json::json!({ "x": 1 }));
        d.noter(&plaine, bruno, serde_json::json!({ "x": 5 }));
        d.noter(&plaine, alice, serde_json::json!({ "x": 2 }));
        // A zone change is told to both zones.
        d.noter(&foret, alice, serde_json::json!({ "x": 2 }));
        let tick = d.vider();
        assert_eq!(tick.len(), 2);
        assert_eq!(tick[&plaine].len(), 2);
        assert_eq!(tick[&plaine][&alice], serde_json::json!({ "x": 2 }));
        assert_eq!(tick[&foret][&alice], serde_json::json!({ "x": 2 }));
        assert!(d.vider().is_empty(), "un tick vidé ne repart pas");
    }

    #[test]
    fn un_personnage_est_dans_une_seule_zone_a_la_fois() {
        let p = Presences::default();
        let (plaine, foret) = (
            CodeZone::parse("plaine_verte").expect("zone"),
            CodeZone::parse("foret_sombre").expect("zone"),
        );
        let compte = CompteId::from_uuid(Uuid::from_u64_pair(1, 1));
        let joueur = JoueurId::from_uuid(Uuid::from_u64_pair(2, 1));
        p.entrer(joueur, plaine.clone(), compte);
        assert_eq!(p.comptes_dans(&plaine), HashSet::from([compte.uuid()]));
        p.entrer(joueur, foret.clone(), compte);
        assert!(p.comptes_dans(&plaine).is_empty());
        assert_eq!(p.retirer_compte(compte), vec![joueur]);
        assert!(p.comptes_dans(&foret).is_empty());
    }
}
