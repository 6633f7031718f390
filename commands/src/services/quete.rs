//! Service Quêtes: accepting (with the character's level and completed quests read from their
//! streams) and abandoning.

use std::collections::BTreeSet;

use domain::ids::{CompteId, JoueurId};
use domain::quete::{CommandeQuete, EvenementQuete, Quete, QueteId, Statut};
use domain::valeurs::CodeQuete;
use magasin::Metadonnees;

use crate::depot::Depot;
use crate::erreurs::ErreurApplication;
use crate::services::{fiche_possedee, verifier_possession};

/// Accepts a quest for a character of the caller's.
#[tracing::instrument(level = "debug", skip_all, fields(%compte, %joueur_id))]
pub async fn accepter(
    depot: &Depot,
    compte: CompteId,
    joueur_id: JoueurId,
    quete: CodeQuete,
    meta: &Metadonnees,
) -> Result<Vec<EvenementQuete>, ErreurApplication> {
    let fiche = fiche_possedee(depot, compte, joueur_id).await?;
    let prerequis = depot
        .catalogue()
        .quete(&quete)
        .map(|d| d.prerequis.clone())
        .unwrap_or_default();
    let mut quetes_terminees = BTreeSet::new();
    for p in prerequis {
        let id = QueteId {
            joueur_id,
            quete: p.clone(),
        };
        let terminee = depot
            .charger::<Quete>(&id.to_string())
            .await?
            .and_then(|q| q.etat().map(|e| e.statut == Statut::Terminee))
            .unwrap_or(false);
        if terminee {
            quetes_terminees.insert(p);
        }
    }
    let id = QueteId {
        joueur_id,
        quete: quete.clone(),
    };
    let accepter = CommandeQuete::Accepter {
        joueur_id,
        quete,
        niveau_joueur: fiche.niveau,
        quetes_terminees,
    };
    depot
        .executer::<Quete>(&id.to_string(), accepter, meta)
        .await
}

/// Gives a quest up.
#[tracing::instrument(level = "debug", skip_all, fields(%compte, %joueur_id))]
pub async fn abandonner(
    depot: &Depot,
    compte: CompteId,
    joueur_id: JoueurId,
    quete: CodeQuete,
    meta: &Metadonnees,
) -> Result<Vec<EvenementQuete>, ErreurApplication> {
    verifier_possession(depot, compte, joueur_id).await?;
    let id = QueteId { joueur_id, quete };
    depot
        .executer::<Quete>(&id.to_string(), CommandeQuete::Abandonner, meta)
        .await
}
