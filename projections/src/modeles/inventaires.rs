//! `inventaires` and `inventaire_items`: each character's gold and item counts.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate as _;
use domain::inventaire::{EvenementInventaire, Inventaire};
use magasin::lecteur::EvenementStocke;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{ecrire, entier, evenements, lire_par_id, supprimer, uuid};
use crate::ErreurProjection;

/// A row of `inventaires`.
#[derive(Debug, Serialize, Deserialize)]
struct Ligne {
    joueur_id: Uuid,
    or_total: i64,
    version: i64,
    maj: DateTime<Utc>,
}

/// A row of `inventaire_items`.
#[derive(Debug, Serialize)]
struct LigneItem<'a> {
    joueur_id: Uuid,
    item: &'a str,
    quantite: i32,
}

pub(crate) async fn appliquer(
    c: &mut PgConnection,
    lot: &[EvenementStocke],
) -> Result<(), ErreurProjection> {
    let evenements = evenements::<EvenementInventaire>(lot, Inventaire::TYPE)?;
    if evenements.is_empty() {
        return Ok(());
    }
    let mut ids = BTreeSet::new();
    for (e, _) in &evenements {
        ids.insert(uuid(e)?);
    }
    let mut lignes =
        lire_par_id(c, "inventaires", "joueur_id", &ids, |l: &Ligne| l.joueur_id).await?;
    let mut changees = BTreeSet::new();
    // Each item's count after the batch (the events carry the total): 0 deletes the row.
    let mut items: BTreeMap<(Uuid, String), u32> = BTreeMap::new();
    for (e, ev) in evenements {
        let id = uuid(e)?;
        match (lignes.get_mut(&id), ev) {
            (None, EvenementInventaire::InventaireOuvert { .. }) => {
                let ligne = Ligne {
                    joueur_id: id,
                    or_total: 0,
                    version: e.sequence,
                    maj: e.recorded_at,
                };
                lignes.insert(id, ligne);
            }
            // Opened already, or an event it has seen: nothing moves.
            (Some(_), EvenementInventaire::InventaireOuvert { .. }) | (None, _) => continue,
            (Some(l), _) if l.version >= e.sequence => continue,
            (Some(l), ev) => {
                l.version = e.sequence;
                l.maj = e.recorded_at;
                match ev {
                    EvenementInventaire::OrCredite { solde, .. }
                    | EvenementInventaire::OrDebite { solde, .. } => {
                        l.or_total = i64::try_from(solde.pieces()).unwrap_or(i64::MAX);
                    }
                    EvenementInventaire::ItemAjoute { item, total, .. }
                    | EvenementInventaire::ItemRetire { item, total, .. } => {
                        items.insert((id, item.as_str().to_owned()), total);
                    }
                    // Reservations and crafting markers change no count.
                    EvenementInventaire::InventaireOuvert { .. }
                    | EvenementInventaire::ObjetFabrique { .. }
                    | EvenementInventaire::OffreReservee { .. }
                    | EvenementInventaire::ReservationLiberee { .. }
                    | EvenementInventaire::EchangeRegle { .. } => {}
                }
            }
        }
        changees.insert(id);
    }
    let lignes: Vec<Ligne> = changees.iter().filter_map(|id| lignes.remove(id)).collect();
    ecrire(
        c,
        "inventaires",
        "joueur_id",
        &["or_total", "version", "maj"],
        &lignes,
    )
    .await?;
    let (gardes, vides): (Vec<_>, Vec<_>) = items
        .iter()
        .map(|((joueur_id, item), total)| LigneItem {
            joueur_id: *joueur_id,
            item,
            quantite: entier(*total),
        })
        .partition(|i| i.quantite > 0);
    ecrire(
        c,
        "inventaire_items",
        "joueur_id, item",
        &["quantite"],
        &gardes,
    )
    .await?;
    supprimer(c, "inventaire_items", "joueur_id, item", &vides).await
}
