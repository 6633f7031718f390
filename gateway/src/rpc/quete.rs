//! Service Quêtes: `quete.catalogue|accepter|abandonner|journal`.

use commands::services::quete as service;
use domain::ids::JoueurId;
use domain::valeurs::CodeQuete;
use projections::requetes::quetes;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::appelant::{Appelant, verifier_proprietaire};
use super::joueur::Aucun;
use crate::passerelle::Passerelle;
use crate::protocole::{ErreurRpc, en_json, evenements_json};

/// Every quest of the catalog, by code.
pub fn catalogue(passerelle: &Passerelle, _: Aucun) -> Result<Value, ErreurRpc> {
    Ok(json!({ "quetes": en_json(passerelle.depot.catalogue().quetes())? }))
}

/// `quete.accepter`, `quete.abandonner`.
#[derive(Debug, Deserialize)]
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
) -> Result<Value, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let e = service::accepter(&passerelle.depot, a.compte_id, p.joueur_id, p.quete, &meta).await?;
    evenements_json(&e)
}

/// Gives a quest up.
pub async fn abandonner(
    passerelle: &Passerelle,
    a: Appelant,
    p: UneQuete,
) -> Result<Value, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let e =
        service::abandonner(&passerelle.depot, a.compte_id, p.joueur_id, p.quete, &meta).await?;
    evenements_json(&e)
}

/// `quete.journal`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Journal {
    joueur_id: JoueurId,
}

/// The quest log of one of the caller's characters.
pub async fn journal(passerelle: &Passerelle, a: Appelant, p: Journal) -> Result<Value, ErreurRpc> {
    verifier_proprietaire(passerelle, a, p.joueur_id).await?;
    let lignes = quetes::journal(&passerelle.pool, p.joueur_id).await?;
    Ok(json!({ "joueur_id": p.joueur_id, "quetes": lignes }))
}
