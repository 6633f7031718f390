//! Service Quêtes: `quete.catalogue|accepter|abandonner|journal`.

use commands::services::quete as service;
use domain::ids::JoueurId;
use domain::valeurs::CodeQuete;
use projections::requetes::quetes;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::joueur::Aucun;
use super::{Appelant, ErreurRpc, en_json, evenements_json, verifier_proprietaire};
use crate::etat::Etat;

/// Every quest of the catalog, by code.
pub fn catalogue(etat: &Etat, _: Aucun) -> Result<Value, ErreurRpc> {
    Ok(json!({ "quetes": en_json(etat.magasin.catalogue().quetes())? }))
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
pub async fn accepter(etat: &Etat, a: Appelant, p: UneQuete) -> Result<Value, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let e = service::accepter(&etat.magasin, a.compte_id, p.joueur_id, p.quete, &meta).await?;
    evenements_json(&e)
}

/// Gives a quest up.
pub async fn abandonner(etat: &Etat, a: Appelant, p: UneQuete) -> Result<Value, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let e = service::abandonner(&etat.magasin, a.compte_id, p.joueur_id, p.quete, &meta).await?;
    evenements_json(&e)
}

/// `quete.journal`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Journal {
    joueur_id: JoueurId,
}

/// The quest log of one of the caller's characters.
pub async fn journal(etat: &Etat, a: Appelant, p: Journal) -> Result<Value, ErreurRpc> {
    verifier_proprietaire(etat, a, p.joueur_id).await?;
    let lignes = quetes::journal(&etat.pool, p.joueur_id).await?;
    Ok(json!({ "joueur_id": p.joueur_id, "quetes": lignes }))
}
