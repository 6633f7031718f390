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

use projections::Projection;

use super::appelant::{Appelant, verifier_proprietaire};
use super::coherence::{a_jour, commande};
use super::joueur::Aucun;
use crate::passerelle::Passerelle;
use crate::protocole::{Curseur, ErreurRpc, Evenements, evenements_json};

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
    let (e, curseur) = commande(service::accepter(
        &passerelle.depot,
        a.compte_id,
        p.joueur_id,
        p.quete,
        &meta,
    ))
    .await?;
    evenements_json(&e, curseur)
}

/// Gives a quest up.
pub async fn abandonner(
    passerelle: &Passerelle,
    a: Appelant,
    p: UneQuete,
) -> Result<Evenements, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let (e, curseur) = commande(service::abandonner(
        &passerelle.depot,
        a.compte_id,
        p.joueur_id,
        p.quete,
        &meta,
    ))
    .await?;
    evenements_json(&e, curseur)
}

/// `quete.journal`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Journal {
    joueur_id: JoueurId,
    /// A cursor the answer must reflect (a command's `curseur`): the read waits, bounded,
    /// until the read models have passed it (`LECTURE_EN_RETARD` past the bound).
    #[serde(default)]
    a_jour_de: Option<Curseur>,
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
    a_jour(passerelle, &[Projection::Quetes], p.a_jour_de).await?;
    let lignes = quetes::journal(&passerelle.pool, p.joueur_id).await?;
    Ok(JournalQuetes {
        joueur_id: p.joueur_id,
        quetes: lignes,
    })
}
