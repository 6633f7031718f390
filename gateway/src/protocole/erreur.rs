//! The errors of the JSON-RPC protocol: the standard codes, plus application codes in the
//! server range, each with a stable `data.code` that clients match on (doc/protocole.md lists
//! them all). Internal failures are logged with their cause and shown as an incident id only.

use std::time::Duration;

use commands::{ErreurApplication, Refus};
use domain::chat::ErreurChat;
use projections::ErreurProjection;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::indisponibilite::{REESSAYER_DANS, moteur_indisponible};

/// The numeric codes (`error.code`).
pub mod codes {
    /// The body is not JSON.
    pub const ANALYSE: i64 = -32700;
    /// Not a JSON-RPC 2.0 request (or too big, or too many in a batch).
    pub const REQUETE_INVALIDE: i64 = -32600;
    /// No such method.
    pub const METHODE_INCONNUE: i64 = -32601;
    /// The params do not fit the method.
    pub const PARAMETRES: i64 = -32602;
    /// A failure of the server (logged with an incident id).
    pub const INTERNE: i64 = -32603;
    /// No valid access token.
    pub const NON_AUTHENTIFIE: i64 = -32001;
    /// Authenticated, but not allowed (another account's character, an admin method).
    pub const INTERDIT: i64 = -32003;
    /// What the params name does not exist.
    pub const INTROUVABLE: i64 = -32004;
    /// The read models a read asked to be fresh (`a_jour_de`) had not caught up in time:
    /// retry the read.
    pub const LECTURE_EN_RETARD: i64 = -32008;
    /// Concurrent changes kept winning: retry with the same `id_commande`.
    pub const CONFLIT: i64 = -32009;
    /// A rule of the game refused the command; `data.code` says which.
    pub const REFUS: i64 = -32010;
    /// PostgreSQL or Redis is away (restarting, failing over): retry, with the same
    /// `id_commande` for a command, after `data.reessayer_dans_ms`.
    pub const INDISPONIBLE: i64 = -32011;
    /// Too many calls: wait `data.reessayer_dans_ms`.
    pub const TROP_DE_REQUETES: i64 = -32029;
}

/// Every (`error.code`, `data.code`) the protocol answers with, the game's refusals aside
/// ([`codes_de_refus`]): the list doc/protocole.md §5.1 must hold, checked both ways by the
/// fuzz test, which also refuses any answer outside it.
pub const CODES_DU_PROTOCOLE: [(i64, &str); 19] = [
    (codes::ANALYSE, "JSON_INVALIDE"),
    (codes::REQUETE_INVALIDE, "REQUETE_INVALIDE"),
    (codes::REQUETE_INVALIDE, "MESSAGE_TROP_GRAND"),
    (codes::REQUETE_INVALIDE, "LOT_TROP_GRAND"),
    (codes::METHODE_INCONNUE, "METHODE_INCONNUE"),
    (codes::PARAMETRES, "PARAMETRES_INVALIDES"),
    (codes::PARAMETRES, "COMMANDE_REUTILISEE"),
    (codes::PARAMETRES, "CURSEUR_INVALIDE"),
    (codes::INTERNE, "ERREUR_INTERNE"),
    (codes::NON_AUTHENTIFIE, "NON_AUTHENTIFIE"),
    (codes::NON_AUTHENTIFIE, "JETON_INVALIDE"),
    (codes::NON_AUTHENTIFIE, "JETON_EXPIRE"),
    (codes::INTERDIT, "INTERDIT"),
    (codes::INTERDIT, "COMPTE_BANNI"),
    (codes::INTROUVABLE, "INTROUVABLE"),
    (codes::LECTURE_EN_RETARD, "LECTURE_EN_RETARD"),
    (codes::CONFLIT, "CONFLIT"),
    (codes::INDISPONIBLE, "INDISPONIBLE"),
    (codes::TROP_DE_REQUETES, "TROP_DE_REQUETES"),
];

/// Every `data.code` of a refusal (`error.code` [`codes::REFUS`]): the two the write side
/// decides outside an aggregate, then every rule's ([`commands::Refus::codes`]).
pub fn codes_de_refus() -> impl Iterator<Item = &'static str> {
    ["NOM_DEJA_PRIS", "TROP_DE_PERSONNAGES"]
        .into_iter()
        // A history cursor that is no message id is a bad parameter (-32602), not a refusal.
        .chain(Refus::codes().filter(|&c| c != "CURSEUR_INVALIDE"))
}

/// One JSON-RPC error object.
#[derive(Debug, Clone, PartialEq)]
pub struct ErreurRpc {
    /// `error.code`.
    pub code: i64,
    /// `error.message`, for people.
    pub message: String,
    /// `error.data`: always an object with a stable `code`.
    pub data: Value,
}

impl ErreurRpc {
    fn new(code: i64, code_stable: &str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: json!({ "code": code_stable }),
        }
    }

    fn avec(mut self, cle: &str, valeur: Value) -> Self {
        if let Value::Object(m) = &mut self.data {
            m.insert(cle.to_owned(), valeur);
        }
        self
    }

    /// The stable code (`data.code`).
    pub fn code_stable(&self) -> &str {
        self.data
            .get("code")
            .and_then(Value::as_str)
            .unwrap_or("INCONNU")
    }

    /// The body is not JSON.
    pub fn analyse(detail: &impl std::fmt::Display) -> Self {
        Self::new(
            codes::ANALYSE,
            "JSON_INVALIDE",
            format!("JSON illisible : {detail}"),
        )
    }

    /// Not a JSON-RPC 2.0 request.
    pub fn requete_invalide(detail: &str) -> Self {
        Self::new(
            codes::REQUETE_INVALIDE,
            "REQUETE_INVALIDE",
            format!("requête JSON-RPC 2.0 invalide : {detail}"),
        )
    }

    /// A message over the size limit.
    pub fn message_trop_grand(limite: usize) -> Self {
        Self::new(
            codes::REQUETE_INVALIDE,
            "MESSAGE_TROP_GRAND",
            format!("message trop grand (au plus {limite} octets)"),
        )
        .avec("limite", json!(limite))
    }

    /// A batch over the size limit.
    pub fn lot_trop_grand(limite: usize) -> Self {
        Self::new(
            codes::REQUETE_INVALIDE,
            "LOT_TROP_GRAND",
            format!("lot trop grand (au plus {limite} appels)"),
        )
        .avec("limite", json!(limite))
    }

    /// No such method.
    pub fn methode_inconnue(methode: &str) -> Self {
        Self::new(
            codes::METHODE_INCONNUE,
            "METHODE_INCONNUE",
            format!("méthode inconnue : {methode}"),
        )
    }

    /// The params do not fit.
    pub fn parametres(detail: &impl std::fmt::Display) -> Self {
        Self::new(
            codes::PARAMETRES,
            "PARAMETRES_INVALIDES",
            format!("paramètres invalides : {detail}"),
        )
    }

    /// No token came with the call.
    pub fn non_authentifie() -> Self {
        Self::new(
            codes::NON_AUTHENTIFIE,
            "NON_AUTHENTIFIE",
            "authentification requise (jeton d'accès)",
        )
    }

    /// The token has expired.
    pub fn jeton_expire() -> Self {
        Self::new(
            codes::NON_AUTHENTIFIE,
            "JETON_EXPIRE",
            "jeton d'accès expiré : rafraîchissez-le",
        )
    }

    /// The token is not one of ours (forged, altered, for another audience).
    pub fn jeton_invalide() -> Self {
        Self::new(
            codes::NON_AUTHENTIFIE,
            "JETON_INVALIDE",
            "jeton d'accès invalide",
        )
    }

    /// Not allowed.
    pub fn interdit(message: &str) -> Self {
        Self::new(codes::INTERDIT, "INTERDIT", message)
    }

    /// The account is banned: its calls are refused until `jusqu_a` (`null`: until a game
    /// master lifts the ban).
    pub fn compte_banni(revocation: &commands::services::moderation::Revocation) -> Self {
        Self::new(
            codes::INTERDIT,
            "COMPTE_BANNI",
            format!("compte banni : {}", revocation.raison),
        )
        .avec("jusqu_a", json!(revocation.jusqu_a))
        .avec("raison", json!(revocation.raison))
    }

    /// Nothing by that id.
    pub fn introuvable(genre: &str, id: &impl std::fmt::Display) -> Self {
        Self::new(
            codes::INTROUVABLE,
            "INTROUVABLE",
            format!("{genre} introuvable : {id}"),
        )
        .avec("genre", json!(genre))
    }

    /// The read models a read needs had not passed its `a_jour_de` cursor after `attente`.
    pub fn lecture_en_retard(curseur: &str, attente: Duration) -> Self {
        let ms = u64::try_from(attente.as_millis()).unwrap_or(u64::MAX);
        Self::new(
            codes::LECTURE_EN_RETARD,
            "LECTURE_EN_RETARD",
            format!(
                "le côté lecture n'a pas atteint le curseur {curseur} en {ms} ms : réessayez la lecture"
            ),
        )
        .avec("attente_ms", json!(ms))
    }

    /// Too many calls.
    pub fn trop_de_requetes(attente: Duration) -> Self {
        let ms = u64::try_from(attente.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        Self::new(
            codes::TROP_DE_REQUETES,
            "TROP_DE_REQUETES",
            format!("trop de requêtes, réessayez dans {ms} ms"),
        )
        .avec("reessayer_dans_ms", json!(ms))
    }

    /// A rule of the game refused it.
    pub fn refus(code: &str, message: impl Into<String>) -> Self {
        Self::new(codes::REFUS, code, message)
    }

    /// A failure: [`Self::indisponible`] when its cause is an engine away
    /// ([`moteur_indisponible`]), else [`Self::interne`].
    pub fn panne(cause: &(dyn std::error::Error + 'static)) -> Self {
        if moteur_indisponible(cause) {
            Self::indisponible(cause)
        } else {
            Self::interne(cause)
        }
    }

    /// An engine is away: the call may be retried as it is (a command with its
    /// `id_commande`: applied or not, it is applied once). Logged as a warning, its cause
    /// kept in the log only.
    pub fn indisponible(cause: &(dyn std::error::Error + 'static)) -> Self {
        tracing::warn!(erreur = %cause, source = ?cause.source(), "moteur indisponible");
        let ms = u64::try_from(REESSAYER_DANS.as_millis()).unwrap_or(u64::MAX);
        Self::new(
            codes::INDISPONIBLE,
            "INDISPONIBLE",
            format!(
                "service momentanément indisponible, réessayez dans {ms} ms (même id_commande)"
            ),
        )
        .avec("reessayer_dans_ms", json!(ms))
    }

    /// A failure of ours: logged with its cause under an incident id, which alone is shown.
    pub fn interne(cause: &(dyn std::error::Error + 'static)) -> Self {
        let incident = Uuid::new_v4();
        tracing::error!(%incident, erreur = %cause, source = ?cause.source(), "erreur interne");
        Self::new(
            codes::INTERNE,
            "ERREUR_INTERNE",
            format!("erreur interne du serveur (incident {incident})"),
        )
        .avec("incident", json!(incident))
    }
}

impl From<ErreurApplication> for ErreurRpc {
    fn from(e: ErreurApplication) -> Self {
        match &e {
            // A history cursor that is no message id is a bad parameter, not a rule of the
            // game: the client sent something malformed, nothing was refused on the merits.
            ErreurApplication::Regle(Refus::Chat(ErreurChat::CurseurInvalide)) => {
                Self::new(codes::PARAMETRES, "CURSEUR_INVALIDE", e.to_string())
            }
            ErreurApplication::Regle(refus) => Self::refus(refus.code(), refus.to_string()),
            ErreurApplication::PasRefuse {
                refus,
                zone,
                position,
            } => Self::refus(refus.into(), refus.to_string())
                .avec("zone", json!(zone))
                .avec("position", json!(position)),
            ErreurApplication::NomDejaPris(_) => Self::refus("NOM_DEJA_PRIS", e.to_string()),
            ErreurApplication::TropDePersonnages { max } => {
                Self::refus("TROP_DE_PERSONNAGES", e.to_string()).avec("max", json!(max))
            }
            ErreurApplication::Interdit => Self::interdit(&e.to_string()),
            ErreurApplication::Introuvable { genre, id } => Self::introuvable(genre, id),
            ErreurApplication::Conflit => Self::new(codes::CONFLIT, "CONFLIT", e.to_string()),
            ErreurApplication::CommandeReutilisee(_) => {
                Self::new(codes::PARAMETRES, "COMMANDE_REUTILISEE", e.to_string())
            }
            ErreurApplication::Stockage(cause) => Self::panne(cause.as_ref()),
        }
    }
}

impl From<ErreurProjection> for ErreurRpc {
    fn from(e: ErreurProjection) -> Self {
        Self::panne(&e)
    }
}

impl From<sqlx::Error> for ErreurRpc {
    fn from(e: sqlx::Error) -> Self {
        Self::panne(&e)
    }
}

#[cfg(test)]
mod tests {
    use domain::combat::ErreurCombat;

    use super::*;

    #[test]
    fn un_refus_du_jeu_garde_son_code_et_sa_raison() {
        let e = ErreurRpc::from(ErreurApplication::Regle(Refus::Combat(
            ErreurCombat::DejaAgi,
        )));
        assert_eq!(e.code, codes::REFUS);
        assert_eq!(e.code_stable(), "DEJA_AGI");
        assert!(!e.message.is_empty());
    }

    #[test]
    fn chaque_constructeur_rend_un_code_de_la_liste() {
        let cause = std::io::Error::other("panne");
        let erreurs = [
            ErreurRpc::analyse(&"x"),
            ErreurRpc::requete_invalide("x"),
            ErreurRpc::message_trop_grand(1),
            ErreurRpc::lot_trop_grand(1),
            ErreurRpc::methode_inconnue("x"),
            ErreurRpc::parametres(&"x"),
            ErreurRpc::non_authentifie(),
            ErreurRpc::jeton_expire(),
            ErreurRpc::jeton_invalide(),
            ErreurRpc::interdit("x"),
            ErreurRpc::compte_banni(&commands::services::moderation::Revocation {
                compte_id: domain::ids::CompteId::from_uuid(Uuid::nil()),
                jusqu_a: None,
                raison: "x".into(),
            }),
            ErreurRpc::introuvable("personnage", &"x"),
            ErreurRpc::trop_de_requetes(Duration::from_secs(1)),
            ErreurRpc::lecture_en_retard("1.2", Duration::from_secs(2)),
            ErreurRpc::interne(&cause),
            ErreurRpc::indisponible(&cause),
            ErreurRpc::from(ErreurApplication::Conflit),
            ErreurRpc::from(ErreurApplication::CommandeReutilisee(Uuid::nil())),
            ErreurRpc::from(ErreurApplication::Interdit),
        ];
        for e in &erreurs {
            assert!(
                CODES_DU_PROTOCOLE.contains(&(e.code, e.code_stable())),
                "{e:?}"
            );
        }
        let refus = ErreurRpc::from(ErreurApplication::TropDePersonnages { max: 3 });
        assert_eq!(refus.code, codes::REFUS);
        assert!(codes_de_refus().any(|c| c == refus.code_stable()));
    }

    #[test]
    fn un_pas_refuse_dit_ou_se_tient_le_personnage() {
        let e = ErreurRpc::from(ErreurApplication::PasRefuse {
            refus: domain::monde::ErreurMonde::TropRapide {
                distance: 90,
                permis: 17,
            },
            zone: domain::valeurs::CodeZone::parse("plaine_verte").expect("zone"),
            position: domain::valeurs::Position::parse(100.0, 50.5).expect("position"),
        });
        assert_eq!(e.code, codes::REFUS);
        assert_eq!(
            e.data,
            json!({"code": "TROP_RAPIDE", "zone": "plaine_verte", "position": {"x": 100.0, "y": 50.5}})
        );
    }

    #[test]
    fn un_curseur_d_historique_illisible_est_un_parametre_invalide() {
        let e = ErreurRpc::from(ErreurApplication::chat(ErreurChat::CurseurInvalide));
        assert_eq!(e.code, codes::PARAMETRES);
        assert_eq!(e.code_stable(), "CURSEUR_INVALIDE");
        assert!(CODES_DU_PROTOCOLE.contains(&(e.code, e.code_stable())));
        assert!(!codes_de_refus().any(|c| c == "CURSEUR_INVALIDE"));
    }

    #[test]
    fn un_moteur_injoignable_est_indisponible_et_une_donnee_illisible_reste_interne() {
        let coupe = ErreurApplication::from(sqlx::Error::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset,
        )));
        let e = ErreurRpc::from(coupe);
        assert_eq!(
            (e.code, e.code_stable()),
            (codes::INDISPONIBLE, "INDISPONIBLE")
        );
        assert!(
            e.data["reessayer_dans_ms"]
                .as_u64()
                .is_some_and(|ms| ms > 0)
        );
        assert!(e.data.get("incident").is_none());
        let e = ErreurRpc::from(sqlx::Error::PoolTimedOut);
        assert_eq!(e.code_stable(), "INDISPONIBLE");
        let e = ErreurRpc::from(ErreurProjection::Base(sqlx::Error::PoolTimedOut));
        assert_eq!(e.code_stable(), "INDISPONIBLE");
        let redis =
            redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(
            ErreurRpc::from(ErreurApplication::from(redis)).code_stable(),
            "INDISPONIBLE"
        );
        let e = ErreurRpc::from(ErreurApplication::from(sqlx::Error::RowNotFound));
        assert_eq!(
            (e.code, e.code_stable()),
            (codes::INTERNE, "ERREUR_INTERNE")
        );
    }

    #[test]
    fn une_erreur_interne_ne_montre_qu_un_numero_d_incident() {
        let cause = std::io::Error::other("mot de passe de la base : hunter2");
        let e = ErreurRpc::interne(&cause);
        assert_eq!(e.code, codes::INTERNE);
        assert!(!e.message.contains("hunter2"));
        assert!(e.data["incident"].is_string());
    }
}
