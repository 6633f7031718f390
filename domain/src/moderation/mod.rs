//! **Moderation**: what game masters did to an account (one per account, its id the
//! account's): bans and unbans, kicks, mutes, a stuck character moved. Every action carries a
//! mandatory [`Raison`]; the game master is the author in the events' metadata (the command's
//! account), so the stream is the account's moderation record.
//!
//! The aggregate holds the one rule that needs a state: an unban needs a ban in force. Its
//! effect (tokens refused, sockets closed) is the command side's and the gateway's: a
//! revocation written beside the event and shared by the instances (doc/exploitation.md,
//! « Modérer »). Reports (players reporting another) are rows, not events: their refusals are
//! named here all the same, with those of the aggregate.

#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use serde::{Deserialize, Serialize};

use crate::ids::JoueurId;
use crate::valeurs::{CodeZone, Position, Raison};
use crate::{Services, emettre, evenement_de_domaine};

/// What a game master can do to an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandeModeration {
    /// Bans the account until `jusqu_a` (`None`: until unbanned). A ban in force is replaced.
    Bannir {
        /// Why.
        raison: Raison,
        /// When it ends on its own.
        jusqu_a: Option<DateTime<Utc>>,
    },
    /// Lifts the ban in force at `le`.
    Retablir {
        /// Why.
        raison: Raison,
        /// When the game master decided it (a ban that ended on its own is none).
        le: DateTime<Utc>,
    },
    /// Closes the account's sockets now, without a ban.
    Expulser {
        /// Why.
        raison: Raison,
    },
    /// Records that a character of the account was muted (Service Chat enforces it).
    Museler {
        /// The character.
        joueur_id: JoueurId,
        /// Why.
        raison: Raison,
        /// For how long, in seconds.
        duree_s: u32,
    },
    /// Records that a stuck character of the account was moved (Service Monde moves it).
    Deplacer {
        /// The character.
        joueur_id: JoueurId,
        /// Where to.
        zone: CodeZone,
        /// Where in it.
        position: Position,
        /// Why.
        raison: Raison,
    },
}

/// What game masters did to an account.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, strum::IntoStaticStr, strum::VariantNames,
)]
pub enum EvenementModeration {
    /// The account is banned: its tokens are refused, its sockets closed.
    CompteBanni {
        /// Why.
        raison: Raison,
        /// When it ends on its own (`None`: until unbanned).
        jusqu_a: Option<DateTime<Utc>>,
    },
    /// The ban was lifted.
    CompteRetabli {
        /// Why.
        raison: Raison,
    },
    /// The account's sockets were closed.
    CompteExpulse {
        /// Why.
        raison: Raison,
    },
    /// A character of the account was muted.
    PersonnageMusele {
        /// The character.
        joueur_id: JoueurId,
        /// Why.
        raison: Raison,
        /// For how long, in seconds.
        duree_s: u32,
    },
    /// A character of the account was moved by a game master.
    PersonnageDeplace {
        /// The character.
        joueur_id: JoueurId,
        /// Where to.
        zone: CodeZone,
        /// Where in it.
        position: Position,
        /// Why.
        raison: Raison,
    },
}

evenement_de_domaine!(EvenementModeration, Moderation);

/// Why a moderation action or a report was refused. Each has a stable code, its variant's
/// name in SCREAMING_SNAKE_CASE.
#[derive(
    Debug, Clone, PartialEq, Eq, thiserror::Error, strum::IntoStaticStr, strum::VariantNames,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum ErreurModeration {
    /// An unban of an account with no ban in force.
    #[error("ce compte n'est pas banni")]
    PasBanni,
    /// A report of one of the reporter's own characters.
    #[error("on ne se signale pas soi-même")]
    SignalementDeSoi,
    /// A report already closed.
    #[error("ce signalement est déjà traité")]
    SignalementDejaTraite,
}

/// A ban pronounced and not lifted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
struct Ban {
    /// When it ends on its own (`None`: until unbanned).
    jusqu_a: Option<DateTime<Utc>>,
}

/// The `Moderation` aggregate: the ban in force, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Moderation {
    ban: Option<Ban>,
}

impl Moderation {
    /// Whether a ban is in force at `le`.
    pub fn banni_a(&self, le: DateTime<Utc>) -> bool {
        self.ban
            .is_some_and(|b| b.jusqu_a.is_none_or(|fin| fin > le))
    }

    fn decider(
        &self,
        commande: CommandeModeration,
    ) -> Result<EvenementModeration, ErreurModeration> {
        Ok(match commande {
            CommandeModeration::Bannir { raison, jusqu_a } => {
                EvenementModeration::CompteBanni { raison, jusqu_a }
            }
            CommandeModeration::Retablir { raison, le } => {
                if !self.banni_a(le) {
                    return Err(ErreurModeration::PasBanni);
                }
                EvenementModeration::CompteRetabli { raison }
            }
            CommandeModeration::Expulser { raison } => {
                EvenementModeration::CompteExpulse { raison }
            }
            CommandeModeration::Museler {
                joueur_id,
                raison,
                duree_s,
            } => EvenementModeration::PersonnageMusele {
                joueur_id,
                raison,
                duree_s,
            },
            CommandeModeration::Deplacer {
                joueur_id,
                zone,
                position,
                raison,
            } => EvenementModeration::PersonnageDeplace {
                joueur_id,
                zone,
                position,
                raison,
            },
        })
    }
}

impl Aggregate for Moderation {
    const TYPE: &'static str = "Moderation";
    type Command = CommandeModeration;
    type Event = EvenementModeration;
    type Error = ErreurModeration;
    type Services = Services;

    async fn handle(
        &mut self,
        commande: Self::Command,
        _catalogue: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let evenement = self.decider(commande)?;
        emettre(self, sink, vec![evenement]).await;
        Ok(())
    }

    fn apply(&mut self, evenement: Self::Event) {
        match evenement {
            EvenementModeration::CompteBanni { jusqu_a, .. } => {
                self.ban = Some(Ban { jusqu_a });
            }
            EvenementModeration::CompteRetabli { .. } => self.ban = None,
            EvenementModeration::CompteExpulse { .. }
            | EvenementModeration::PersonnageMusele { .. }
            | EvenementModeration::PersonnageDeplace { .. } => {}
        }
    }
}
