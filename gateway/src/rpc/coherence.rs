//! Read-your-writes on the wire (doc/protocole.md §3.8): a command answers the cursor of the
//! last event it wrote ([`commande`]); a read given that cursor as `a_jour_de` waits, bounded
//! by [`ATTENTE_LECTURE`], until the projections it reads have passed it ([`a_jour`]), then
//! reads; past the bound it answers `LECTURE_EN_RETARD`, which the client may retry.

use commands::ErreurApplication;
use projections::Projection;
use projections::coherence::attendre;

use crate::config::limites::ATTENTE_LECTURE;
use crate::passerelle::Passerelle;
use crate::protocole::{Curseur, ErreurRpc, curseur};

/// Runs a command's service: its output, and the cursor of the last event it wrote (or first
/// wrote, for a command already applied); `None` if it wrote nothing.
pub async fn commande<T>(
    service: impl Future<Output = Result<T, ErreurApplication>>,
) -> Result<(T, Option<Curseur>), ErreurRpc> {
    let (sortie, position) = commands::ecrits::suivre(service).await;
    Ok((sortie?, position.map(Curseur)))
}

/// Before a read of `projections`: with `a_jour_de`, waits until they have all passed it, or
/// answers `LECTURE_EN_RETARD` after [`ATTENTE_LECTURE`]. Whether the read must reflect a
/// cursor: then it reads PostgreSQL, not a cache that may lag its projection.
pub async fn a_jour(
    passerelle: &Passerelle,
    projections: &[Projection],
    a_jour_de: Option<Curseur>,
) -> Result<bool, ErreurRpc> {
    let Some(Curseur(position)) = a_jour_de else {
        return Ok(false);
    };
    if attendre(&passerelle.pool, projections, position, ATTENTE_LECTURE).await? {
        Ok(true)
    } else {
        Err(ErreurRpc::lecture_en_retard(
            &curseur(position),
            ATTENTE_LECTURE,
        ))
    }
}
