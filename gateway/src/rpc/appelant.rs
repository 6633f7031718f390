//! The authenticated caller as a handler sees it, and the ownership check of queries.

use chrono::Utc;
use domain::ids::{CompteId, JoueurId};
use magasin::Metadonnees;
use uuid::Uuid;

use crate::passerelle::Passerelle;
use crate::protocole::ErreurRpc;

/// An authenticated caller, as handlers see it.
#[derive(Debug, Clone, Copy)]
pub struct Appelant {
    /// The account.
    pub compte_id: CompteId,
    /// An admin now: the token's claim confirmed by the accounts table (`auth::roles`).
    pub admin: bool,
    /// The request, for correlation.
    pub id_requete: Uuid,
}

impl Appelant {
    /// The metadata of a command this caller sends: the client's `id_commande` if it gave one
    /// (a retry with the same id changes nothing), else a fresh one.
    pub fn meta(&self, id_commande: Option<Uuid>) -> Metadonnees {
        Metadonnees::pour_compte(
            self.compte_id,
            id_commande.unwrap_or_else(Uuid::new_v4),
            self.id_requete,
            Utc::now(),
        )
    }
}

/// Checks that a character belongs to the caller (an admin may read any): for queries. The
/// owner comes from the name reservations (written before the character exists, so never
/// behind), through Service Monde's memory of them (an owner never changes).
pub async fn verifier_proprietaire(
    passerelle: &Passerelle,
    a: Appelant,
    joueur_id: JoueurId,
) -> Result<(), ErreurRpc> {
    if !a.admin {
        passerelle
            .monde
            .verifier_proprietaire(a.compte_id, joueur_id)
            .await?;
        return Ok(());
    }
    match passerelle.monde.proprietaire(joueur_id).await? {
        Some(_) => Ok(()),
        None => Err(ErreurRpc::introuvable("personnage", &joueur_id)),
    }
}
