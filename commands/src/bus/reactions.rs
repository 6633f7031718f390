//! The process managers: durable JetStream consumers that turn facts into commands.
//!
//! | consumer | reacts to | sends |
//! |---|---|---|
//! | `joueur_cree` | `Joueur.JoueurCree` | placed at the start (Monde), the inventory with its kit |
//! | `combat_termine` | `Combat.CombatTermine` | each participant freed, XP, loot, quest progress |
//! | `quete_terminee` | `Quete.QueteTerminee` | the quest's XP, gold and items |
//! | `niveau_atteint` | `Joueur.NiveauAtteint` | quest progress |
//! | `objet_fabrique` | `Inventaire.ObjetFabrique` | quest progress |
//! | `echeances_tours` | `Combat.TourCommence` | `TerminerTour` when the round's deadline passes |
//! | `echeances_echanges` | `Echange.EchangePropose` | `Expirer` and both sides released when the trade's deadline passes |
//!
//! Delivery is at least once: a message is acknowledged only after every command it causes
//! is in the store. Each command's id derives from the causing event's id and the step
//! ([`Metadonnees::pour_reaction`]), and the aggregates pay each natural key once (an XP
//! source, a loot, a quest fact), so a redelivered event changes nothing. A conflict or a
//! store failure leaves the message unacknowledged: JetStream delivers it again after a
//! pause. A rule refusal (the quest was not in progress, the inventory exists already) is the
//! answer, not a failure: the message is acknowledged.
//!
//! The round scheduler is a consumer like the others: a round's `TourCommence` is held
//! (negatively acknowledged with a delay) until its deadline, then ends the round if nobody
//! did. The pending message lives in JetStream, so the deadline survives any restart. A
//! trade's deadline is held the same way, on the `EchangePropose` that set it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::jetstream::consumer::{self, AckPolicy, DeliverPolicy};
use async_nats::jetstream::message::AckKind;
use chrono::Utc;
use domain::catalogue::Objectif;
use domain::combat::{Combat, EvenementCombat, Phase};
use domain::echange::{Echange, ErreurEchange, EvenementEchange, StatutEchange};
use domain::ids::{CombatId, EchangeId, JoueurId};
use domain::inventaire::{CommandeInventaire, ErreurInventaire, EvenementInventaire, Inventaire};
use domain::joueur::{CommandeJoueur, EvenementJoueur, Joueur, SourceXp};
use domain::quete::{CommandeQuete, EvenementQuete, Fait, Quete, QueteId};
use futures_util::StreamExt as _;
use magasin::Metadonnees;
use magasin::lecteur::EvenementStocke;
use tokio::sync::watch;
use uuid::Uuid;

use crate::bus::Bus;
use crate::depot::{AgregatStocke, Depot};
use crate::erreurs::{ErreurApplication, Refus};
use crate::services;
use crate::services::monde::Monde;

/// A durable consumer: its name and the `(aggregate, event type)` it receives (one subject
/// each: NATS 2.9, Debian's, filters a consumer on one subject only).
#[derive(Debug, Clone, Copy)]
pub struct Consommateur {
    /// The durable name.
    pub nom: &'static str,
    /// What it receives.
    pub evenement: (&'static str, &'static str),
}

/// Every process manager.
pub const CONSOMMATEURS: [Consommateur; 7] = [
    Consommateur {
        nom: "joueur_cree",
        evenement: ("Joueur", "JoueurCree"),
    },
    Consommateur {
        nom: "combat_termine",
        evenement: ("Combat", "CombatTermine"),
    },
    Consommateur {
        nom: "quete_terminee",
        evenement: ("Quete", "QueteTerminee"),
    },
    Consommateur {
        nom: "niveau_atteint",
        evenement: ("Joueur", "NiveauAtteint"),
    },
    Consommateur {
        nom: "objet_fabrique",
        evenement: ("Inventaire", "ObjetFabrique"),
    },
    Consommateur {
        nom: "echeances_tours",
        evenement: ("Combat", "TourCommence"),
    },
    Consommateur {
        nom: "echeances_echanges",
        evenement: ("Echange", "EchangePropose"),
    },
];

/// Messages handled at once by one consumer.
const EN_VOL: usize = 32;

/// How long JetStream waits for an acknowledgement before delivering again. Short: a message
/// handed to a consumer that has just stopped (a pull request still open on the server when
/// the process went away) comes back after this long, and a round's deadline with it; the
/// handlers take milliseconds, and a redelivery changes nothing.
const ATTENTE_ACCUSE: Duration = Duration::from_secs(5);

/// Messages a consumer may hold unacknowledged. A round's `TourCommence` stays held until its
/// deadline: JetStream's default (1,000) would stall the scheduler past 1,000 live combats.
const EN_ATTENTE_MAX: i64 = 100_000;

/// What became of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Issue {
    /// Every command it causes is in the store.
    Faite,
    /// Not yet (a round's deadline): deliver it again after this delay.
    PlusTard(Duration),
}

/// What the process managers report (for `/metrics` and tests).
#[derive(Debug, Default)]
pub struct RapportReactions {
    /// Messages acknowledged.
    pub traites: AtomicU64,
    /// Messages left for a later delivery after a failure (conflict, store down).
    pub echecs: AtomicU64,
    /// Rounds ended by their deadline.
    pub tours_echus: AtomicU64,
    /// Trades expired at their deadline.
    pub echanges_echus: AtomicU64,
}

/// The process managers, over the store and the bus.
#[derive(Clone)]
pub struct Reactions {
    depot: Arc<Depot>,
    monde: Monde,
    bus: Bus,
    etat: Arc<RapportReactions>,
}

impl Reactions {
    /// The process managers.
    pub fn new(depot: Arc<Depot>, monde: Monde, bus: Bus) -> Self {
        Self {
            depot,
            monde,
            bus,
            etat: Arc::default(),
        }
    }

    /// What they report.
    pub fn rapport(&self) -> Arc<RapportReactions> {
        Arc::clone(&self.etat)
    }

    /// Runs every consumer until `arret` turns true; each one that fails (NATS down) starts
    /// over after a pause, from where JetStream kept its acknowledgements.
    pub async fn executer(self, arret: watch::Receiver<bool>) {
        let taches: Vec<_> = CONSOMMATEURS
            .into_iter()
            .map(|c| tokio::spawn(self.clone().consommer(c, arret.clone())))
            .collect();
        for t in taches {
            let _ = t.await;
        }
    }

    async fn consommer(self, c: Consommateur, mut arret: watch::Receiver<bool>) {
        while !*arret.borrow() {
            let resultat = tokio::select! {
                r = self.consommer_jusqu_a_erreur(c) => r,
                _ = arret.changed() => Ok(()),
            };
            if let Err(e) = resultat {
                tracing::warn!(consommateur = c.nom, erreur = %e, "consommateur interrompu, reprise");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(500)) => {}
                    _ = arret.changed() => {}
                }
            }
        }
    }

    async fn consommer_jusqu_a_erreur(&self, c: Consommateur) -> Result<(), async_nats::Error> {
        let flux = self.bus.flux().await?;
        let config = consumer::pull::Config {
            durable_name: Some(c.nom.to_owned()),
            ack_policy: AckPolicy::Explicit,
            ack_wait: ATTENTE_ACCUSE,
            deliver_policy: DeliverPolicy::All,
            max_deliver: -1,
            max_ack_pending: EN_ATTENTE_MAX,
            filter_subject: self.bus.sujet_evenement(c.evenement.0, c.evenement.1),
            ..Default::default()
        };
        let consommateur = flux.get_or_create_consumer(c.nom, config).await?;
        let messages = consommateur.messages().await?;
        let mut erreur = None;
        messages
            .take_while(|m| {
                let continuer = m.is_ok();
                if let Err(e) = m {
                    erreur = Some(e.to_string());
                }
                std::future::ready(continuer)
            })
            .filter_map(|m| std::future::ready(m.ok()))
            .for_each_concurrent(EN_VOL, |m| self.traiter(c, m))
            .await;
        Err(erreur
            .unwrap_or_else(|| "flux de messages terminé".to_owned())
            .into())
    }

    async fn traiter(&self, c: Consommateur, message: async_nats::jetstream::Message) {
        let evenement: EvenementStocke = match serde_json::from_slice(&message.payload) {
            Ok(e) => e,
            Err(e) => {
                // Nothing the relay publishes reads like this: a foreign message. Redelivering
                // it would never help.
                tracing::error!(consommateur = c.nom, sujet = %message.subject, erreur = %e, "message illisible, abandonné");
                let _ = message.ack_with(AckKind::Term).await;
                return;
            }
        };
        let accuse = match self.reagir(&evenement).await {
            Ok(Issue::Faite) => {
                self.etat.traites.fetch_add(1, Ordering::Relaxed);
                AckKind::Ack
            }
            Ok(Issue::PlusTard(delai)) => AckKind::Nak(Some(delai)),
            Err(e) => {
                self.etat.echecs.fetch_add(1, Ordering::Relaxed);
                let essais = message.info().map_or(1, |i| i.delivered.max(1));
                tracing::warn!(consommateur = c.nom, evenement = %evenement.event_id, essais, erreur = %e, "réaction en échec, nouvel essai plus tard");
                AckKind::Nak(Some(pause_apres(essais)))
            }
        };
        if let Err(e) = message.ack_with(accuse).await {
            // The message comes back after the ack wait; its commands are idempotent.
            tracing::warn!(consommateur = c.nom, erreur = %e, "accusé de réception perdu");
        }
    }

    /// Reacts to one event: every command it causes, each applied once however often the
    /// event is delivered. Events no process manager waits for change nothing.
    #[tracing::instrument(level = "debug", skip_all, fields(agregat = %e.aggregate_type, evenement = %e.event_type, position = e.global_position))]
    pub async fn reagir(&self, e: &EvenementStocke) -> Result<Issue, ErreurApplication> {
        match e.aggregate_type.as_str() {
            "Joueur" => match lire::<EvenementJoueur>(e)? {
                EvenementJoueur::JoueurCree { joueur_id, .. } => {
                    self.joueur_cree(e, joueur_id).await?;
                }
                EvenementJoueur::NiveauAtteint { niveau, .. } => {
                    let joueur_id = id_joueur(&e.aggregate_id)?;
                    self.progresser(e, joueur_id, &Fait::NiveauAtteint { niveau })
                        .await?;
                }
                _ => {}
            },
            "Inventaire" => {
                if let EvenementInventaire::ObjetFabrique {
                    fabrication_id,
                    item,
                    quantite,
                    ..
                } = lire::<EvenementInventaire>(e)?
                {
                    let joueur_id = id_joueur(&e.aggregate_id)?;
                    let fait = Fait::ObjetFabrique {
                        fabrication_id,
                        item,
                        quantite,
                    };
                    self.progresser(e, joueur_id, &fait).await?;
                }
            }
            "Quete" => {
                if let termine @ EvenementQuete::QueteTerminee { .. } = lire::<EvenementQuete>(e)? {
                    self.quete_terminee(e, termine).await?;
                }
            }
            "Combat" => match lire::<EvenementCombat>(e)? {
                termine @ EvenementCombat::CombatTermine { .. } => {
                    self.combat_termine(e, termine).await?;
                }
                EvenementCombat::TourCommence { tour, echeance } => {
                    return self.echeance(e, tour, echeance).await;
                }
                _ => {}
            },
            "Echange" => {
                if let EvenementEchange::EchangePropose { echange_id, .. } =
                    lire::<EvenementEchange>(e)?
                {
                    return self.echeance_echange(e, echange_id).await;
                }
            }
            _ => {}
        }
        Ok(Issue::Faite)
    }

    /// A combat ended: every participant freed and its quests told; on a victory, each one's
    /// XP and loot.
    async fn combat_termine(
        &self,
        e: &EvenementStocke,
        termine: EvenementCombat,
    ) -> Result<(), ErreurApplication> {
        let EvenementCombat::CombatTermine {
            issue,
            participants,
            monstres_vaincus,
            recompenses,
            ..
        } = termine
        else {
            return Ok(());
        };
        let combat_id = id_combat(&e.aggregate_id)?;
        for p in &participants {
            let j = p.joueur_id.to_string();
            let sortir = CommandeJoueur::SortirDuCombat { combat_id };
            self.appliquer::<Joueur>(e, &format!("liberer:{j}"), &j, sortir)
                .await?;
            let fait = Fait::CombatTermine {
                combat_id,
                victoire: issue == domain::combat::Issue::Victoire,
                classe: p.classe,
                monstres_vaincus: monstres_vaincus.clone(),
            };
            self.progresser(e, p.joueur_id, &fait).await?;
        }
        for r in recompenses {
            let j = r.joueur_id.to_string();
            if r.xp > 0 {
                let xp = CommandeJoueur::GagnerXp {
                    source: SourceXp::Combat(combat_id),
                    xp: r.xp,
                };
                self.appliquer::<Joueur>(e, &format!("xp:{j}"), &j, xp)
                    .await?;
            }
            let butin = CommandeInventaire::RecevoirButin {
                combat_id,
                or: r.or,
                items: r.items,
            };
            self.appliquer::<Inventaire>(e, &format!("butin:{j}"), &j, butin)
                .await?;
        }
        Ok(())
    }

    /// A quest completed: its XP, gold and items.
    async fn quete_terminee(
        &self,
        e: &EvenementStocke,
        termine: EvenementQuete,
    ) -> Result<(), ErreurApplication> {
        let EvenementQuete::QueteTerminee {
            joueur_id,
            quete,
            recompense,
        } = termine
        else {
            return Ok(());
        };
        let j = joueur_id.to_string();
        if recompense.xp > 0 {
            let xp = CommandeJoueur::GagnerXp {
                source: SourceXp::Quete(quete.clone()),
                xp: recompense.xp,
            };
            self.appliquer::<Joueur>(e, "xp", &j, xp).await?;
        }
        let recevoir = CommandeInventaire::RecevoirRecompense {
            quete,
            or: recompense.or,
            items: recompense.items,
        };
        self.appliquer::<Inventaire>(e, "recompense", &j, recevoir)
            .await
    }

    /// A new character: placed at the start of the start zone (idempotent: a character that
    /// already stands somewhere stays there), and its inventory with the starting kit.
    /// Service Joueur opens the inventory at once; this makes it certain even if the process
    /// died between the two writes.
    async fn joueur_cree(
        &self,
        e: &EvenementStocke,
        joueur_id: JoueurId,
    ) -> Result<(), ErreurApplication> {
        self.monde.placer_au_depart(joueur_id).await?;
        let ouvrir = CommandeInventaire::Ouvrir { joueur_id };
        self.appliquer::<Inventaire>(e, "inventaire", &joueur_id.to_string(), ouvrir)
            .await
    }

    /// Counts a fact toward every quest of the character it could advance.
    async fn progresser(
        &self,
        e: &EvenementStocke,
        joueur_id: JoueurId,
        fait: &Fait,
    ) -> Result<(), ErreurApplication> {
        let concernees: Vec<_> = self
            .depot
            .catalogue()
            .quetes()
            .iter()
            .filter(|(_, q)| peut_avancer(&q.objectif, fait))
            .map(|(code, _)| code.clone())
            .collect();
        for quete in concernees {
            let id = QueteId { joueur_id, quete };
            let progresser = CommandeQuete::Progresser { fait: fait.clone() };
            self.appliquer::<Quete>(e, &format!("quete:{id}"), &id.to_string(), progresser)
                .await?;
        }
        Ok(())
    }

    /// A round's deadline: held until it passes, then the round ends if it is still the
    /// current one.
    async fn echeance(
        &self,
        e: &EvenementStocke,
        tour: u32,
        echeance: chrono::DateTime<Utc>,
    ) -> Result<Issue, ErreurApplication> {
        let combat_id = id_combat(&e.aggregate_id)?;
        let courant = self
            .depot
            .charger::<Combat>(&e.aggregate_id)
            .await?
            .and_then(|c| c.etat().map(|etat| etat.phase));
        if !matches!(courant, Some(Phase::EnCours { tour: t, .. }) if t == tour) {
            return Ok(Issue::Faite);
        }
        if let Ok(reste) = (echeance - Utc::now()).to_std()
            && !reste.is_zero()
        {
            return Ok(Issue::PlusTard(reste));
        }
        let meta = meta(e, "terminer_tour");
        match services::combat::terminer_tour(&self.depot, combat_id, tour, &meta).await {
            Ok(evenements) => {
                if !evenements.is_empty() {
                    self.etat.tours_echus.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Issue::Faite)
            }
            Err(ErreurApplication::Regle(refus)) => {
                tracing::debug!(%combat_id, tour, %refus, "échéance sans effet");
                Ok(Issue::Faite)
            }
            Err(autre) => Err(autre),
        }
    }

    /// A trade's deadline: held until it passes, then the trade expires if it is still open,
    /// and both sides are released. A trade that closed without a settlement (cancelled, or
    /// expired by an earlier delivery) is released again, which completes a release a crash
    /// interrupted and changes nothing otherwise; a concluded one is left to its settlement.
    async fn echeance_echange(
        &self,
        e: &EvenementStocke,
        echange_id: EchangeId,
    ) -> Result<Issue, ErreurApplication> {
        let Some(etat) = self
            .depot
            .charger::<Echange>(&e.aggregate_id)
            .await?
            .and_then(|x| x.etat().cloned())
        else {
            return Ok(Issue::Faite);
        };
        match etat.statut {
            StatutEchange::Conclu => return Ok(Issue::Faite),
            StatutEchange::Ouvert => {
                if let Ok(reste) = (etat.echeance - Utc::now()).to_std()
                    && !reste.is_zero()
                {
                    return Ok(Issue::PlusTard(reste));
                }
            }
            StatutEchange::Annule | StatutEchange::Expire => {}
        }
        let meta = meta(e, "expirer");
        match services::economie::expirer(&self.depot, echange_id, &meta).await {
            Ok(evenements) => {
                if !evenements.is_empty() {
                    self.etat.echanges_echus.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Issue::Faite)
            }
            // Decided on a clock a little behind this one's: not yet, then.
            Err(ErreurApplication::Regle(Refus::Echange(ErreurEchange::PasEncoreEchu))) => {
                Ok(Issue::PlusTard(Duration::from_millis(100)))
            }
            Err(ErreurApplication::Regle(refus)) => {
                tracing::debug!(%echange_id, %refus, "échéance d'échange sans effet");
                Ok(Issue::Faite)
            }
            Err(autre) => Err(autre),
        }
    }

    /// Sends one command caused by `e`. A refusal by a rule is the answer (logged), but an
    /// inventory that does not exist yet: its opening is on its way, so the event is retried.
    async fn appliquer<A: AgregatStocke>(
        &self,
        e: &EvenementStocke,
        etape: &str,
        id: &str,
        commande: A::Command,
    ) -> Result<(), ErreurApplication> {
        let meta = meta(e, etape);
        match self.depot.executer::<A>(id, commande, &meta).await {
            Ok(_) => Ok(()),
            Err(ErreurApplication::Regle(Refus::Inventaire(
                ErreurInventaire::InventaireInexistant,
            ))) => Err(ErreurApplication::Conflit),
            Err(ErreurApplication::Regle(refus)) => {
                tracing::debug!(evenement = %e.event_id, etape, %refus, "réaction refusée par une règle");
                Ok(())
            }
            Err(autre) => Err(autre),
        }
    }
}

/// Whether a fact can count toward an objective at all (the quest itself decides how much).
fn peut_avancer(objectif: &Objectif, fait: &Fait) -> bool {
    match (objectif, fait) {
        (
            Objectif::Vaincre { monstre, .. },
            Fait::CombatTermine {
                victoire: true,
                monstres_vaincus,
                ..
            },
        ) => monstres_vaincus.contains(monstre),
        (
            Objectif::GagnerCombat { classe, .. },
            Fait::CombatTermine {
                victoire: true,
                classe: jouee,
                ..
            },
        ) => classe == jouee,
        (Objectif::Fabriquer { item, .. }, Fait::ObjetFabrique { item: fait, .. }) => item == fait,
        (Objectif::AtteindreNiveau { .. }, Fait::NiveauAtteint { .. }) => true,
        _ => false,
    }
}

/// The pause before a failed message comes back: growing with its deliveries, at most 30 s.
fn pause_apres(essais: i64) -> Duration {
    let exposant = u32::try_from(essais.clamp(1, 9) - 1).unwrap_or(0);
    Duration::from_millis(100 * 2u64.pow(exposant)).min(Duration::from_secs(30))
}

/// The metadata of a command caused by `e`: its id derives from the event's and the step, the
/// chain's correlation goes on.
fn meta(e: &EvenementStocke, etape: &str) -> Metadonnees {
    Metadonnees::pour_reaction(
        e.event_id,
        etape,
        e.correlation_id.unwrap_or(e.event_id),
        Utc::now(),
    )
}

/// The typed event, upcast: a message published before a deploy carries the shape of its day.
fn lire<E>(e: &EvenementStocke) -> Result<E, ErreurApplication>
where
    E: serde::de::DeserializeOwned + cqrs_es::DomainEvent,
{
    e.decoder().map_err(ErreurApplication::stockage)
}

fn id_joueur(texte: &str) -> Result<JoueurId, ErreurApplication> {
    Uuid::parse_str(texte)
        .map(JoueurId::from_uuid)
        .map_err(ErreurApplication::stockage)
}

fn id_combat(texte: &str) -> Result<CombatId, ErreurApplication> {
    Uuid::parse_str(texte)
        .map(CombatId::from_uuid)
        .map_err(ErreurApplication::stockage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn la_pause_croit_avec_les_essais_et_reste_bornee() {
        assert_eq!(pause_apres(1), Duration::from_millis(100));
        assert_eq!(pause_apres(2), Duration::from_millis(200));
        assert_eq!(pause_apres(1_000), Duration::from_millis(25_600));
        assert!(pause_apres(i64::MAX) <= Duration::from_secs(30));
    }
}
