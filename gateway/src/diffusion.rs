//! Pushes: every committed event reaches the sockets of the accounts it concerns, as an
//! `evenement` notification carrying its cursor (its place in the global order), from which a
//! client that reconnects asks for what it missed (`evenements.depuis`).
//!
//! Each gateway instance tails the store itself, in the global order tailing readers can
//! trust ([`magasin::lecteur::lire_apres`]), woken by the store's notify: every instance
//! sees every event, so a player reaches it through whichever gateway holds the socket.
//!
//! The [`Diffuseur`] (the sockets by account) also carries the pushes that are not events of
//! the store, moves and chat messages, which reach every instance through NATS
//! ([`crate::voisinage`]).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use commands::Depot;
use domain::combat::{Combat, EvenementCombat};
use domain::echange::{Echange, EvenementEchange};
use magasin::lecteur::{EvenementStocke, PositionGlobale, lire_apres};
use magasin::suivi;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::sync::{Notify, mpsc, watch};
use uuid::Uuid;

use crate::rpc::{evenement_json, notification};

/// Entries kept in the resolver's maps before they are forgotten (and reloaded on need).
const ENTREES_MAX: usize = 100_000;

/// A cursor as clients see it: `"<transaction>.<position>"`.
pub fn curseur(p: PositionGlobale) -> String {
    format!("{}.{}", p.transaction, p.position)
}

/// Reads a cursor.
pub fn lire_curseur(texte: &str) -> Option<PositionGlobale> {
    let (t, p) = texte.split_once('.')?;
    let position = PositionGlobale {
        transaction: t.parse().ok()?,
        position: p.parse().ok()?,
    };
    (position.transaction >= 0 && position.position >= 0).then_some(position)
}

/// An event as pushed and as `evenements.depuis` returns it.
pub fn evenement_pousse(e: &EvenementStocke) -> Value {
    let mut corps = evenement_json(e.payload.clone());
    if let Value::Object(m) = &mut corps {
        m.insert("curseur".into(), json!(curseur(e.position())));
        m.insert("agregat".into(), json!(e.aggregate_type));
        m.insert("id".into(), json!(e.aggregate_id));
        m.insert("sequence".into(), json!(e.sequence));
        m.insert("correlation_id".into(), json!(e.correlation_id));
        m.insert("horodatage".into(), json!(e.recorded_at));
    }
    corps
}

/// Who an event concerns: characters, then their accounts. Combats and trades are followed
/// from their first event; one seen mid-way is loaded from the store once.
pub struct Destinataires {
    pool: PgPool,
    proprietaires: HashMap<Uuid, Uuid>,
    combats: HashMap<String, Vec<Uuid>>,
    echanges: HashMap<String, Vec<Uuid>>,
}

impl Destinataires {
    /// An empty resolver.
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            proprietaires: HashMap::new(),
            combats: HashMap::new(),
            echanges: HashMap::new(),
        }
    }

    /// The accounts an event concerns.
    pub async fn comptes(
        &mut self,
        depot: &Depot,
        e: &EvenementStocke,
    ) -> Result<HashSet<Uuid>, commands::ErreurApplication> {
        let mut comptes = HashSet::new();
        for joueur in self.joueurs(depot, e).await? {
            if let Some(compte) = self.proprietaire(joueur).await? {
                comptes.insert(compte);
            }
        }
        Ok(comptes)
    }

    async fn proprietaire(&mut self, joueur: Uuid) -> Result<Option<Uuid>, sqlx::Error> {
        if let Some(c) = self.proprietaires.get(&joueur) {
            return Ok(Some(*c));
        }
        let ligne: Option<(Uuid,)> =
            sqlx::query_as("SELECT compte_id FROM noms_joueurs WHERE joueur_id = $1")
                .bind(joueur)
                .fetch_optional(&self.pool)
                .await?;
        if let Some((compte,)) = ligne {
            if self.proprietaires.len() >= ENTREES_MAX {
                self.proprietaires.clear();
            }
            self.proprietaires.insert(joueur, compte);
        }
        Ok(ligne.map(|(c,)| c))
    }

    async fn joueurs(
        &mut self,
        depot: &Depot,
        e: &EvenementStocke,
    ) -> Result<Vec<Uuid>, commands::ErreurApplication> {
        use cqrs_es::Aggregate as _;
        let id = e.aggregate_id.as_str();
        Ok(match e.aggregate_type.as_str() {
            "Joueur" | "Inventaire" => Uuid::parse_str(id).into_iter().collect(),
            "Quete" => id
                .split_once(':')
                .and_then(|(j, _)| Uuid::parse_str(j).ok())
                .into_iter()
                .collect(),
            t if t == Combat::TYPE => self.combat(depot, e).await?,
            t if t == Echange::TYPE => self.echange(depot, e).await?,
            _ => Vec::new(),
        })
    }

    async fn combat(
        &mut self,
        depot: &Depot,
        e: &EvenementStocke,
    ) -> Result<Vec<Uuid>, commands::ErreurApplication> {
        let id = &e.aggregate_id;
        let evenement = serde_json::from_value::<EvenementCombat>(e.payload.clone()).ok();
        if let Some(EvenementCombat::CombatPrepare { initiateur, .. }) = &evenement {
            garder(&mut self.combats, id, vec![initiateur.joueur_id.uuid()]);
        } else if !self.combats.contains_key(id) {
            let participants = depot
                .charger::<Combat>(id)
                .await?
                .and_then(|c| c.etat().cloned())
                .map(|etat| {
                    etat.participants
                        .iter()
                        .map(|p| p.combattant.joueur_id.uuid())
                        .collect()
                })
                .unwrap_or_default();
            garder(&mut self.combats, id, participants);
        }
        let liste = self.combats.entry(id.clone()).or_default();
        if let Some(EvenementCombat::CombattantRejoint { combattant, .. }) = &evenement {
            let j = combattant.joueur_id.uuid();
            if !liste.contains(&j) {
                liste.push(j);
            }
        }
        let destinataires = liste.clone();
        match &evenement {
            Some(EvenementCombat::CombattantParti { joueur_id, .. }) => {
                liste.retain(|j| *j != joueur_id.uuid());
            }
            Some(EvenementCombat::CombatTermine { .. } | EvenementCombat::CombatAnnule { .. }) => {
                self.combats.remove(id);
            }
            _ => {}
        }
        Ok(destinataires)
    }

    async fn echange(
        &mut self,
        depot: &Depot,
        e: &EvenementStocke,
    ) -> Result<Vec<Uuid>, commands::ErreurApplication> {
        let id = &e.aggregate_id;
        let evenement = serde_json::from_value::<EvenementEchange>(e.payload.clone()).ok();
        if let Some(EvenementEchange::EchangePropose {
            proposant,
            destinataire,
            ..
        }) = &evenement
        {
            garder(
                &mut self.echanges,
                id,
                vec![proposant.uuid(), destinataire.uuid()],
            );
        } else if !self.echanges.contains_key(id) {
            let parties = depot
                .charger::<Echange>(id)
                .await?
                .and_then(|x| x.etat().cloned())
                .map(|etat| {
                    vec![
                        etat.proposant.joueur_id.uuid(),
                        etat.destinataire.joueur_id.uuid(),
                    ]
                })
                .unwrap_or_default();
            garder(&mut self.echanges, id, parties);
        }
        let parties = self.echanges.get(id).cloned().unwrap_or_default();
        if matches!(
            evenement,
            Some(EvenementEchange::EchangeConclu { .. } | EvenementEchange::EchangeAnnule { .. })
        ) {
            self.echanges.remove(id);
        }
        Ok(parties)
    }
}

fn garder(carte: &mut HashMap<String, Vec<Uuid>>, id: &str, joueurs: Vec<Uuid>) {
    if carte.len() >= ENTREES_MAX {
        carte.clear();
    }
    carte.insert(id.to_owned(), joueurs);
}

/// A socket's subscription.
#[derive(Debug)]
struct Abonne {
    session: u64,
    file: mpsc::Sender<Arc<str>>,
    trop_lent: Arc<Notify>,
}

/// The sockets, by account.
#[derive(Debug, Default)]
pub struct Diffuseur {
    abonnes: Mutex<HashMap<Uuid, Vec<Abonne>>>,
    suivante: AtomicU64,
    /// Pushes dropped because a socket's queue was full (that socket is then closed).
    pub abandons: AtomicU64,
}

/// A socket's place in the hub: unsubscribes when dropped.
#[derive(Debug)]
pub struct Abonnement {
    diffuseur: Arc<Diffuseur>,
    compte: Uuid,
    session: u64,
}

impl Drop for Abonnement {
    fn drop(&mut self) {
        let mut abonnes = self
            .diffuseur
            .abonnes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(liste) = abonnes.get_mut(&self.compte) {
            liste.retain(|a| a.session != self.session);
            if liste.is_empty() {
                abonnes.remove(&self.compte);
            }
        }
    }
}

impl Diffuseur {
    /// Subscribes a socket to its account's events: `file` is its bounded outgoing queue,
    /// `trop_lent` is notified when a push found it full.
    pub fn abonner(
        self: &Arc<Self>,
        compte: Uuid,
        file: mpsc::Sender<Arc<str>>,
        trop_lent: Arc<Notify>,
    ) -> Abonnement {
        let session = self.suivante.fetch_add(1, Ordering::Relaxed);
        self.abonnes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(compte)
            .or_default()
            .push(Abonne {
                session,
                file,
                trop_lent,
            });
        Abonnement {
            diffuseur: Arc::clone(self),
            compte,
            session,
        }
    }

    /// Whether any socket listens for one of these accounts.
    fn ecoute(&self, comptes: &HashSet<Uuid>) -> bool {
        let abonnes = self
            .abonnes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        comptes.iter().any(|c| abonnes.contains_key(c))
    }

    /// Whether any socket of this account is open on this instance.
    pub fn connecte(&self, compte: Uuid) -> bool {
        self.abonnes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains_key(&compte)
    }

    /// Queues `message` on every socket of this instance (the `monde` chat channel), as
    /// [`Diffuseur::pousser`] does.
    pub fn pousser_a_tous(&self, message: &Arc<str>) {
        let abonnes = self
            .abonnes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for a in abonnes.values().flatten() {
            self.envoyer(a, message);
        }
    }

    fn envoyer(&self, a: &Abonne, message: &Arc<str>) {
        if a.file.try_send(Arc::clone(message)).is_err() {
            self.abandons.fetch_add(1, Ordering::Relaxed);
            a.trop_lent.notify_one();
        }
    }

    /// Queues `message` on every socket of these accounts, never waiting: a full queue marks
    /// its socket as too slow.
    pub fn pousser(&self, comptes: &HashSet<Uuid>, message: &Arc<str>) {
        let abonnes = self
            .abonnes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for compte in comptes {
            for a in abonnes.get(compte).into_iter().flatten() {
                self.envoyer(a, message);
            }
        }
    }
}

/// The position of the newest event every reader can already see.
pub async fn tete(pool: &PgPool) -> Result<PositionGlobale, sqlx::Error> {
    let ligne: Option<(i64, i64)> = sqlx::query_as(
        "SELECT transaction_id::text::bigint, global_position FROM events \
         WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot()) \
         ORDER BY transaction_id DESC, global_position DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    Ok(ligne.map_or(PositionGlobale::DEBUT, PositionGlobale::from))
}

/// Tails the store from its head and pushes each event to the sockets it concerns, until
/// `arret`. A failure is logged and the tail resumes from the last pushed event.
pub async fn suivre(
    depot: Arc<Depot>,
    diffuseur: Arc<Diffuseur>,
    mut arret: watch::Receiver<bool>,
) {
    let pool = depot.pool().clone();
    let mut position = loop {
        match tete(&pool).await {
            Ok(p) => break p,
            Err(e) => {
                tracing::warn!(erreur = %e, "diffusion : tête du magasin illisible, nouvel essai");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = arret.changed() => return,
                }
            }
        }
    };
    let mut destinataires = Destinataires::new(pool.clone());
    while !*arret.borrow() {
        if let Err(e) = suivre_depuis(
            &depot,
            &diffuseur,
            &mut destinataires,
            &mut position,
            &mut arret,
        )
        .await
        {
            tracing::warn!(erreur = %e, "diffusion interrompue, reprise");
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = arret.changed() => {}
            }
        }
    }
}

async fn suivre_depuis(
    depot: &Depot,
    diffuseur: &Diffuseur,
    destinataires: &mut Destinataires,
    position: &mut PositionGlobale,
    arret: &mut watch::Receiver<bool>,
) -> anyhow::Result<()> {
    const LOT: i64 = 500;
    let pool = depot.pool();
    let mut ecoute = suivi::ecouter(pool).await?;
    while !*arret.borrow() {
        let lot = lire_apres(pool, *position, LOT).await?;
        for e in &lot {
            let comptes = destinataires.comptes(depot, e).await?;
            if !comptes.is_empty() && diffuseur.ecoute(&comptes) {
                let message: Arc<str> = notification("evenement", evenement_pousse(e))
                    .to_string()
                    .into();
                diffuseur.pousser(&comptes, &message);
            }
            *position = e.position();
        }
        if i64::try_from(lot.len()).is_ok_and(|n| n >= LOT) {
            continue;
        }
        suivi::attendre(&mut ecoute, Duration::from_millis(100), arret).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn un_curseur_se_relit() {
        let p = PositionGlobale {
            transaction: 812,
            position: 45,
        };
        assert_eq!(lire_curseur(&curseur(p)), Some(p));
        assert_eq!(lire_curseur("0.0"), Some(PositionGlobale::DEBUT));
        for mauvais in ["", "12", "a.b", "-1.3", "1.2.3", "99999999999999999999.1"] {
            assert_eq!(lire_curseur(mauvais), None, "{mauvais}");
        }
    }

    #[tokio::test]
    async fn un_abonne_trop_lent_est_signale_sans_bloquer_les_autres() {
        let d = Arc::new(Diffuseur::default());
        let compte = Uuid::from_u64_pair(1, 1);
        let (tx_lent, _rx_lent) = mpsc::channel(1);
        let (tx_vif, mut rx_vif) = mpsc::channel(8);
        let (lent, vif) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        let _a = d.abonner(compte, tx_lent, Arc::clone(&lent));
        let b = d.abonner(compte, tx_vif, Arc::clone(&vif));
        let comptes = HashSet::from([compte]);
        let m: Arc<str> = "m".into();
        d.pousser(&comptes, &m);
        d.pousser(&comptes, &m);
        assert_eq!(d.abandons.load(Ordering::Relaxed), 1);
        tokio::time::timeout(Duration::from_secs(1), lent.notified())
            .await
            .expect("le lent est prévenu");
        assert_eq!(rx_vif.recv().await.as_deref(), Some("m"));
        assert_eq!(rx_vif.recv().await.as_deref(), Some("m"));
        drop(b);
        assert!(d.ecoute(&comptes), "le premier abonné reste");
        assert!(d.connecte(compte));
        let (tx_autre, mut rx_autre) = mpsc::channel(8);
        let _c = d.abonner(Uuid::from_u64_pair(1, 2), tx_autre, Arc::new(Notify::new()));
        d.pousser_a_tous(&"à tous".into());
        assert_eq!(rx_autre.recv().await.as_deref(), Some("à tous"));
    }
}
