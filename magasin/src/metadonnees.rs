//! Metadata written beside every event: who asked (account), which command (its id, the
//! idempotency key), why (correlation: the request or chain of reactions it belongs to;
//! causation: the command or event that directly caused it) and when.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use domain::ids::CompteId;
use uuid::Uuid;

/// Keys of the metadata map (and generated columns of the `events` table).
pub mod cles {
    /// The command's id: the same id is applied at most once.
    pub const ID_COMMANDE: &str = "id_commande";
    /// The request or reaction chain the command belongs to.
    pub const CORRELATION: &str = "correlation_id";
    /// What directly caused the command: the player's request, or the event a process manager
    /// reacted to.
    pub const CAUSATION: &str = "causation_id";
    /// The account that asked, absent for commands the system issues.
    pub const COMPTE: &str = "compte_id";
    /// When the command was decided (RFC 3339, UTC).
    pub const HORODATAGE: &str = "horodatage";
}

/// The cause of one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadonnees {
    /// The command's id (idempotency key).
    pub id_commande: Uuid,
    /// The request or reaction chain.
    pub correlation_id: Uuid,
    /// The direct cause.
    pub causation_id: Uuid,
    /// Who asked (`None`: the system, e.g. a process manager or a scheduler).
    pub compte_id: Option<CompteId>,
    /// When.
    pub horodatage: DateTime<Utc>,
}

impl Metadonnees {
    /// A player's request: the request itself is the cause.
    pub fn pour_compte(
        compte_id: CompteId,
        id_commande: Uuid,
        correlation_id: Uuid,
        horodatage: DateTime<Utc>,
    ) -> Self {
        Self {
            id_commande,
            correlation_id,
            causation_id: id_commande,
            compte_id: Some(compte_id),
            horodatage,
        }
    }

    /// A command the system issues in reaction to an event: the event is the cause and its id
    /// the command's idempotency key, so a redelivered event changes nothing.
    pub fn pour_reaction(
        evenement_id: Uuid,
        etape: &str,
        correlation_id: Uuid,
        horodatage: DateTime<Utc>,
    ) -> Self {
        Self {
            id_commande: Uuid::new_v5(&evenement_id, etape.as_bytes()),
            correlation_id,
            causation_id: evenement_id,
            compte_id: None,
            horodatage,
        }
    }

    /// The metadata of one step of a request that issues several commands: a command id
    /// derived from the request's (so that retrying the request replays each step at most
    /// once), the same correlation, caused by the request.
    #[must_use]
    pub fn etape(&self, etape: &str) -> Self {
        Self {
            id_commande: Uuid::new_v5(&self.id_commande, etape.as_bytes()),
            causation_id: self.id_commande,
            ..self.clone()
        }
    }

    /// The map cqrs-es stores as the event's metadata.
    pub fn en_map(&self) -> HashMap<String, String> {
        let mut m = HashMap::with_capacity(5);
        m.insert(cles::ID_COMMANDE.to_owned(), self.id_commande.to_string());
        m.insert(
            cles::CORRELATION.to_owned(),
            self.correlation_id.to_string(),
        );
        m.insert(cles::CAUSATION.to_owned(), self.causation_id.to_string());
        if let Some(compte) = self.compte_id {
            m.insert(cles::COMPTE.to_owned(), compte.to_string());
        }
        m.insert(
            cles::HORODATAGE.to_owned(),
            self.horodatage.to_rfc3339_opts(SecondsFormat::Micros, true),
        );
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requete() -> Metadonnees {
        Metadonnees::pour_compte(
            CompteId::from_uuid(Uuid::from_u64_pair(2, 1)),
            Uuid::from_u64_pair(9, 1),
            Uuid::from_u64_pair(8, 1),
            DateTime::UNIX_EPOCH,
        )
    }

    #[test]
    fn une_requete_de_joueur_est_sa_propre_cause() {
        let m = requete();
        assert_eq!(m.causation_id, m.id_commande);
        let carte = m.en_map();
        assert_eq!(carte[cles::COMPTE], "00000000-0000-0002-0000-000000000001");
        assert_eq!(carte[cles::HORODATAGE], "1970-01-01T00:00:00.000000Z");
    }

    #[test]
    fn les_etapes_d_une_requete_ont_des_ids_distincts_et_stables() {
        let m = requete();
        let (a, b) = (m.etape("engager"), m.etape("preparer"));
        assert_ne!(a.id_commande, b.id_commande);
        assert_eq!(a.id_commande, m.etape("engager").id_commande);
        assert_eq!(a.causation_id, m.id_commande);
        assert_eq!(a.correlation_id, m.correlation_id);
    }

    #[test]
    fn une_reaction_est_causee_par_l_evenement_et_n_a_pas_de_compte() {
        let evenement = Uuid::from_u64_pair(7, 7);
        let m = Metadonnees::pour_reaction(evenement, "xp", evenement, DateTime::UNIX_EPOCH);
        assert_eq!(m.causation_id, evenement);
        assert_eq!(m.compte_id, None);
        assert!(!m.en_map().contains_key(cles::COMPTE));
        let encore = Metadonnees::pour_reaction(evenement, "xp", evenement, DateTime::UNIX_EPOCH);
        assert_eq!(m.id_commande, encore.id_commande);
    }
}
