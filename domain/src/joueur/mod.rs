//! **Joueur**: a character. Created with a unique name and a class, it gains XP (once per
//! source), levels up along the catalog's curve with the class's stats, and is either free or
//! engaged in one combat at a time.

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use serde::{Deserialize, Serialize};

use crate::ids::{CombatId, CompteId, JoueurId};
use crate::valeurs::{Classe, CodeQuete, Niveau, NomJoueur, Stats};
use crate::{Services, emettre, evenement_de_domaine};

/// Where XP comes from; each source pays once.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SourceXp {
    /// A won combat.
    Combat(CombatId),
    /// A completed quest.
    Quete(CodeQuete),
}

/// What can be asked of a character.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandeJoueur {
    /// Creates the character. The name's uniqueness across the game is checked by the command
    /// side (a reservation with a unique constraint) before this command is sent.
    Creer {
        /// The new character's id.
        joueur_id: JoueurId,
        /// The account it belongs to.
        compte_id: CompteId,
        /// Its name.
        nom: NomJoueur,
        /// Its class.
        classe: Classe,
    },
    /// Grants XP; a source already paid pays nothing more.
    GagnerXp {
        /// Why.
        source: SourceXp,
        /// How much (at least 1).
        xp: u32,
    },
    /// Marks the character engaged in a combat.
    EntrerEnCombat {
        /// Which combat.
        combat_id: CombatId,
    },
    /// Frees the character from a combat; nothing happens if it is not in that combat.
    SortirDuCombat {
        /// Which combat.
        combat_id: CombatId,
    },
}

/// What happened to a character.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::VariantNames,
)]
pub enum EvenementJoueur {
    /// A character was created, at level 1.
    JoueurCree {
        /// Its id.
        joueur_id: JoueurId,
        /// Its account.
        compte_id: CompteId,
        /// Its name.
        nom: NomJoueur,
        /// Its class.
        classe: Classe,
        /// Its level (1).
        niveau: Niveau,
        /// Its stats at that level.
        stats: Stats,
    },
    /// XP was earned.
    XpGagnee {
        /// Why.
        source: SourceXp,
        /// How much.
        xp: u32,
        /// The character's XP after it.
        xp_totale: u64,
    },
    /// A new level was reached (one event per level).
    NiveauAtteint {
        /// The new level.
        niveau: Niveau,
        /// The stats at that level.
        stats: Stats,
    },
    /// The character entered a combat.
    EntreEnCombat {
        /// Which combat.
        combat_id: CombatId,
    },
    /// The character left a combat.
    SortiDuCombat {
        /// Which combat.
        combat_id: CombatId,
    },
}

evenement_de_domaine!(EvenementJoueur, Joueur);

/// Why a command on a character was refused.
///
/// Each refusal has a stable code, its variant's name in SCREAMING_SNAKE_CASE
/// (`InventairePlein` → `INVENTAIRE_PLEIN`): clients match on it, so renaming a variant is a
/// protocol change.
#[derive(
    Debug, Clone, PartialEq, Eq, thiserror::Error, strum::IntoStaticStr, strum::VariantNames,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum ErreurJoueur {
    /// `Creer` on a character that exists.
    #[error("ce personnage existe déjà")]
    DejaCree,
    /// Any command but `Creer` on a character that does not exist.
    #[error("ce personnage n'existe pas")]
    JoueurInexistant,
    /// `GagnerXp` of 0.
    #[error("un gain d'XP doit valoir au moins 1")]
    XpNulle,
    /// `EntrerEnCombat` while engaged in another combat.
    #[error("le personnage est déjà engagé dans le combat {0}")]
    DejaEnCombat(CombatId),
}

/// A character's sheet, once created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FicheJoueur {
    /// Its id.
    pub joueur_id: JoueurId,
    /// Its account.
    pub compte_id: CompteId,
    /// Its name.
    pub nom: NomJoueur,
    /// Its class.
    pub classe: Classe,
    /// Its level.
    pub niveau: Niveau,
    /// Its total XP.
    pub xp: u64,
    /// Its stats.
    pub stats: Stats,
    /// The combat it is engaged in, if any.
    pub combat: Option<CombatId>,
    /// XP sources already paid.
    pub sources_xp: BTreeSet<SourceXp>,
}

/// The `Joueur` aggregate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Joueur {
    fiche: Option<FicheJoueur>,
}

impl Joueur {
    /// The sheet, if the character was created.
    pub fn fiche(&self) -> Option<&FicheJoueur> {
        self.fiche.as_ref()
    }

    fn decider(
        &self,
        commande: CommandeJoueur,
        catalogue: &Services,
    ) -> Result<Vec<EvenementJoueur>, ErreurJoueur> {
        let Some(fiche) = &self.fiche else {
            return match commande {
                CommandeJoueur::Creer {
                    joueur_id,
                    compte_id,
                    nom,
                    classe,
                } => Ok(vec![EvenementJoueur::JoueurCree {
                    joueur_id,
                    compte_id,
                    nom,
                    classe,
                    niveau: Niveau::UN,
                    stats: catalogue.stats(classe, Niveau::UN),
                }]),
                _ => Err(ErreurJoueur::JoueurInexistant),
            };
        };
        match commande {
            CommandeJoueur::Creer { .. } => Err(ErreurJoueur::DejaCree),
            CommandeJoueur::GagnerXp { source, xp } => {
                if xp == 0 {
                    return Err(ErreurJoueur::XpNulle);
                }
                if fiche.sources_xp.contains(&source) {
                    return Ok(vec![]);
                }
                let xp_totale = fiche.xp.saturating_add(u64::from(xp));
                let mut evenements = vec![EvenementJoueur::XpGagnee {
                    source,
                    xp,
                    xp_totale,
                }];
                let nouveau = catalogue.niveau_pour_xp(xp_totale);
                for n in fiche.niveau.valeur() + 1..=nouveau.valeur() {
                    let niveau = Niveau::parse(n).unwrap_or(nouveau);
                    evenements.push(EvenementJoueur::NiveauAtteint {
                        niveau,
                        stats: catalogue.stats(fiche.classe, niveau),
                    });
                }
                Ok(evenements)
            }
            CommandeJoueur::EntrerEnCombat { combat_id } => match fiche.combat {
                Some(actuel) if actuel == combat_id => Ok(vec![]),
                Some(actuel) => Err(ErreurJoueur::DejaEnCombat(actuel)),
                None => Ok(vec![EvenementJoueur::EntreEnCombat { combat_id }]),
            },
            CommandeJoueur::SortirDuCombat { combat_id } => {
                if fiche.combat == Some(combat_id) {
                    Ok(vec![EvenementJoueur::SortiDuCombat { combat_id }])
                } else {
                    Ok(vec![])
                }
            }
        }
    }
}

impl Aggregate for Joueur {
    const TYPE: &'static str = "Joueur";
    type Command = CommandeJoueur;
    type Event = EvenementJoueur;
    type Error = ErreurJoueur;
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
        if let EvenementJoueur::JoueurCree {
            joueur_id,
            compte_id,
            nom,
            classe,
            niveau,
            stats,
        } = evenement
        {
            self.fiche = Some(FicheJoueur {
                joueur_id,
                compte_id,
                nom,
                classe,
                niveau,
                xp: 0,
                stats,
                combat: None,
                sources_xp: BTreeSet::new(),
            });
            return;
        }
        let Some(fiche) = self.fiche.as_mut() else {
            return;
        };
        match evenement {
            EvenementJoueur::JoueurCree { .. } => {}
            EvenementJoueur::XpGagnee {
                source, xp_totale, ..
            } => {
                fiche.sources_xp.insert(source);
                fiche.xp = xp_totale;
            }
            EvenementJoueur::NiveauAtteint { niveau, stats } => {
                fiche.niveau = niveau;
                fiche.stats = stats;
            }
            EvenementJoueur::EntreEnCombat { combat_id } => fiche.combat = Some(combat_id),
            EvenementJoueur::SortiDuCombat { .. } => fiche.combat = None,
        }
    }
}
