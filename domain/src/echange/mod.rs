//! **Echange**: a trade between two characters, with escrow.
//!
//! The trade records each side's offer and each side's acceptance; the goods themselves sit in
//! the traders' inventories, locked there (`Inventaire::Reserver`) before an offer is recorded,
//! so an offer can never promise what its owner does not have. Any change of offer resets both
//! acceptances; the second acceptance concludes the trade, and `EchangeConclu` tells each
//! inventory what it gives and what it receives (`Inventaire::ConclureEchange`, idempotent by
//! trade). A cancelled trade releases both reservations.
//!
//! A trade has a deadline (`echeance`), set when it is proposed: past it, nobody may change
//! an offer or accept any more, and the scheduler expires it (`Expirer` → `EchangeExpire`),
//! which releases both reservations as a cancellation does. The aggregate reads no clock:
//! the commands that depend on the time carry it (`maintenant`).

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use serde::{Deserialize, Serialize};

use crate::ids::{EchangeId, JoueurId};
use crate::valeurs::{CodeItem, Horodatage, Or, Quantite};
use crate::{Services, emettre, evenement_de_domaine};

/// What one side puts on the table: gold and items, each item once. A misspelt field is
/// refused, never read as an empty offer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Offre {
    /// Gold offered.
    #[serde(default)]
    pub or: Or,
    /// Items offered.
    #[serde(default)]
    pub items: BTreeMap<CodeItem, Quantite>,
}

impl Offre {
    /// Nothing offered.
    pub fn est_vide(&self) -> bool {
        self.or.est_nul() && self.items.is_empty()
    }
}

/// What can be asked of a trade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandeEchange {
    /// Opens a trade with a first offer (already reserved in the proposer's inventory).
    Proposer {
        /// The new trade's id.
        echange_id: EchangeId,
        /// Who proposes.
        proposant: JoueurId,
        /// To whom.
        destinataire: JoueurId,
        /// What the proposer offers.
        offre: Offre,
        /// When the trade expires if nobody concludes it (the command side's setting).
        echeance: Horodatage,
    },
    /// Replaces one side's offer (already reserved); both acceptances are reset.
    Modifier {
        /// Whose offer.
        joueur_id: JoueurId,
        /// The new offer.
        offre: Offre,
        /// The time of the request: past the deadline, refused.
        maintenant: Horodatage,
    },
    /// One side accepts both offers as they stand.
    Accepter {
        /// Who accepts.
        joueur_id: JoueurId,
        /// The time of the request: past the deadline, refused.
        maintenant: Horodatage,
    },
    /// One side calls the trade off.
    Annuler {
        /// Who cancels.
        joueur_id: JoueurId,
    },
    /// The scheduler ends a trade whose deadline passed (nothing on a trade already closed).
    Expirer {
        /// The time of the decision: before the deadline, refused.
        maintenant: Horodatage,
    },
}

/// What happened to a trade.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::VariantNames,
)]
pub enum EvenementEchange {
    /// A trade was opened.
    EchangePropose {
        /// Its id.
        echange_id: EchangeId,
        /// Who proposed.
        proposant: JoueurId,
        /// To whom.
        destinataire: JoueurId,
        /// The proposer's offer.
        offre: Offre,
        /// When it expires if nobody concludes it (since 2.0; a trade proposed in 1.0 reads
        /// with the epoch: due at once, doc/agregats.md §1.6).
        echeance: Horodatage,
    },
    /// One side changed its offer; nobody has accepted any more.
    OffreModifiee {
        /// Whose offer.
        joueur_id: JoueurId,
        /// The new offer.
        offre: Offre,
    },
    /// One side accepted.
    EchangeAccepte {
        /// Who.
        joueur_id: JoueurId,
    },
    /// Both accepted: the goods move.
    EchangeConclu {
        /// The proposer.
        proposant: JoueurId,
        /// What the proposer gives.
        offre_proposant: Offre,
        /// The other side.
        destinataire: JoueurId,
        /// What the other side gives.
        offre_destinataire: Offre,
    },
    /// The trade was called off: reservations are released.
    EchangeAnnule {
        /// Who cancelled.
        par: JoueurId,
    },
    /// Nobody concluded the trade before its deadline: reservations are released.
    EchangeExpire {
        /// The deadline that passed.
        echeance: Horodatage,
    },
}

evenement_de_domaine!(EvenementEchange, Echange);

/// Why a command on a trade was refused.
///
/// Each refusal has a stable code, its variant's name in SCREAMING_SNAKE_CASE
/// (`InventairePlein` → `INVENTAIRE_PLEIN`): clients match on it, so renaming a variant is a
/// protocol change.
#[derive(
    Debug, Clone, PartialEq, Eq, thiserror::Error, strum::IntoStaticStr, strum::VariantNames,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum ErreurEchange {
    /// `Proposer` on a trade that exists.
    #[error("cet échange existe déjà")]
    DejaPropose,
    /// Any command but `Proposer` on a trade that does not exist.
    #[error("cet échange n'existe pas")]
    EchangeInexistant,
    /// Proposer and recipient are the same character.
    #[error("on ne peut pas échanger avec soi-même")]
    AvecSoiMeme,
    /// Someone else than the two traders.
    #[error("ce personnage ne participe pas à l'échange")]
    PasPartie,
    /// The trade is concluded or cancelled.
    #[error("cet échange est clos")]
    EchangeClos,
    /// Accepting twice.
    #[error("ce personnage a déjà accepté")]
    DejaAccepte,
    /// Accepting a trade where nobody offers anything.
    #[error("un échange où personne n'offre rien ne peut pas être accepté")]
    EchangeVide,
    /// Changing an offer or accepting past the trade's deadline: it can only expire (or be
    /// cancelled) now.
    #[error("cet échange a passé son échéance : il expire")]
    EchangeEchu,
    /// Expiring a trade before its deadline.
    #[error("cet échange n'a pas encore atteint son échéance")]
    PasEncoreEchu,
}

/// Where a trade stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum StatutEchange {
    /// Offers may change.
    Ouvert,
    /// The goods moved.
    Conclu,
    /// Called off.
    Annule,
    /// Nobody concluded it before its deadline.
    Expire,
}

/// One side of a trade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Partie {
    /// The trader.
    pub joueur_id: JoueurId,
    /// Its offer.
    pub offre: Offre,
    /// Has accepted the offers as they stand.
    pub accepte: bool,
}

/// The state of an opened trade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EtatEchange {
    /// Its id.
    pub echange_id: EchangeId,
    /// The proposer's side.
    pub proposant: Partie,
    /// The recipient's side.
    pub destinataire: Partie,
    /// Where it stands.
    pub statut: StatutEchange,
    /// When it expires if nobody concludes it.
    pub echeance: Horodatage,
}

impl EtatEchange {
    fn partie_mut(&mut self, joueur_id: JoueurId) -> Option<&mut Partie> {
        if self.proposant.joueur_id == joueur_id {
            Some(&mut self.proposant)
        } else if self.destinataire.joueur_id == joueur_id {
            Some(&mut self.destinataire)
        } else {
            None
        }
    }

    fn partie(&self, joueur_id: JoueurId) -> Option<&Partie> {
        [&self.proposant, &self.destinataire]
            .into_iter()
            .find(|p| p.joueur_id == joueur_id)
    }
}

/// The `Echange` aggregate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Echange {
    etat: Option<EtatEchange>,
}

impl Echange {
    /// The state, once proposed.
    pub fn etat(&self) -> Option<&EtatEchange> {
        self.etat.as_ref()
    }

    fn decider(&self, commande: CommandeEchange) -> Result<Vec<EvenementEchange>, ErreurEchange> {
        let Some(etat) = &self.etat else {
            return match commande {
                CommandeEchange::Proposer {
                    echange_id,
                    proposant,
                    destinataire,
                    offre,
                    echeance,
                } if proposant != destinataire => Ok(vec![EvenementEchange::EchangePropose {
                    echange_id,
                    proposant,
                    destinataire,
                    offre,
                    echeance,
                }]),
                CommandeEchange::Proposer { .. } => Err(ErreurEchange::AvecSoiMeme),
                _ => Err(ErreurEchange::EchangeInexistant),
            };
        };
        // Only the two traders may act, and only while the trade is open.
        let partie = |joueur_id| {
            let partie = etat.partie(joueur_id).ok_or(ErreurEchange::PasPartie)?;
            if etat.statut == StatutEchange::Ouvert {
                Ok(partie)
            } else {
                Err(ErreurEchange::EchangeClos)
            }
        };
        // Past its deadline, a trade can only be cancelled or expire.
        let avant_echeance = |maintenant: Horodatage| {
            if maintenant < etat.echeance {
                Ok(())
            } else {
                Err(ErreurEchange::EchangeEchu)
            }
        };
        match commande {
            CommandeEchange::Proposer { .. } => Err(ErreurEchange::DejaPropose),
            CommandeEchange::Modifier {
                joueur_id,
                offre,
                maintenant,
            } => {
                partie(joueur_id)?;
                avant_echeance(maintenant)?;
                Ok(vec![EvenementEchange::OffreModifiee { joueur_id, offre }])
            }
            CommandeEchange::Accepter {
                joueur_id,
                maintenant,
            } => {
                if partie(joueur_id)?.accepte {
                    return Err(ErreurEchange::DejaAccepte);
                }
                avant_echeance(maintenant)?;
                if etat.proposant.offre.est_vide() && etat.destinataire.offre.est_vide() {
                    return Err(ErreurEchange::EchangeVide);
                }
                let mut evenements = vec![EvenementEchange::EchangeAccepte { joueur_id }];
                let autre = if etat.proposant.joueur_id == joueur_id {
                    &etat.destinataire
                } else {
                    &etat.proposant
                };
                if autre.accepte {
                    evenements.push(EvenementEchange::EchangeConclu {
                        proposant: etat.proposant.joueur_id,
                        offre_proposant: etat.proposant.offre.clone(),
                        destinataire: etat.destinataire.joueur_id,
                        offre_destinataire: etat.destinataire.offre.clone(),
                    });
                }
                Ok(evenements)
            }
            CommandeEchange::Annuler { joueur_id } => {
                partie(joueur_id)?;
                Ok(vec![EvenementEchange::EchangeAnnule { par: joueur_id }])
            }
            // A trade already closed (expired by an earlier delivery, concluded, cancelled)
            // has nothing left to expire: the scheduler's redelivery changes nothing.
            CommandeEchange::Expirer { .. } if etat.statut != StatutEchange::Ouvert => Ok(vec![]),
            CommandeEchange::Expirer { maintenant } => {
                if maintenant < etat.echeance {
                    return Err(ErreurEchange::PasEncoreEchu);
                }
                Ok(vec![EvenementEchange::EchangeExpire {
                    echeance: etat.echeance,
                }])
            }
        }
    }
}

impl Aggregate for Echange {
    const TYPE: &'static str = "Echange";
    type Command = CommandeEchange;
    type Event = EvenementEchange;
    type Error = ErreurEchange;
    type Services = Services;

    async fn handle(
        &mut self,
        commande: Self::Command,
        _catalogue: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let evenements = self.decider(commande)?;
        emettre(self, sink, evenements).await;
        Ok(())
    }

    fn apply(&mut self, evenement: Self::Event) {
        if let EvenementEchange::EchangePropose {
            echange_id,
            proposant,
            destinataire,
            offre,
            echeance,
        } = evenement
        {
            self.etat = Some(EtatEchange {
                echange_id,
                proposant: Partie {
                    joueur_id: proposant,
                    offre,
                    accepte: false,
                },
                destinataire: Partie {
                    joueur_id: destinataire,
                    offre: Offre::default(),
                    accepte: false,
                },
                statut: StatutEchange::Ouvert,
                echeance,
            });
            return;
        }
        let Some(etat) = self.etat.as_mut() else {
            return;
        };
        match evenement {
            EvenementEchange::EchangePropose { .. } => {}
            EvenementEchange::OffreModifiee { joueur_id, offre } => {
                if let Some(p) = etat.partie_mut(joueur_id) {
                    p.offre = offre;
                }
                etat.proposant.accepte = false;
                etat.destinataire.accepte = false;
            }
            EvenementEchange::EchangeAccepte { joueur_id } => {
                if let Some(p) = etat.partie_mut(joueur_id) {
                    p.accepte = true;
                }
            }
            EvenementEchange::EchangeConclu { .. } => etat.statut = StatutEchange::Conclu,
            EvenementEchange::EchangeAnnule { .. } => etat.statut = StatutEchange::Annule,
            EvenementEchange::EchangeExpire { .. } => etat.statut = StatutEchange::Expire,
        }
    }
}
