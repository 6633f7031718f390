//! `grand_livre` (every gold and item movement with its cause and the balance after it) and
//! `economie_totaux` (created and destroyed, by resource and cause), so that conservation is
//! one query: for each resource, Σ created − Σ destroyed = Σ held.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate as _;
use domain::inventaire::{Cause, EvenementInventaire, Inventaire};
use magasin::lecteur::EvenementStocke;
use serde::Serialize;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{ajouter, en_json, evenements, uuid};
use crate::ErreurProjection;

/// The resource name of gold in the ledger (items use their code).
pub const OR: &str = "or";

/// A row of `grand_livre`.
#[derive(Debug, Serialize)]
struct Ligne {
    joueur_id: Uuid,
    sequence: i64,
    ressource: String,
    delta: i64,
    solde_apres: i64,
    cause: &'static str,
    detail: Value,
    correlation_id: Option<Uuid>,
    recorded_at: DateTime<Utc>,
}

/// A row of `economie_totaux`, as an increment.
#[derive(Debug, Default, Serialize)]
struct Total<'a> {
    ressource: &'a str,
    cause: &'static str,
    cree: i64,
    detruit: i64,
}

pub(crate) async fn appliquer(
    c: &mut PgConnection,
    lot: &[EvenementStocke],
) -> Result<(), ErreurProjection> {
    let mut lignes = Vec::new();
    for (e, ev) in evenements::<EvenementInventaire>(lot, Inventaire::TYPE)? {
        if let Some(ligne) = ligne(e, ev)? {
            lignes.push(ligne);
        }
    }
    // The totals move only with new ledger lines: replaying an event adds nothing.
    let ajoutees = ajouter(c, "grand_livre", "joueur_id, sequence", &lignes).await?;
    let mut totaux: BTreeMap<(&str, &str), Total> = BTreeMap::new();
    for l in lignes
        .iter()
        .filter(|l| ajoutees.contains(&(l.joueur_id, l.sequence)))
    {
        let total = totaux
            .entry((&l.ressource, l.cause))
            .or_insert_with(|| Total {
                ressource: &l.ressource,
                cause: l.cause,
                ..Total::default()
            });
        if l.delta >= 0 {
            total.cree += l.delta;
        } else {
            total.detruit -= l.delta;
        }
    }
    if totaux.is_empty() {
        return Ok(());
    }
    let totaux: Vec<&Total> = totaux.values().collect();
    let totaux = en_json("economie_totaux", &totaux)?;
    sqlx::query(
        "INSERT INTO economie_totaux \
         SELECT * FROM json_populate_recordset(NULL::economie_totaux, $1::json) \
         ON CONFLICT (ressource, cause) DO UPDATE \
         SET cree = economie_totaux.cree + EXCLUDED.cree, \
             detruit = economie_totaux.detruit + EXCLUDED.detruit",
    )
    .bind(totaux)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// The ledger line of a gold or item movement (other events have none).
fn ligne(e: &EvenementStocke, ev: EvenementInventaire) -> Result<Option<Ligne>, ErreurProjection> {
    let (ressource, delta, solde, cause) = match ev {
        EvenementInventaire::OrCredite {
            montant,
            solde,
            cause,
        } => (
            OR.to_owned(),
            signe(montant.pieces()),
            signe(solde.pieces()),
            cause,
        ),
        EvenementInventaire::OrDebite {
            montant,
            solde,
            cause,
        } => (
            OR.to_owned(),
            -signe(montant.pieces()),
            signe(solde.pieces()),
            cause,
        ),
        EvenementInventaire::ItemAjoute {
            item,
            quantite,
            total,
            cause,
        } => (
            item.as_str().to_owned(),
            i64::from(quantite.valeur()),
            i64::from(total),
            cause,
        ),
        EvenementInventaire::ItemRetire {
            item,
            quantite,
            total,
            cause,
        } => (
            item.as_str().to_owned(),
            -i64::from(quantite.valeur()),
            i64::from(total),
            cause,
        ),
        _ => return Ok(None),
    };
    let detail = serde_json::to_value(&cause).map_err(|source| ErreurProjection::Ligne {
        table: "grand_livre",
        source,
    })?;
    Ok(Some(Ligne {
        joueur_id: uuid(e)?,
        sequence: e.sequence,
        ressource,
        delta,
        solde_apres: solde,
        cause: nom_de_cause(&cause),
        detail,
        correlation_id: e.correlation_id,
        recorded_at: e.recorded_at,
    }))
}

fn signe(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The cause's type, as the ledger and the totals name it.
pub fn nom_de_cause(cause: &Cause) -> &'static str {
    match cause {
        Cause::KitDeDepart => "kit_de_depart",
        Cause::Butin { .. } => "butin",
        Cause::RecompenseQuete { .. } => "recompense_quete",
        Cause::Fabrication { .. } => "fabrication",
        Cause::Achat { .. } => "achat",
        Cause::Vente { .. } => "vente",
        Cause::Destruction => "destruction",
        Cause::Echange { .. } => "echange",
        Cause::Mj { .. } => "mj",
    }
}
