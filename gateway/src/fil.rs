//! The store's feed to the sockets: every committed event reaches the sockets of the
//! accounts it concerns, as an `evenement` notification carrying its cursor (its place in the
//! global order), from which a client that reconnects asks for what it missed
//! (`evenements.depuis`, which reads the same feed).
//!
//! Each gateway instance follows the store itself, in the global order tailing readers can
//! trust ([`magasin::lecteur::lire_apres`]), through its process's shared reader
//! ([`magasin::partage`]): every instance sees every event, so a player reaches it through
//! whichever gateway holds the socket.
//! doc/passerelle.md says why the store rather than the bus.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use commands::Depot;
use domain::combat::{Combat, EvenementCombat};
use domain::echange::{Echange, EvenementEchange};
use magasin::lecteur::{EvenementStocke, PositionGlobale, tete};
use magasin::partage::{LecteurPartage, Source};
use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

use crate::protocole::{evenement_pousse, notification};
use crate::sockets::Sockets;

/// Entries kept in the resolver's maps before they are forgotten (and reloaded on need).
const ENTREES_MAX: usize = 100_000;

/// Who an event concerns: characters, then their accounts. Combats and trades are followed
/// from their first event; one seen mid-way is loaded from the store once.
pub struct Concernes {
    pool: PgPool,
    proprietaires: HashMap<Uuid, Uuid>,
    combats: HashMap<String, Vec<Uuid>>,
    echanges: HashMap<String, Vec<Uuid>>,
}

impl Concernes {
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
        let evenement = e.decoder::<EvenementCombat>().ok();
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
        let concernes = liste.clone();
        match &evenement {
            Some(EvenementCombat::CombattantParti { joueur_id, .. }) => {
                liste.retain(|j| *j != joueur_id.uuid());
            }
            Some(EvenementCombat::CombatTermine { .. } | EvenementCombat::CombatAnnule { .. }) => {
                self.combats.remove(id);
            }
            _ => {}
        }
        Ok(concernes)
    }

    async fn echange(
        &mut self,
        depot: &Depot,
        e: &EvenementStocke,
    ) -> Result<Vec<Uuid>, commands::ErreurApplication> {
        let id = &e.aggregate_id;
        let evenement = e.decoder::<EvenementEchange>().ok();
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
            Some(
                EvenementEchange::EchangeConclu { .. }
                    | EvenementEchange::EchangeAnnule { .. }
                    | EvenementEchange::EchangeExpire { .. }
            )
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

/// Tails the store from its head and pushes each event to the sockets it concerns, until
/// `arret`: the events come from the process's shared reader, in memory while this feed keeps
/// up with it. A failure is logged and the tail resumes from the last pushed event.
pub async fn suivre(
    depot: Arc<Depot>,
    sockets: Arc<Sockets>,
    lecteur: LecteurPartage,
    mut arret: watch::Receiver<bool>,
) {
    let pool = depot.pool().clone();
    let mut position = loop {
        match tete(&pool).await {
            Ok(p) => break p,
            Err(e) => {
                tracing::warn!(erreur = %e, "fil du magasin : tête illisible, nouvel essai");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = arret.changed() => return,
                }
            }
        }
    };
    let mut concernes = Concernes::new(pool.clone());
    let mut source = lecteur.source();
    while !*arret.borrow() {
        if let Err(e) = suivre_depuis(
            &depot,
            &sockets,
            &mut source,
            &mut concernes,
            &mut position,
            &mut arret,
        )
        .await
        {
            tracing::warn!(erreur = %e, "fil du magasin interrompu, reprise");
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = arret.changed() => {}
            }
        }
    }
}

async fn suivre_depuis(
    depot: &Depot,
    sockets: &Sockets,
    source: &mut Source,
    concernes: &mut Concernes,
    position: &mut PositionGlobale,
    arret: &mut watch::Receiver<bool>,
) -> anyhow::Result<()> {
    const LOT: i64 = 500;
    let pool = depot.pool();
    while !*arret.borrow() {
        let lot = source.lire_apres(pool, *position, LOT).await?;
        for e in &lot {
            let comptes = concernes.comptes(depot, e).await?;
            if !comptes.is_empty() && sockets.ecoute(&comptes) {
                let message: Arc<str> =
                    notification("evenement", serde_json::json!(evenement_pousse(e)))
                        .to_string()
                        .into();
                sockets.pousser(&comptes, &message);
            }
            *position = e.position();
        }
        if i64::try_from(lot.len()).is_ok_and(|n| n >= LOT) {
            continue;
        }
        source
            .attendre(*position, Duration::from_millis(100), arret)
            .await?;
    }
    Ok(())
}
