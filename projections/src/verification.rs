//! Checks of the read side that tests and the fault harness (`fautes`) share: a snapshot of
//! every read-model row, to compare a live model with a rebuild, and the economy's
//! conservation per resource.

use std::collections::BTreeMap;

use sqlx::PgPool;

use crate::{Projection, SCHEMA};

/// Every row of every read-model table, as text, in a stable order. Two snapshots are equal
/// exactly when the models hold the same rows.
pub async fn instantane(pool: &PgPool) -> Result<BTreeMap<&'static str, Vec<String>>, sqlx::Error> {
    let mut tout = BTreeMap::new();
    for p in Projection::TOUTES {
        for table in p.tables() {
            let lignes: Vec<(String,)> = sqlx::query_as(&format!(
                "SELECT t::text FROM {SCHEMA}.{table} AS t ORDER BY 1"
            ))
            .fetch_all(pool)
            .await?;
            tout.insert(*table, lignes.into_iter().map(|(l,)| l).collect());
        }
    }
    Ok(tout)
}

/// A resource whose books do not balance: Σ created − Σ destroyed (`net`) differs from
/// what the inventories hold (`detenu`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desequilibre {
    /// `or`, or an item's code.
    pub ressource: String,
    /// Created minus destroyed, by the economy's totals.
    pub net: i64,
    /// Held, summed over every inventory (reservations included).
    pub detenu: i64,
}

/// Conservation per resource (gold, and each item): Σ created − Σ destroyed = Σ held.
/// Returns the resources where it fails; empty when the economy balances.
pub async fn desequilibres(pool: &PgPool) -> Result<Vec<Desequilibre>, sqlx::Error> {
    let lignes: Vec<(String, i64, i64)> = sqlx::query_as(&format!(
        "WITH bilan AS (SELECT ressource, sum(cree - detruit)::bigint AS net \
                        FROM {SCHEMA}.economie_totaux GROUP BY ressource), \
              detenu AS (SELECT 'or' AS ressource, sum(or_total)::bigint AS total FROM {SCHEMA}.inventaires \
                         UNION ALL SELECT item, sum(quantite)::bigint FROM {SCHEMA}.inventaire_items GROUP BY item) \
         SELECT COALESCE(b.ressource, d.ressource), COALESCE(b.net, 0), COALESCE(d.total, 0) \
         FROM bilan b FULL JOIN detenu d ON b.ressource = d.ressource \
         WHERE COALESCE(b.net, 0) <> COALESCE(d.total, 0)"
    ))
    .fetch_all(pool)
    .await?;
    Ok(lignes
        .into_iter()
        .map(|(ressource, net, detenu)| Desequilibre {
            ressource,
            net,
            detenu,
        })
        .collect())
}
