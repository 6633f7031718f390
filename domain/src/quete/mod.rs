//! **Quete**: one quest of one character (aggregate id: the character and the quest code).
//!
//! Accepted when its level and prerequisites are met, it progresses from facts that happened
//! elsewhere (a combat ended, an item was crafted, a level was reached), each fact counted once
//! however often it is delivered; it completes when its objective is met, and the completion
//! carries the rewards for the process manager to pay. It can be abandoned, and accepted again
//! from zero.

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::fmt;

use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use serde::{Deserialize, Serialize};

use crate::catalogue::{Objectif, RecompenseQuete};
use crate::ids::{CombatId, FabricationId, JoueurId};
use crate::valeurs::{Classe, CodeItem, CodeMonstre, CodeQuete, Niveau, Quantite};
use crate::{Services, emettre, evenement_de_domaine};

/// The id of a `Quete` aggregate: one quest of one character.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct QueteId {
    /// The character.
    pub joueur_id: JoueurId,
    /// The quest.
    pub quete: CodeQuete,
}

impl fmt::Display for QueteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.joueur_id, self.quete)
    }
}

/// Something that happened elsewhere and may advance a quest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Fait {
    /// A combat the character fought ended (only a victory counts toward a quest).
    CombatTermine {
        /// Which combat.
        combat_id: CombatId,
        /// Won or lost.
        victoire: bool,
        /// The role the character fought in.
        classe: Classe,
        /// Monsters defeated in it.
        monstres_vaincus: Vec<CodeMonstre>,
    },
    /// The character crafted an item.
    ObjetFabrique {
        /// Which crafting operation.
        fabrication_id: FabricationId,
        /// What it made.
        item: CodeItem,
        /// How many.
        quantite: Quantite,
    },
    /// The character reached a level.
    NiveauAtteint {
        /// Which one.
        niveau: Niveau,
    },
}

/// The identity of a fact: the same key never counts twice.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CleFait {
    /// A combat.
    Combat(CombatId),
    /// A crafting operation.
    Fabrication(FabricationId),
    /// A level.
    Niveau(Niveau),
}

impl Fait {
    /// The fact's identity.
    pub fn cle(&self) -> CleFait {
        match self {
            Self::CombatTermine { combat_id, .. } => CleFait::Combat(*combat_id),
            Self::ObjetFabrique { fabrication_id, .. } => CleFait::Fabrication(*fabrication_id),
            Self::NiveauAtteint { niveau } => CleFait::Niveau(*niveau),
        }
    }

    /// The progress this fact makes toward an objective, from a current progress.
    fn progression(&self, objectif: &Objectif, actuelle: u32) -> u32 {
        let ajout = match (objectif, self) {
            (
                Objectif::Vaincre { monstre, .. },
                Self::CombatTermine {
                    victoire: true,
                    monstres_vaincus,
                    ..
                },
            ) => monstres_vaincus.iter().filter(|m| *m == monstre).count() as u32,
            (
                Objectif::GagnerCombat { classe, .. },
                Self::CombatTermine {
                    victoire: true,
                    classe: jouee,
                    ..
                },
            ) if classe == jouee => 1,
            (
                Objectif::Fabriquer { item, .. },
                Self::ObjetFabrique {
                    item: fait,
                    quantite,
                    ..
                },
            ) if item == fait => quantite.valeur(),
            (Objectif::AtteindreNiveau { .. }, Self::NiveauAtteint { niveau }) => {
                return actuelle.max(niveau.valeur()).min(objectif.requis());
            }
            _ => 0,
        };
        actuelle.saturating_add(ajout).min(objectif.requis())
    }
}

/// What can be asked of a quest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandeQuete {
    /// Accepts the quest. The command side reads the character's level and completed quests.
    Accepter {
        /// Who.
        joueur_id: JoueurId,
        /// Which quest.
        quete: CodeQuete,
        /// The character's level now.
        niveau_joueur: Niveau,
        /// The quests the character has completed.
        quetes_terminees: BTreeSet<CodeQuete>,
    },
    /// Counts a fact toward the objective (once per fact).
    Progresser {
        /// What happened.
        fait: Fait,
    },
    /// Gives the quest up.
    Abandonner,
}

/// What happened to a quest.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::VariantNames,
)]
pub enum EvenementQuete {
    /// The quest was accepted; its objective is copied from the catalog, with the progress
    /// it needs (version 2.0; 1.0 had no `requis`, `versions::UPCASTERS` derives it).
    QueteAcceptee {
        /// Who.
        joueur_id: JoueurId,
        /// Which quest.
        quete: CodeQuete,
        /// What it asks.
        objectif: Objectif,
        /// Progress needed (`objectif.requis()`), as `QueteProgressee` carries it.
        requis: u32,
    },
    /// The quest advanced.
    QueteProgressee {
        /// The fact that advanced it.
        source: CleFait,
        /// Progress after it.
        progression: u32,
        /// Progress needed.
        requis: u32,
    },
    /// The objective is met; the process manager pays the rewards.
    QueteTerminee {
        /// Who.
        joueur_id: JoueurId,
        /// Which quest.
        quete: CodeQuete,
        /// What it gives.
        recompense: RecompenseQuete,
    },
    /// The quest was given up.
    QueteAbandonnee {
        /// Who.
        joueur_id: JoueurId,
        /// Which quest.
        quete: CodeQuete,
    },
}

evenement_de_domaine!(EvenementQuete, Quete);

/// Why a command on a quest was refused.
///
/// Each refusal has a stable code, its variant's name in SCREAMING_SNAKE_CASE
/// (`InventairePlein` → `INVENTAIRE_PLEIN`): clients match on it, so renaming a variant is a
/// protocol change.
#[derive(
    Debug, Clone, PartialEq, Eq, thiserror::Error, strum::IntoStaticStr, strum::VariantNames,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum ErreurQuete {
    /// The quest is not in the catalog.
    #[error("quête inconnue « {0} »")]
    QueteInconnue(CodeQuete),
    /// The character's level is too low.
    #[error("niveau {requis} requis (niveau actuel : {actuel})")]
    NiveauInsuffisant {
        /// The quest's minimum level.
        requis: Niveau,
        /// The character's level.
        actuel: Niveau,
    },
    /// A prerequisite quest is not completed.
    #[error("il faut d'abord terminer la quête « {0} »")]
    PrerequisManquant(CodeQuete),
    /// `Accepter` a quest in progress.
    #[error("cette quête est déjà en cours")]
    DejaEnCours,
    /// `Accepter` a completed quest.
    #[error("cette quête est déjà terminée")]
    DejaTerminee,
    /// `Progresser` or `Abandonner` a quest that is not in progress.
    #[error("cette quête n'est pas en cours")]
    PasEnCours,
}

/// Where a quest stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Statut {
    /// Being worked on.
    EnCours,
    /// Done.
    Terminee,
    /// Given up (may be accepted again).
    Abandonnee,
}

/// The state of an accepted quest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EtatQuete {
    /// Who.
    pub joueur_id: JoueurId,
    /// Which quest.
    pub quete: CodeQuete,
    /// What it asks.
    pub objectif: Objectif,
    /// Progress so far.
    pub progression: u32,
    /// Where it stands.
    pub statut: Statut,
    /// Facts already counted.
    pub sources: BTreeSet<CleFait>,
}

/// The `Quete` aggregate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Quete {
    etat: Option<EtatQuete>,
}

impl Quete {
    /// The state, once accepted.
    pub fn etat(&self) -> Option<&EtatQuete> {
        self.etat.as_ref()
    }

    fn decider(
        &self,
        commande: CommandeQuete,
        catalogue: &Services,
    ) -> Result<Vec<EvenementQuete>, ErreurQuete> {
        match commande {
            CommandeQuete::Accepter {
                joueur_id,
                quete,
                niveau_joueur,
                quetes_terminees,
            } => {
                match self.etat.as_ref().map(|e| e.statut) {
                    Some(Statut::EnCours) => return Err(ErreurQuete::DejaEnCours),
                    Some(Statut::Terminee) => return Err(ErreurQuete::DejaTerminee),
                    Some(Statut::Abandonnee) | None => {}
                }
                let def = catalogue
                    .quete(&quete)
                    .ok_or_else(|| ErreurQuete::QueteInconnue(quete.clone()))?;
                if niveau_joueur < def.niveau_min {
                    return Err(ErreurQuete::NiveauInsuffisant {
                        requis: def.niveau_min,
                        actuel: niveau_joueur,
                    });
                }
                if let Some(manquant) = def.prerequis.iter().find(|p| !quetes_terminees.contains(p))
                {
                    return Err(ErreurQuete::PrerequisManquant(manquant.clone()));
                }
                let mut evenements = vec![EvenementQuete::QueteAcceptee {
                    joueur_id,
                    quete: quete.clone(),
                    objectif: def.objectif.clone(),
                    requis: def.objectif.requis(),
                }];
                // A level objective may already be met, or partly: the level counts at once.
                if matches!(def.objectif, Objectif::AtteindreNiveau { .. }) {
                    let fait = Fait::NiveauAtteint {
                        niveau: niveau_joueur,
                    };
                    evenements.extend(progresser(&def.objectif, 0, &fait, || {
                        (joueur_id, quete, def.recompense.clone())
                    }));
                }
                Ok(evenements)
            }
            CommandeQuete::Progresser { fait } => {
                let etat = self.en_cours()?;
                if etat.sources.contains(&fait.cle()) {
                    return Ok(vec![]);
                }
                let recompense = || {
                    let recompense = catalogue
                        .quete(&etat.quete)
                        .map(|d| d.recompense.clone())
                        .unwrap_or_default();
                    (etat.joueur_id, etat.quete.clone(), recompense)
                };
                Ok(progresser(
                    &etat.objectif,
                    etat.progression,
                    &fait,
                    recompense,
                ))
            }
            CommandeQuete::Abandonner => {
                let etat = self.en_cours()?;
                Ok(vec![EvenementQuete::QueteAbandonnee {
                    joueur_id: etat.joueur_id,
                    quete: etat.quete.clone(),
                }])
            }
        }
    }

    fn en_cours(&self) -> Result<&EtatQuete, ErreurQuete> {
        self.etat
            .as_ref()
            .filter(|e| e.statut == Statut::EnCours)
            .ok_or(ErreurQuete::PasEnCours)
    }
}

/// The events a fact causes: nothing if it does not advance the objective, a progress, and
/// the completion with its rewards when the objective is met.
fn progresser(
    objectif: &Objectif,
    actuelle: u32,
    fait: &Fait,
    terminee: impl FnOnce() -> (JoueurId, CodeQuete, RecompenseQuete),
) -> Vec<EvenementQuete> {
    let progression = fait.progression(objectif, actuelle);
    if progression == actuelle {
        return vec![];
    }
    let requis = objectif.requis();
    let mut evenements = vec![EvenementQuete::QueteProgressee {
        source: fait.cle(),
        progression,
        requis,
    }];
    if progression >= requis {
        let (joueur_id, quete, recompense) = terminee();
        evenements.push(EvenementQuete::QueteTerminee {
            joueur_id,
            quete,
            recompense,
        });
    }
    evenements
}

impl Aggregate for Quete {
    const TYPE: &'static str = "Quete";
    type Command = CommandeQuete;
    type Event = EvenementQuete;
    type Error = ErreurQuete;
    type Services = Services;

    async fn handle(
        &mut self,
        commande: Self::Command,
        catalogue: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let evenements = self.decider(commande, catalogue)?;
        emettre(self, sink, evenements).await;
        Ok(())
    }

    fn apply(&mut self, evenement: Self::Event) {
        match evenement {
            EvenementQuete::QueteAcceptee {
                joueur_id,
                quete,
                objectif,
                ..
            } => {
                // Facts counted before an abandon stay counted: they cannot be replayed into
                // the new attempt.
                let sources = self.etat.take().map(|e| e.sources).unwrap_or_default();
                self.etat = Some(EtatQuete {
                    joueur_id,
                    quete,
                    objectif,
                    progression: 0,
                    statut: Statut::EnCours,
                    sources,
                });
            }
            EvenementQuete::QueteProgressee {
                source,
                progression,
                ..
            } => {
                if let Some(e) = self.etat.as_mut() {
                    e.sources.insert(source);
                    e.progression = progression;
                }
            }
            EvenementQuete::QueteTerminee { .. } => {
                if let Some(e) = self.etat.as_mut() {
                    e.statut = Statut::Terminee;
                }
            }
            EvenementQuete::QueteAbandonnee { .. } => {
                if let Some(e) = self.etat.as_mut() {
                    e.statut = Statut::Abandonnee;
                }
            }
        }
    }
}
