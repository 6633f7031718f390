//! Service Quêtes: `quete.catalogue|accepter|abandonner|journal`.

use commands::services::quete as service;
use domain::ids::JoueurId;
use domain::valeurs::CodeQuete;
use projections::requetes::quetes;
use std::collections::BTreeMap;

use domain::catalogue::DefQuete;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::appelant::{Appelant, verifier_proprietaire};
use super::joueur::Aucun;
use crate::passerelle::Passerelle;
use crate::protocole::{ErreurRpc, Evenements, evenements_json};

/// `quete.catalogue`'s answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CatalogueQuetes {
    /// Every quest, by code.
    pub quetes: BTreeMap<CodeQuete, DefQuete>,
}

/// Every quest of the catalog, by code.
pub fn catalogue(passerelle: &Passerelle, _: Aucun) -> Result<CatalogueQuetes, ErreurRpc> {
    Ok(CatalogueQuetes {
        quetes: passerelle.depot.catalogue().quetes().clone(),
    })
}

/// `quete.accepter`, `quete.abandonner`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UneQuete {
    joueur_id: JoueurId,
    quete: CodeQuete,
    id_commande: Option<Uuid>,
}

/// Accepts a quest.
pub async fn accepter(
    passerelle: &Passerelle,
    a: Appelant,
    p: UneQuete,
) -> Result<Evenements, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let e = service::accepter(&passerelle.depot, a.compte_id, p.joueur_id, p.quete, &meta).await?;
    evenements_json(&e)
}

/// Gives a quest up.
pub async fn abandonner(
    passerelle: &Passerelle,
    a: Appelant,
    p: UneQuete,
) -> Result<Evenements, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let e =
        service::abandonner(&passerelle.depot, a.compte_id, p.joueur_id, p.quete, &meta).await?;
    evenements_json(&e)
}

/// `quete.journal`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Journal {
    joueur_id: JoueurId,
}

/// `quete.journal`'s answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct JournalQuetes {
    /// The character.
    pub joueur_id: JoueurId,
    /// Its quests, by code.
    pub quetes: Vec<quetes::EntreeJournal>,
}

/// The quest log of one of the caller's characters.
pub async fn journal(
    passerelle: &Passerelle,
    a: Appelant,
    p: Journal,
) -> Result<JournalQuetes, ErreurRpc> {
    verifier_proprietaire(passerelle, a, p.joueur_id).await?;
    let lignes = quetes::journal(&passerelle.pool, p.joueur_id).await?;
    Ok(JournalQuetes {
        joueur_id: p.joueur_id,
        quetes: lignes,
    })
}
