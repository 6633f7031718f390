//! What can go wrong when the write side handles a request, in one enum the gateway maps to
//! its protocol errors: a rule of the game refused it, the caller may not do it, something is
//! missing, the store was contended or down.

use domain::chat::ErreurChat;
use domain::combat::ErreurCombat;
use domain::echange::ErreurEchange;
use domain::inventaire::ErreurInventaire;
use domain::joueur::ErreurJoueur;
use domain::moderation::ErreurModeration;
use domain::monde::ErreurMonde;
use domain::quete::ErreurQuete;
use domain::valeurs::{CodeZone, NomJoueur, Position};
use uuid::Uuid;

/// A refusal by an aggregate: a rule of the game, with its reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refus {
    /// By a character.
    #[error(transparent)]
    Joueur(ErreurJoueur),
    /// By a combat.
    #[error(transparent)]
    Combat(ErreurCombat),
    /// By a quest.
    #[error(transparent)]
    Quete(ErreurQuete),
    /// By an inventory.
    #[error(transparent)]
    Inventaire(ErreurInventaire),
    /// By a trade.
    #[error(transparent)]
    Echange(ErreurEchange),
    /// By the rules of moving (Service Monde, no aggregate).
    #[error(transparent)]
    Monde(ErreurMonde),
    /// By the rules of the chat (Service Chat, no aggregate).
    #[error(transparent)]
    Chat(ErreurChat),
    /// By an account's moderation record, or the rules of reports.
    #[error(transparent)]
    Moderation(ErreurModeration),
}

impl Refus {
    /// Every stable code a refusal can carry, each rule's enum in turn: what clients may
    /// receive with `error.code` −32010, and what doc/protocole.md must list (checked by the
    /// fuzz test, both ways).
    pub fn codes() -> impl Iterator<Item = &'static str> {
        use strum::VariantNames as _;
        [
            ErreurJoueur::VARIANTS,
            ErreurCombat::VARIANTS,
            ErreurQuete::VARIANTS,
            ErreurInventaire::VARIANTS,
            ErreurEchange::VARIANTS,
            ErreurMonde::VARIANTS,
            ErreurChat::VARIANTS,
            ErreurModeration::VARIANTS,
        ]
        .into_iter()
        .flatten()
        .copied()
    }

    /// The refusal's stable code (`INVENTAIRE_PLEIN`, `DEJA_AGI`...), what clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Joueur(e) => e.into(),
            Self::Combat(e) => e.into(),
            Self::Quete(e) => e.into(),
            Self::Inventaire(e) => e.into(),
            Self::Echange(e) => e.into(),
            Self::Monde(e) => e.into(),
            Self::Chat(e) => e.into(),
            Self::Moderation(e) => e.into(),
        }
    }
}

/// Why a request to the write side failed.
#[derive(Debug, thiserror::Error)]
pub enum ErreurApplication {
    /// A rule of the game refused it.
    #[error(transparent)]
    Regle(Refus),
    /// A step refused by the rules of moving, with where the character still stands: the
    /// server's position, which the client snaps back to.
    #[error("{refus}")]
    PasRefuse {
        /// Why.
        refus: ErreurMonde,
        /// The zone it stands in.
        zone: CodeZone,
        /// Where it stands.
        position: Position,
    },
    /// The character name is taken (case-insensitively).
    #[error("le nom « {0} » est déjà pris")]
    NomDejaPris(NomJoueur),
    /// The account has as many characters as allowed.
    #[error("ce compte a déjà {max} personnages, le maximum")]
    TropDePersonnages {
        /// The catalog's limit.
        max: u32,
    },
    /// The caller does not own the character it acts for.
    #[error("ce personnage n'appartient pas à ce compte")]
    Interdit,
    /// Something named in the request does not exist.
    #[error("{genre} introuvable : {id}")]
    Introuvable {
        /// What kind of thing.
        genre: &'static str,
        /// Its id.
        id: String,
    },
    /// Other writers kept winning the race for the aggregate; the request may be retried.
    #[error("trop de modifications concurrentes, réessayez")]
    Conflit,
    /// The command id was already used for another aggregate.
    #[error("l'identifiant de commande {0} a déjà servi pour une autre cible")]
    CommandeReutilisee(Uuid),
    /// The store failed (connection lost, bad data). Logged with its cause; not the caller's
    /// fault.
    #[error("erreur de stockage : {0}")]
    Stockage(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ErreurApplication {
    /// A refusal of Service Monde.
    pub fn monde(e: ErreurMonde) -> Self {
        Self::Regle(Refus::Monde(e))
    }

    /// A refusal of Service Chat.
    pub fn chat(e: ErreurChat) -> Self {
        Self::Regle(Refus::Chat(e))
    }

    pub(crate) fn stockage(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Stockage(Box::new(e))
    }

    pub(crate) fn introuvable(genre: &'static str, id: &impl ToString) -> Self {
        Self::Introuvable {
            genre,
            id: id.to_string(),
        }
    }
}

impl From<redis::RedisError> for ErreurApplication {
    fn from(e: redis::RedisError) -> Self {
        Self::stockage(e)
    }
}

impl From<sqlx::Error> for ErreurApplication {
    fn from(e: sqlx::Error) -> Self {
        Self::stockage(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn le_code_d_un_refus_est_le_nom_de_sa_variante_en_majuscules() {
        let plein = Refus::Inventaire(ErreurInventaire::InventairePlein {
            capacite: 2,
            necessaire: 3,
        });
        assert_eq!(plein.code(), "INVENTAIRE_PLEIN");
        assert_eq!(Refus::Combat(ErreurCombat::DejaAgi).code(), "DEJA_AGI");
        assert_eq!(
            Refus::Echange(ErreurEchange::AvecSoiMeme).code(),
            "AVEC_SOI_MEME"
        );
        assert_eq!(
            Refus::Monde(ErreurMonde::PasDePortail {
                vers: CodeZone::parse("crypte").expect("code")
            })
            .code(),
            "PAS_DE_PORTAIL"
        );
        assert_eq!(Refus::Chat(ErreurChat::PasMembre).code(), "PAS_MEMBRE");
    }

    #[test]
    fn la_liste_des_codes_porte_ceux_que_rendent_les_refus() {
        let codes: Vec<&str> = Refus::codes().collect();
        for refus in [
            Refus::Combat(ErreurCombat::DejaAgi),
            Refus::Echange(ErreurEchange::AvecSoiMeme),
            Refus::Chat(ErreurChat::PasMembre),
            Refus::Inventaire(ErreurInventaire::InventairePlein {
                capacite: 2,
                necessaire: 3,
            }),
        ] {
            assert!(codes.contains(&refus.code()), "{}", refus.code());
        }
        assert!(
            codes
                .iter()
                .all(|c| c.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        );
    }
}
