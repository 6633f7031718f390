//! Service Économie: `inventaire.consulter|fabriquer|acheter|vendre|jeter`,
//! `echange.proposer|modifier|accepter|annuler`, `economie.grand_livre|totaux`.

use commands::services::economie as service;
use domain::echange::Offre;
use domain::ids::{EchangeId, JoueurId};
use domain::valeurs::{CodeItem, CodeMarchand, CodeRecette, Quantite};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::appelant::{Appelant, verifier_proprietaire};
use super::joueur::Aucun;
use crate::passerelle::Passerelle;
use crate::protocole::{ErreurRpc, en_json, evenements_json};

/// `inventaire.consulter`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consulter {
    joueur_id: JoueurId,
}

/// The inventory of one of the caller's characters (cache, else read model).
pub async fn consulter(etat: &Passerelle, a: Appelant, p: Consulter) -> Result<Value, ErreurRpc> {
    verifier_proprietaire(etat, a, p.joueur_id).await?;
    let inventaire = projections::cache::inventaire(&etat.pool, &etat.cache, p.joueur_id.uuid())
        .await?
        .ok_or_else(|| ErreurRpc::introuvable("inventaire", &p.joueur_id))?;
    en_json(&inventaire)
}

/// `inventaire.fabriquer`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fabriquer {
    joueur_id: JoueurId,
    recette: CodeRecette,
    id_commande: Option<Uuid>,
}

/// Crafts a recipe once.
pub async fn fabriquer(etat: &Passerelle, a: Appelant, p: Fabriquer) -> Result<Value, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let e = service::fabriquer(&etat.depot, a.compte_id, p.joueur_id, p.recette, &meta).await?;
    evenements_json(&e)
}

/// `inventaire.acheter`, `inventaire.vendre`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Negoce {
    joueur_id: JoueurId,
    marchand: CodeMarchand,
    item: CodeItem,
    quantite: Quantite,
    id_commande: Option<Uuid>,
}

/// Buys from a merchant.
pub async fn acheter(etat: &Passerelle, a: Appelant, p: Negoce) -> Result<Value, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let negoce = service::Negoce {
        marchand: p.marchand,
        item: p.item,
        quantite: p.quantite,
    };
    let e = service::acheter(
        &etat.depot,
        &etat.monde,
        a.compte_id,
        p.joueur_id,
        negoce,
        &meta,
    )
    .await?;
    evenements_json(&e)
}

/// Sells to a merchant.
pub async fn vendre(etat: &Passerelle, a: Appelant, p: Negoce) -> Result<Value, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let negoce = service::Negoce {
        marchand: p.marchand,
        item: p.item,
        quantite: p.quantite,
    };
    let e = service::vendre(
        &etat.depot,
        &etat.monde,
        a.compte_id,
        p.joueur_id,
        negoce,
        &meta,
    )
    .await?;
    evenements_json(&e)
}

/// `inventaire.jeter`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Jeter {
    joueur_id: JoueurId,
    item: CodeItem,
    quantite: Quantite,
    id_commande: Option<Uuid>,
}

/// Throws items away (a destruction in the ledger).
pub async fn jeter(etat: &Passerelle, a: Appelant, p: Jeter) -> Result<Value, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let e = service::jeter(
        &etat.depot,
        a.compte_id,
        p.joueur_id,
        p.item,
        p.quantite,
        &meta,
    )
    .await?;
    evenements_json(&e)
}

/// `echange.proposer`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proposer {
    joueur_id: JoueurId,
    destinataire: JoueurId,
    offre: Offre,
    id_commande: Option<Uuid>,
}

/// Opens a trade with another character, the caller's offer reserved.
pub async fn proposer(etat: &Passerelle, a: Appelant, p: Proposer) -> Result<Value, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let echange_id = service::proposer(
        &etat.depot,
        a.compte_id,
        p.joueur_id,
        p.destinataire,
        p.offre,
        &meta,
    )
    .await?;
    Ok(json!({ "echange_id": echange_id }))
}

/// `echange.modifier`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Modifier {
    joueur_id: JoueurId,
    echange_id: EchangeId,
    offre: Offre,
    id_commande: Option<Uuid>,
}

/// Replaces the caller's offer (both acceptances reset).
pub async fn modifier(etat: &Passerelle, a: Appelant, p: Modifier) -> Result<Value, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let e = service::modifier(
        &etat.depot,
        a.compte_id,
        p.joueur_id,
        p.echange_id,
        p.offre,
        &meta,
    )
    .await?;
    evenements_json(&e)
}

/// `echange.accepter`, `echange.annuler`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnEchange {
    joueur_id: JoueurId,
    echange_id: EchangeId,
    id_commande: Option<Uuid>,
}

/// Accepts the offers as they stand; the second acceptance settles the trade.
pub async fn accepter(etat: &Passerelle, a: Appelant, p: UnEchange) -> Result<Value, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let e = service::accepter(&etat.depot, a.compte_id, p.joueur_id, p.echange_id, &meta).await?;
    evenements_json(&e)
}

/// Calls a trade off.
pub async fn annuler(etat: &Passerelle, a: Appelant, p: UnEchange) -> Result<Value, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let e = service::annuler(&etat.depot, a.compte_id, p.joueur_id, p.echange_id, &meta).await?;
    evenements_json(&e)
}

/// `economie.grand_livre`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrandLivre {
    joueur_id: JoueurId,
    /// Only movements after this sequence of the inventory's stream (paging).
    #[serde(default)]
    apres: i64,
    /// Events (sequences) per page, 1 to 500 (default 100); a page holds whole events.
    #[serde(default = "cent")]
    limite: u32,
}

fn cent() -> u32 {
    100
}

#[derive(Debug, sqlx::FromRow, serde::Serialize)]
struct Mouvement {
    sequence: i64,
    ressource: String,
    delta: i64,
    solde_apres: i64,
    cause: String,
    detail: Value,
    correlation_id: Option<Uuid>,
    horodatage: chrono::DateTime<chrono::Utc>,
}

/// The audit of a character's economy: every gold and item movement with its cause and the
/// balance after it, oldest first, by pages.
pub async fn grand_livre(
    etat: &Passerelle,
    a: Appelant,
    p: GrandLivre,
) -> Result<Value, ErreurRpc> {
    if !(1..=500).contains(&p.limite) {
        return Err(ErreurRpc::parametres(&"`limite` va de 1 à 500"));
    }
    verifier_proprietaire(etat, a, p.joueur_id).await?;
    let lignes: Vec<Mouvement> = sqlx::query_as(
        // A page ends on a whole event: one event may move gold and items (several rows), and
        // the next page starts after the last sequence shown.
        "SELECT sequence, ressource, delta, solde_apres, cause, detail, correlation_id, \
                recorded_at AS horodatage \
         FROM lecture.grand_livre WHERE joueur_id = $1 AND sequence IN ( \
             SELECT DISTINCT sequence FROM lecture.grand_livre \
             WHERE joueur_id = $1 AND sequence > $2 ORDER BY sequence LIMIT $3) \
         ORDER BY sequence, ressource",
    )
    .bind(p.joueur_id.uuid())
    .bind(p.apres)
    .bind(i64::from(p.limite))
    .fetch_all(&etat.pool)
    .await?;
    Ok(json!({ "joueur_id": p.joueur_id, "mouvements": lignes }))
}

#[derive(Debug, sqlx::FromRow, serde::Serialize)]
struct Total {
    ressource: String,
    cause: String,
    cree: i64,
    detruit: i64,
}

/// Created and destroyed per resource and cause, for every account (admin): the proof of
/// conservation.
pub async fn totaux(etat: &Passerelle, _: Aucun) -> Result<Value, ErreurRpc> {
    let lignes: Vec<Total> = sqlx::query_as(
        "SELECT ressource, cause, cree, detruit FROM lecture.economie_totaux \
         ORDER BY ressource, cause",
    )
    .fetch_all(&etat.pool)
    .await?;
    Ok(json!({ "totaux": lignes }))
}
