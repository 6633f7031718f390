//! Service Quêtes: `quete.catalogue|accepter|abandonner|journal`.

use commands::services::quete as service;
use domain::ids::JoueurId;
use domain::valeurs::CodeQuete;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::appelant::{Appelant, verifier_proprietaire};
use super::joueur::Aucun;
use crate::passerelle::Passerelle;
use crate::protocole::{ErreurRpc, en_json, evenements_json};

/// Every quest of the catalog, by code.
pub fn catalogue(etat: &Passerelle, _: Aucun) -> Result<Value, ErreurRpc> {
    Ok(json!({ "quetes": en_json(etat.depot.catalogue().quetes())? }))
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
pub async fn accepter(etat: &Passerelle, a: Appelant, p: UneQuete) -> Result<Value, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let e = service::accepter(&etat.depot, a.compte_id, p.joueur_id, p.quete, &meta).await?;
    evenements_json(&e)
}

/// Gives a quest up.
pub async fn abandonner(etat: &Passerelle, a: Appelant, p: UneQuete) -> Result<Value, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let e = service::abandonner(&etat.depot, a.compte_id, p.joueur_id, p.quete, &meta).await?;
    evenements_json(&e)
}

/// `quete.journal`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Journal {
    joueur_id: JoueurId,
}

#[derive(Debug, sqlx::FromRow, serde::Serialize)]
struct Ligne {
    quete: String,
    statut: String,
    progression: i32,
    requis: i32,
    maj: chrono::DateTime<chrono::Utc>,
}

/// The quest log of one of the caller's characters.
pub async fn journal(etat: &Passerelle, a: Appelant, p: Journal) -> Result<Value, ErreurRpc> {
    verifier_proprietaire(etat, a, p.joueur_id).await?;
    let lignes: Vec<Ligne> = sqlx::query_as(
        "SELECT quete, statut, progression, requis, maj FROM lecture.journal_quetes \
         WHERE joueur_id = $1 ORDER BY quete",
    )
    .bind(p.joueur_id.uuid())
    .fetch_all(&etat.pool)
    .await?;
    Ok(json!({ "joueur_id": p.joueur_id, "quetes": lignes }))
}
