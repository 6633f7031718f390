//! `inventaires` and `inventaire_items`: each character's gold and item counts.

use commands::lecteur::EvenementStocke;
use cqrs_es::Aggregate as _;
use domain::inventaire::{EvenementInventaire, Inventaire};
use sqlx::PgConnection;

use super::{entier, evenement, prendre_version, uuid};
use crate::ErreurProjection;

pub(crate) async fn appliquer(
    c: &mut PgConnection,
    e: &EvenementStocke,
) -> Result<(), ErreurProjection> {
    let Some(ev) = evenement::<EvenementInventaire>(e, Inventaire::TYPE)? else {
        return Ok(());
    };
    let id = uuid(e)?;
    if let EvenementInventaire::InventaireOuvert { .. } = ev {
        sqlx::query(
            "INSERT INTO inventaires (joueur_id, or_total, version, maj) VALUES ($1, 0, $2, $3) \
             ON CONFLICT (joueur_id) DO NOTHING",
        )
        .bind(id)
        .bind(e.sequence)
        .bind(e.recorded_at)
        .execute(&mut *c)
        .await?;
        return Ok(());
    }
    if !prendre_version(c, "inventaires", "joueur_id", id, e).await? {
        return Ok(());
    }
    match ev {
        EvenementInventaire::OrCredite { solde, .. }
        | EvenementInventaire::OrDebite { solde, .. } => {
            sqlx::query("UPDATE inventaires SET or_total = $2 WHERE joueur_id = $1")
                .bind(id)
                .bind(i64::try_from(solde.pieces()).unwrap_or(i64::MAX))
                .execute(&mut *c)
                .await?;
        }
        EvenementInventaire::ItemAjoute { item, total, .. }
        | EvenementInventaire::ItemRetire { item, total, .. } => {
            if total == 0 {
                sqlx::query("DELETE FROM inventaire_items WHERE joueur_id = $1 AND item = $2")
                    .bind(id)
                    .bind(item.as_str())
                    .execute(&mut *c)
                    .await?;
            } else {
                sqlx::query(
                    "INSERT INTO inventaire_items (joueur_id, item, quantite) VALUES ($1, $2, $3) \
                     ON CONFLICT (joueur_id, item) DO UPDATE SET quantite = EXCLUDED.quantite",
                )
                .bind(id)
                .bind(item.as_str())
                .bind(entier(total))
                .execute(&mut *c)
                .await?;
            }
        }
        // Reservations and crafting markers change no count.
        EvenementInventaire::InventaireOuvert { .. }
        | EvenementInventaire::ObjetFabrique { .. }
        | EvenementInventaire::OffreReservee { .. }
        | EvenementInventaire::ReservationLiberee { .. }
        | EvenementInventaire::EchangeRegle { .. } => {}
    }
    Ok(())
}
